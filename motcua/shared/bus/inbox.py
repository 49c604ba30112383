"""The inbox: which events a consumer has already applied.

A consumer claims event ids in the same transaction as its effect. A claimed id
means "applied"; a conflict means "already applied, skip". Because the claim and
the effect commit together, a redelivered event never has a second effect.
Rows are forgotten once no redelivery can come any more (``motcua.shared.bus.retention``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg


async def claim(
    conn: asyncpg.Connection, consumer: str, event_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Record ``event_ids`` as applied by ``consumer``; return those that were new."""
    if not conn.is_in_transaction():
        raise RuntimeError("inbox.claim must run inside the transaction of the effect")
    if not event_ids:
        return set()
    rows = await conn.fetch(
        """
        INSERT INTO inbox (consumer, event_id)
        SELECT $1, id FROM unnest($2::uuid[]) AS t(id)
        ON CONFLICT DO NOTHING
        RETURNING event_id
        """,
        consumer,
        list(event_ids),
    )
    return {r["event_id"] for r in rows}


async def seen(conn: asyncpg.Connection, consumer: str, event_id: uuid.UUID) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM inbox WHERE consumer = $1 AND event_id = $2)",
            consumer,
            event_id,
        )
    )
