"""The PostgreSQL backend: a blob as rows of at most ``CHUNK_BYTES`` in
``document_chunks``, the embedded default.

Written in the transaction that records the blob, one row per chunk as it arrives
(so memory holds one chunk, and a broken upload rolls back to nothing). Read back
one row per query, in order, on a connection of its own: a download holds one chunk
in memory and no transaction open for its whole length.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Literal

import asyncpg


class PostgresBackend:
    name: Literal["postgres"] = "postgres"
    outside_transaction = False

    def __init__(self, pool: Callable[[], asyncpg.Pool]) -> None:
        self._pool = pool

    async def write(
        self, conn: asyncpg.Connection, location: str, chunks: AsyncIterator[bytes], size: int
    ) -> None:
        key = uuid.UUID(location)
        insert = await conn.prepare(
            "INSERT INTO document_chunks (location, seq, data) VALUES ($1, $2, $3)"
        )
        seq = 0
        async for chunk in chunks:
            await insert.fetch(key, seq, chunk)
            seq += 1

    async def read(self, location: str) -> AsyncIterator[bytes]:
        key = uuid.UUID(location)
        seq = 0
        async with self._pool().acquire() as conn:
            select = await conn.prepare(
                "SELECT data FROM document_chunks WHERE location = $1 AND seq = $2"
            )
            while (data := await select.fetchval(key, seq)) is not None:
                yield data
                seq += 1

    async def discard(self, location: str) -> None:
        """Nothing to do: the chunks were written in the transaction that rolled back."""

    async def delete(self, conn: asyncpg.Connection, location: str) -> None:
        await conn.execute("DELETE FROM document_chunks WHERE location = $1", uuid.UUID(location))
