"""Explicit SQL of the notify service on an asyncpg connection."""
