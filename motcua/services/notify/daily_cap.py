"""A daily cap on the messages one recipient gets, counted across replicas.

Taking a ticket or filing a dossier needs no login, so a flood of them naming one phone
would make the center's gateway bomb it. The queue limits tickets per client and per
recipient in process; this is the bound that holds for the whole deployment: each
recipient's messages of the local day are counted in PostgreSQL, in the transaction that
records them, and the ones past the cap are recorded as suppressed (with the reason)
instead of pending. The count row is locked by the upsert, so two replicas recording
for one recipient at once queue on it and never both get the last slot.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta

import asyncpg

from motcua.shared.bus.retention import delete_expired

REASON = "daily cap per recipient reached"


async def claim(
    conn: asyncpg.Connection, day: date, wanted: Sequence[str], cap: int
) -> Counter[str]:
    """Count ``wanted`` (one recipient ref per message) against today's cap; return how many
    messages each recipient may still get of those asked (the rest are over the cap)."""
    asked = Counter(wanted)
    if not asked:
        return Counter()
    refs = sorted(asked)  # one lock order, so two replicas never deadlock
    rows = await conn.fetch(
        """
        INSERT INTO recipient_daily AS d (recipient_ref, day, messages)
        SELECT ref, $1, n FROM unnest($2::text[], $3::int[]) AS t(ref, n)
        ON CONFLICT (recipient_ref, day)
            DO UPDATE SET messages = d.messages + EXCLUDED.messages, updated_at = now()
        RETURNING recipient_ref, messages
        """,
        day,
        refs,
        [asked[r] for r in refs],
    )
    allowed: Counter[str] = Counter()
    for row in rows:
        ref, total = row["recipient_ref"], row["messages"]
        before = total - asked[ref]
        allowed[ref] = max(0, min(asked[ref], cap - before))
    return allowed


async def expire(conn: asyncpg.Connection, horizon: timedelta, batch: int) -> int:
    """Yesterday's counts are dead weight once the day is over."""
    return await delete_expired(conn, "recipient_daily", "updated_at", horizon, batch)
