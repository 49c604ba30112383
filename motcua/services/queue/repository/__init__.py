"""Explicit SQL of the queue service on an asyncpg connection.

* ``tickets``: the write side: tickets, counters, the service log;
* ``reads``: the read side: status, waiting lists, the board, daily figures.

Every function runs on the caller's connection and inside the caller's transaction.
"""
