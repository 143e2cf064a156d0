"""Core: organizations, facilities, shared base models, the clock, and request plumbing."""
