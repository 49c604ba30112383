"""The deadlines service's own gauges, sampled from its tables (served at ``/metrics``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import asyncpg

from motcua.shared.metrics import DOSSIERS_OPEN, DOSSIERS_OVERDUE


def open_and_overdue(
    clock: Callable[[], datetime],
) -> Callable[[asyncpg.Connection], Awaitable[None]]:
    """A sampler of open clocks and those past due, per center, by the service's clock.

    A paused clock's due instant moves with the pause (as on the worklist): one paused
    before its due instant is not overdue; one paused after it stays overdue."""

    async def sample(conn: asyncpg.Connection) -> None:
        rows = await conn.fetch(
            """SELECT center_id,
                      count(*) AS open,
                      count(*) FILTER (
                          WHERE due_at < $1 AND (paused_since IS NULL OR paused_since >= due_at)
                      ) AS overdue
                 FROM clocks
                WHERE closed_kind IS NULL AND received_at IS NOT NULL
                GROUP BY center_id""",
            clock(),
        )
        DOSSIERS_OPEN.clear()
        DOSSIERS_OVERDUE.clear()
        for r in rows:
            DOSSIERS_OPEN.labels(center=r["center_id"]).set(r["open"])
            DOSSIERS_OVERDUE.labels(center=r["center_id"]).set(r["overdue"])

    return sample
