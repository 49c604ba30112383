"""Explicit SQL of the queue service on an asyncpg connection."""
