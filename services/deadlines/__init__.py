"""The deadlines service."""
