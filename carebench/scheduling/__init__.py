"""Scheduling: providers, rooms and resources, availability, appointments, the flow board."""
