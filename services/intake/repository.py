"""Explicit SQL of the intake service on an asyncpg connection."""
