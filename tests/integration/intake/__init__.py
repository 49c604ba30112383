"""Integration tests of the intake service (real broker, real PostgreSQL)."""
