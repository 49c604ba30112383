"""Explicit SQL of the intake service on an asyncpg connection.

* ``dossiers``: dossiers, their history, served tickets and the retention sweep's reads.

Every function runs on the caller's connection and inside the caller's transaction.
"""
