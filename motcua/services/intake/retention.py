"""Retention of intake's own ever-growing tables (the runtime sweeps the inbox).

* ``processed_commands``: a bus command comes back only while its topic keeps it,
  and an HTTP client retries within minutes. Past the horizon a key is dead weight;
  a key used again after that is a new request.
* ``served_tickets``: a served ticket waits here for the dossier that names it, which
  the clerk receives minutes later. Past the horizon one that no dossier names will
  never be claimed and goes. One that a dossier names stays, as long as the dossier:
  the clerk's view of the dossier shows its number, line and counter.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg

from motcua.shared.bus.retention import delete_expired
from motcua.shared.runtime import ServiceRuntime


def register(runtime: ServiceRuntime) -> None:
    runtime.retention.add("processed_commands", expire_commands)
    runtime.retention.add("served_tickets", UnclaimedTickets().expire)


async def expire_commands(conn: asyncpg.Connection, horizon: timedelta, batch: int) -> int:
    return await delete_expired(conn, "processed_commands", "processed_at", horizon, batch)


# One step of the walk: the next ``$4`` tickets past the horizon after the cursor, of
# which those no dossier names are deleted. Answers nothing once no ticket is left.
_STEP = """
    WITH candidates AS (
        SELECT ticket_id, completed_at FROM served_tickets
        WHERE completed_at < now() - $1::interval
          AND (completed_at, ticket_id) > (
              COALESCE($2::timestamptz, '-infinity'),
              COALESCE($3::uuid, '00000000-0000-0000-0000-000000000000'))
        ORDER BY completed_at, ticket_id
        LIMIT $4
    ), gone AS (
        DELETE FROM served_tickets s USING candidates c
        WHERE s.ticket_id = c.ticket_id
          AND NOT EXISTS (SELECT 1 FROM dossiers d WHERE d.ticket_id = c.ticket_id)
        RETURNING 1
    )
    SELECT last.completed_at, last.ticket_id,
           (SELECT count(*) FROM candidates) AS seen,
           (SELECT count(*) FROM gone) AS deleted
    FROM (SELECT completed_at, ticket_id FROM candidates
          ORDER BY completed_at DESC, ticket_id DESC LIMIT 1) AS last
"""


class UnclaimedTickets:
    """Deletes expired served tickets that no dossier names, walking the table in
    (completed_at, ticket_id) order, at most ``batch`` tickets looked at per statement.

    The walk resumes where the last sweep stopped: the kept tickets behind the cursor
    are never looked at again, and no new ticket lands behind it (a ticket is recorded
    when it is served, long after the horizon's edge). A new process walks once from
    the start."""

    def __init__(self) -> None:
        self.after: tuple[datetime, uuid.UUID] | None = None

    async def expire(self, conn: asyncpg.Connection, horizon: timedelta, batch: int) -> int:
        total = 0
        while True:
            seen, deleted = await self.step(conn, horizon, batch)
            total += deleted
            if seen < batch:
                return total

    async def step(
        self, conn: asyncpg.Connection, horizon: timedelta, batch: int
    ) -> tuple[int, int]:
        """One statement: look at the next ``batch`` expired tickets at most; return how
        many were looked at and how many deleted."""
        after_at, after_id = self.after or (None, None)
        row = await conn.fetchrow(_STEP, horizon, after_at, after_id, batch)
        if row is None:
            return 0, 0
        self.after = (row["completed_at"], row["ticket_id"])
        return row["seen"], row["deleted"]
