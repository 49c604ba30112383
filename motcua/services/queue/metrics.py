"""The queue's own gauges, sampled from its tables (served at ``/metrics``)."""

from __future__ import annotations

import asyncpg

from motcua.shared.metrics import QUEUE_WAITING


async def sample_waiting(conn: asyncpg.Connection) -> None:
    """Tickets waiting per center and line, today and earlier days alike."""
    rows = await conn.fetch(
        """SELECT center_id, line_code, count(*) AS n
             FROM tickets WHERE status = 'waiting'
            GROUP BY center_id, line_code"""
    )
    QUEUE_WAITING.clear()  # lines that emptied must read 0, not their last value
    for r in rows:
        QUEUE_WAITING.labels(center=r["center_id"], line=r["line_code"]).set(r["n"])
