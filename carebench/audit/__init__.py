"""Audit: append-only, hash-chained events for every read and change of patient data."""
