"""Explicit SQL of the queue's read side: waiting lists, boards, history and statistics.

These functions only read; the read-side queries call them inside one
REPEATABLE READ snapshot.
"""

from __future__ import annotations

from datetime import date, datetime

import asyncpg

from motcua.services.queue.board import CallRecord, LineLoad
from motcua.services.queue.domain import CounterState, Status, Ticket
from motcua.services.queue.repository.tickets import (
    TICKET_COLUMNS,
    counter_from,
    ticket_and,
    ticket_from,
)
from motcua.services.queue.statistics import LogEntry


async def ticket_by_lookup(conn: asyncpg.Connection, code: str) -> Ticket | None:
    row = await conn.fetchrow(
        f"SELECT {TICKET_COLUMNS} FROM tickets WHERE lookup_code = $1", code.upper()
    )
    return ticket_from(row) if row else None


async def waiting_tickets(
    conn: asyncpg.Connection, center_id: str, day: date
) -> list[tuple[Ticket, int]]:
    """Today's waiting tickets with their 1-based position on their line."""
    rows = await conn.fetch(
        f"""
        SELECT {TICKET_COLUMNS},
               row_number() OVER (PARTITION BY line_code
                                  ORDER BY (priority_reason IS NULL), order_at, issue_seq)
                 AS position
        FROM tickets
        WHERE center_id = $1 AND local_day = $2 AND status = 'waiting'
        ORDER BY line_code, position
        """,
        center_id,
        day,
    )
    return [ticket_and(r, "position") for r in rows]


async def tickets_of_day(
    conn: asyncpg.Connection, center_id: str, day: date, status: Status | None
) -> list[Ticket]:
    rows = await conn.fetch(
        f"""
        SELECT {TICKET_COLUMNS} FROM tickets
        WHERE center_id = $1 AND local_day = $2 AND ($3::text IS NULL OR status = $3)
        ORDER BY issued_at, issue_seq
        """,
        center_id,
        day,
        status.value if status else None,
    )
    return [ticket_from(r) for r in rows]


async def active_tickets(conn: asyncpg.Connection, center_id: str) -> list[Ticket]:
    """Tickets now called to or served at a counter."""
    rows = await conn.fetch(
        f"SELECT {TICKET_COLUMNS} FROM tickets "
        "WHERE center_id = $1 AND status IN ('called', 'serving')",
        center_id,
    )
    return [ticket_from(r) for r in rows]


async def waiting_load(conn: asyncpg.Connection, center_id: str, day: date) -> list[LineLoad]:
    rows = await conn.fetch(
        """
        SELECT line_code, count(*) AS waiting,
               count(*) FILTER (WHERE priority_reason IS NOT NULL) AS priority_waiting
        FROM tickets WHERE center_id = $1 AND local_day = $2 AND status = 'waiting'
        GROUP BY line_code
        """,
        center_id,
        day,
    )
    return [LineLoad(r["line_code"], r["waiting"], r["priority_waiting"]) for r in rows]


async def log_entries(conn: asyncpg.Connection, center_id: str, day: date) -> list[LogEntry]:
    rows = await conn.fetch(
        """
        SELECT l.kind, l.line_code, l.counter_id, l.wait_seconds, l.service_seconds,
               t.appointment_id IS NOT NULL AS booked
        FROM ticket_log l JOIN tickets t USING (ticket_id)
        WHERE l.center_id = $1 AND l.local_day = $2 ORDER BY l.id
        """,
        center_id,
        day,
    )
    return [LogEntry(**dict(r)) for r in rows]


async def appointments_by_status(
    conn: asyncpg.Connection, center_id: str, day: date
) -> dict[str, int]:
    """The bookings of one local day, counted per status."""
    rows = await conn.fetch(
        """
        SELECT status, count(*) AS n FROM appointments
        WHERE center_id = $1 AND local_day = $2 GROUP BY status
        """,
        center_id,
        day,
    )
    return {r["status"]: r["n"] for r in rows}


async def last_calls(
    conn: asyncpg.Connection, center_id: str, day: date, limit: int
) -> list[CallRecord]:
    rows = await conn.fetch(
        """
        SELECT t.number, l.line_code, l.counter_id, l.kind, l.at
        FROM ticket_log l JOIN tickets t USING (ticket_id)
        WHERE l.center_id = $1 AND l.local_day = $2
          AND l.kind IN ('ticket.called', 'ticket.recalled')
        ORDER BY l.at DESC, l.id DESC
        LIMIT $3
        """,
        center_id,
        day,
        limit,
    )
    return [CallRecord(**dict(r)) for r in rows]


async def recent_service(
    conn: asyncpg.Connection, center_id: str, window: int, *, since: datetime
) -> dict[str, list[float]]:
    """The last ``window`` service times of every line."""
    rows = await conn.fetch(
        """
        SELECT line_code, (array_agg(service_seconds ORDER BY at DESC))[1:$2] AS recent
        FROM ticket_log
        WHERE center_id = $1 AND kind = 'ticket.service_completed' AND at >= $3
        GROUP BY line_code
        """,
        center_id,
        window,
        since,
    )
    return {r["line_code"]: list(r["recent"]) for r in rows}


async def counter_states(conn: asyncpg.Connection, center_id: str) -> list[CounterState]:
    rows = await conn.fetch("SELECT * FROM counters WHERE center_id = $1", center_id)
    return [counter_from(r) for r in rows]
