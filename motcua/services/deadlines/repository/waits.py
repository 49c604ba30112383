"""Each ticket's wait, stored once per ticket, and every center's waits over a period in
one grouped query (services/deadlines/waits.py says what a wait is)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from motcua.services.deadlines.waits import CenterWaits, Mark


async def record_marks(conn: asyncpg.Connection, marks: Sequence[Mark]) -> None:
    """Merge marks into their tickets' rows with ``waits.merge``'s rule (the earliest of
    each instant; LEAST ignores NULLs), so a duplicate changes nothing and the order the
    events arrive in does not matter."""
    if not marks:
        return
    await conn.executemany(
        """INSERT INTO ticket_waits (ticket_id, center_id, issued_at, called_at, ended_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (ticket_id) DO UPDATE SET
               issued_at = LEAST(ticket_waits.issued_at, EXCLUDED.issued_at),
               called_at = LEAST(ticket_waits.called_at, EXCLUDED.called_at),
               ended_at = LEAST(ticket_waits.ended_at, EXCLUDED.ended_at)""",
        [(m.ticket_id, m.center_id, m.issued_at, m.called_at, m.ended_at) for m in marks],
    )


async def waits_by_center(
    conn: asyncpg.Connection, lo: datetime, hi: datetime
) -> dict[str, CenterWaits]:
    """Every center's waits of the tickets issued in ``[lo, hi)``; a center without such
    a ticket is absent. The wait is ``waits.wait_seconds``'s (aggregates skip NULLs, so
    a ticket not yet called adds no wait)."""
    rows = await conn.fetch(
        """SELECT center_id,
                  count(wait) AS called,
                  count(*) FILTER (WHERE called_at IS NULL AND ended_at IS NOT NULL)
                      AS abandoned,
                  avg(wait) AS mean_seconds,
                  percentile_cont(0.9) WITHIN GROUP (ORDER BY wait) AS p90_seconds
           FROM (SELECT center_id, called_at, ended_at,
                        -- GREATEST skips a NULL, hence the CASE for a ticket not called.
                        CASE WHEN called_at IS NOT NULL
                             THEN GREATEST(EXTRACT(EPOCH FROM called_at - issued_at), 0)
                        END::float8 AS wait
                 FROM ticket_waits
                 WHERE issued_at >= $1 AND issued_at < $2) t
           GROUP BY center_id""",
        lo,
        hi,
    )
    return {
        r["center_id"]: CenterWaits(
            called=r["called"],
            abandoned=r["abandoned"],
            mean_seconds=r["mean_seconds"],
            p90_seconds=r["p90_seconds"],
        )
        for r in rows
    }
