"""Fuzzing and bad input against the running services: HTTP, events, security."""
