"""Explicit SQL of the deadlines service on an asyncpg connection."""
