"""Explicit SQL of the queue service on an asyncpg connection.

Every function runs on the caller's connection (and transaction). asyncpg's
integrity errors are translated here into the queue's own errors, so the layers
above never see the driver.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from motcua.services.queue.domain import Change, CounterState, Status, Ticket
from motcua.services.queue.errors import Conflict, NotFound


class DuplicateLookupCode(Conflict):
    """The random lookup code is taken; the caller draws another one."""


class DuplicateRequest(Conflict):
    """A ticket with this idempotency key was committed concurrently."""


@dataclass(frozen=True)
class QueueFacts:
    """What the estimated wait of one waiting ticket is computed from."""

    position: int
    open_counters: int
    recent_service_seconds: list[float]


TICKET_COLUMNS = """
    ticket_id, issue_seq, center_id, local_day, issued_line_code, line_code, seq, number,
    lookup_code, priority_reason, status, issued_at, order_at, queued_at, counter_id,
    call_count, called_at, service_started_at, finished_at, dossier_id, contact, appointment_id,
    remote, arrived_at
"""


def ticket_from(row: asyncpg.Record) -> Ticket:
    values = dict(row)
    values["status"] = Status(values["status"])
    return Ticket(**values)


def ticket_and(row: asyncpg.Record, column: str) -> tuple[Ticket, Any]:
    """A ticket read with one more column beside it (a position, a time)."""
    values = dict(row)
    extra = values.pop(column)
    values["status"] = Status(values["status"])
    return Ticket(**values), extra


def counter_from(row: asyncpg.Record) -> CounterState:
    return CounterState(
        center_id=row["center_id"],
        counter_id=row["counter_id"],
        is_open=row["is_open"],
        line_codes=tuple(row["line_codes"]),
        clerk_id=row["clerk_id"],
        opened_at=row["opened_at"],
        priority_streak=row["priority_streak"],
    )


# ---------------------------------------------------------------- tickets


async def next_ticket_seq(conn: asyncpg.Connection, center_id: str, line: str, day: date) -> int:
    """The next number on a line today; the row stays locked until the issuing commit."""
    seq: int = await conn.fetchval(
        """
        INSERT INTO ticket_sequences (center_id, line_code, local_day, last_seq)
        VALUES ($1, $2, $3, 1)
        ON CONFLICT (center_id, line_code, local_day)
        DO UPDATE SET last_seq = ticket_sequences.last_seq + 1
        RETURNING last_seq
        """,
        center_id,
        line,
        day,
    )
    return seq


# Each change is ONE statement: the ticket row, its history row and the display
# notification (delivered to every replica's streams only at commit).
_LOG = """
    INSERT INTO ticket_log (ticket_id, center_id, local_day, kind, line_code, counter_id,
                            at, wait_seconds, service_seconds)
    SELECT ticket_id, ${0}, ${1}, ${2}, ${3}, ${4}, ${5}, ${6}, ${7} FROM {source}
    RETURNING 1
"""
_NOTIFY = "SELECT pg_notify(current_schema() || '_display', ${0}) AS sent FROM logged"


def _log_args(center_id: str, day: date, c: Change, display: dict[str, Any]) -> tuple[Any, ...]:
    return (
        center_id,
        day,
        c.kind.value,
        c.line_code,
        c.counter_id,
        c.at,
        c.wait_seconds,
        c.service_seconds,
        _json(display),
    )


def _log_sql(first: int, source: str) -> tuple[str, str]:
    return (
        _LOG.format(*range(first, first + 8), source=source),
        _NOTIFY.format(first + 8),
    )


async def insert_ticket(
    conn: asyncpg.Connection,
    c: Change,
    idempotency_key: str | None,
    *,
    display: dict[str, Any],
    window: int,
    since: datetime,
    requester: str | None = None,
    client: str | None = None,
) -> tuple[Ticket, QueueFacts]:
    """Store a new ticket with its history row and display notification.

    Returns the ticket (with its tie-breaking ``issue_seq``) and its place in the queue.
    """
    t = c.ticket
    log, notify = _log_sql(22, "t")
    try:
        row = await conn.fetchrow(
            f"""
            WITH t AS (
                INSERT INTO tickets (
                    ticket_id, center_id, local_day, issued_line_code, line_code, seq, number,
                    lookup_code, priority_reason, status, issued_at, order_at, queued_at,
                    contact, idempotency_key, updated_at, appointment_id, remote, requester,
                    client)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $11,
                        $18, $19, $20, $21)
                RETURNING {TICKET_COLUMNS}
            ),
            logged AS ({log}),
            notified AS ({notify})
            SELECT t.*, {_FACTS.format(since="$16", window="$17")} FROM t CROSS JOIN notified
            """,
            t.ticket_id,
            t.center_id,
            t.local_day,
            t.issued_line_code,
            t.line_code,
            t.seq,
            t.number,
            t.lookup_code,
            t.priority_reason,
            t.status.value,
            t.issued_at,
            t.order_at,
            t.queued_at,
            dict(t.contact) if t.contact is not None else None,
            idempotency_key,
            since,
            window,
            t.appointment_id,
            t.remote,
            requester,
            client,
            *_log_args(t.center_id, t.local_day, c, display),
        )
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == "tickets_lookup_code_unique":
            raise DuplicateLookupCode("lookup code taken") from None
        if exc.constraint_name == "tickets_idempotency_unique":
            raise DuplicateRequest("a ticket with this idempotency key exists") from None
        raise
    values = {k: v for k, v in row.items() if not k.startswith("facts_")}
    values["status"] = Status(values["status"])
    return Ticket(**values), _facts(row)


async def save_change(
    conn: asyncpg.Connection, center_id: str, day: date, c: Change, display: dict[str, Any]
) -> None:
    """Write a ticket's state after a transition, with its history row and notification."""
    t = c.ticket
    log, notify = _log_sql(14, "saved")
    try:
        await conn.execute(
            f"""
            WITH saved AS (
                UPDATE tickets SET
                    line_code = $2, status = $3, order_at = $4, queued_at = $5,
                    counter_id = $6, call_count = $7, called_at = $8, service_started_at = $9,
                    finished_at = $10, dossier_id = $11, updated_at = $12, arrived_at = $13
                WHERE ticket_id = $1
                RETURNING ticket_id
            ),
            logged AS ({log})
            {notify}
            """,
            t.ticket_id,
            t.line_code,
            t.status.value,
            t.order_at,
            t.queued_at,
            t.counter_id,
            t.call_count,
            t.called_at,
            t.service_started_at,
            t.finished_at,
            t.dossier_id,
            c.at,
            t.arrived_at,
            *_log_args(center_id, day, c, display),
        )
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == "tickets_one_per_counter":
            raise Conflict(f"counter {t.counter_id!r} already has a ticket") from None
        raise


async def ticket_by_request(
    conn: asyncpg.Connection, center_id: str, idempotency_key: str
) -> Ticket | None:
    row = await conn.fetchrow(
        f"SELECT {TICKET_COLUMNS} FROM tickets WHERE center_id = $1 AND idempotency_key = $2",
        center_id,
        idempotency_key,
    )
    return ticket_from(row) if row else None


async def lock_ticket(conn: asyncpg.Connection, center_id: str, ticket_id: uuid.UUID) -> Ticket:
    """The ticket, locked for this transaction; another center's ticket is unknown here."""
    row = await conn.fetchrow(
        f"SELECT {TICKET_COLUMNS} FROM tickets WHERE ticket_id = $1 AND center_id = $2 FOR UPDATE",
        ticket_id,
        center_id,
    )
    if row is None:
        raise NotFound("ticket", str(ticket_id), center_id)
    return ticket_from(row)


async def waiting_heads(
    conn: asyncpg.Connection, center_id: str, day: date, line_codes: Sequence[str]
) -> list[Ticket]:
    """The oldest waiting ticket of each class on these lines, locked: priority, walk-in,
    and booked (``domain.select_next`` decides between them).

    SKIP LOCKED: a ticket another counter is calling right now is passed over,
    never waited for and never handed out twice.
    """
    rows = await conn.fetch(
        f"""
        SELECT h.* FROM (VALUES (true, false), (false, false), (false, true))
            AS k(priority, booked)
        CROSS JOIN LATERAL (
            SELECT {TICKET_COLUMNS} FROM tickets
            WHERE center_id = $1 AND local_day = $2 AND status = 'waiting'
              AND line_code = ANY($3::text[]) AND (priority_reason IS NOT NULL) = k.priority
              AND (k.priority OR (appointment_id IS NOT NULL) = k.booked)
              AND (NOT remote OR arrived_at IS NOT NULL)
            ORDER BY order_at, issue_seq
            LIMIT 1
            FOR UPDATE SKIP LOCKED
        ) AS h
        """,
        center_id,
        day,
        list(line_codes),
    )
    return [ticket_from(r) for r in rows]


# Place of ticket ``t`` on its line, open counters serving the line, recent service times.
# Shared by the issuing INSERT (one round trip) and by reads of an existing ticket.
_FACTS = """
    1 + (SELECT count(*) FROM tickets w
         WHERE w.center_id = t.center_id AND w.local_day = t.local_day
           AND w.line_code = t.line_code AND w.status = 'waiting' AND w.ticket_id <> t.ticket_id
           AND ((w.priority_reason IS NOT NULL) > (t.priority_reason IS NOT NULL)
                OR ((w.priority_reason IS NOT NULL) = (t.priority_reason IS NOT NULL)
                    AND (w.order_at, w.issue_seq) < (t.order_at, t.issue_seq))))
      AS facts_position,
    (SELECT count(*) FROM counters c
     WHERE c.center_id = t.center_id AND c.is_open AND t.line_code = ANY(c.line_codes))
      AS facts_open_counters,
    ARRAY(SELECT l.service_seconds FROM ticket_log l
          WHERE l.center_id = t.center_id AND l.line_code = t.line_code
            AND l.kind = 'ticket.service_completed' AND l.at >= {since}
          ORDER BY l.at DESC LIMIT {window}) AS facts_recent
"""


def _facts(row: asyncpg.Record) -> QueueFacts:
    return QueueFacts(row["facts_position"], row["facts_open_counters"], list(row["facts_recent"]))


async def queue_facts(
    conn: asyncpg.Connection, ticket_id: uuid.UUID, window: int, *, since: datetime
) -> QueueFacts:
    """What the estimated wait of a waiting ticket is computed from."""
    row = await conn.fetchrow(
        f"SELECT {_FACTS.format(since='$2', window='$3')} FROM tickets t WHERE t.ticket_id = $1",
        ticket_id,
        since,
        window,
    )
    if row is None:
        raise NotFound("ticket", str(ticket_id))
    return _facts(row)


async def active_ticket_at(
    conn: asyncpg.Connection, center_id: str, counter_id: str
) -> Ticket | None:
    row = await conn.fetchrow(
        f"SELECT {TICKET_COLUMNS} FROM tickets "
        "WHERE center_id = $1 AND counter_id = $2 AND status IN ('called', 'serving')",
        center_id,
        counter_id,
    )
    return ticket_from(row) if row else None


# --------------------------------------------------------------- counters


async def open_counter(
    conn: asyncpg.Connection,
    center_id: str,
    counter_id: str,
    line_codes: Sequence[str],
    clerk_id: str | None,
    at: datetime,
) -> bool:
    """Open a closed counter; ``False`` when it was already open (nothing changes)."""
    opened = await conn.fetchval(
        """
        INSERT INTO counters AS c (center_id, counter_id, is_open, line_codes, clerk_id,
                                   opened_at, priority_streak, updated_at)
        VALUES ($1, $2, true, $3, $4, $5, 0, $5)
        ON CONFLICT (center_id, counter_id) DO UPDATE
            SET is_open = true, line_codes = EXCLUDED.line_codes,
                clerk_id = EXCLUDED.clerk_id, opened_at = EXCLUDED.opened_at,
                priority_streak = 0, updated_at = EXCLUDED.updated_at
            WHERE NOT c.is_open
        RETURNING true
        """,
        center_id,
        counter_id,
        list(line_codes),
        clerk_id,
        at,
    )
    return bool(opened)


async def lock_counter(
    conn: asyncpg.Connection, center_id: str, counter_id: str
) -> CounterState | None:
    """The counter's state, locked: one counter's calls and its closing run one at a time."""
    row = await conn.fetchrow(
        "SELECT * FROM counters WHERE center_id = $1 AND counter_id = $2 FOR UPDATE",
        center_id,
        counter_id,
    )
    return counter_from(row) if row else None


async def close_counter(
    conn: asyncpg.Connection, center_id: str, counter_id: str, at: datetime
) -> None:
    await conn.execute(
        "UPDATE counters SET is_open = false, updated_at = $3 "
        "WHERE center_id = $1 AND counter_id = $2",
        center_id,
        counter_id,
        at,
    )


async def set_priority_streak(
    conn: asyncpg.Connection, center_id: str, counter_id: str, streak: int
) -> None:
    await conn.execute(
        "UPDATE counters SET priority_streak = $3 WHERE center_id = $1 AND counter_id = $2",
        center_id,
        counter_id,
        streak,
    )


# ------------------------------------------------------------------ display


async def notify_display(conn: asyncpg.Connection, change: dict[str, Any]) -> None:
    """Announce a change to every replica's display streams; delivered only at commit."""
    await conn.execute("SELECT pg_notify(current_schema() || '_display', $1)", _json(change))


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


# ---------------------------------------------------------------- remote tickets


async def remote_taken(
    conn: asyncpg.Connection, center_id: str, day: date, requester: str, client: str
) -> tuple[int, int]:
    """Remote tickets taken today at this center by one phone, and from one address."""
    row = await conn.fetchrow(
        """
        SELECT count(*) FILTER (WHERE requester = $3) AS by_phone,
               count(*) FILTER (WHERE client = $4) AS by_client
        FROM tickets
        WHERE center_id = $1 AND local_day = $2 AND remote AND (requester = $3 OR client = $4)
        """,
        center_id,
        day,
        requester,
        client,
    )
    return row["by_phone"], row["by_client"]


async def lock_requesters(conn: asyncpg.Connection, requester: str, client: str) -> None:
    """Serialise remote requests of one phone, then of one address, until commit."""
    for key in (f"remote-phone:{requester}", f"remote-client:{client}"):
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)


async def lock_by_lookup_code(conn: asyncpg.Connection, code: str) -> Ticket | None:
    row = await conn.fetchrow(
        f"SELECT {TICKET_COLUMNS} FROM tickets WHERE lookup_code = $1 FOR UPDATE", code.upper()
    )
    return ticket_from(row) if row else None


async def mark_skipped(
    conn: asyncpg.Connection,
    center_id: str,
    day: date,
    line_codes: Sequence[str],
    called: Ticket,
    at: datetime,
) -> None:
    """Unconfirmed remote tickets the call went past: the start of their grace time."""
    await conn.execute(
        """
        UPDATE tickets SET skipped_at = $5
        WHERE center_id = $1 AND local_day = $2 AND line_code = ANY($3::text[])
          AND remote AND arrived_at IS NULL AND status = 'waiting' AND skipped_at IS NULL
          AND order_at <= $4
        """,
        center_id,
        day,
        list(line_codes),
        called.order_at,
        at,
    )


async def lock_skipped_remote(
    conn: asyncpg.Connection, now: datetime, batch: int
) -> list[tuple[Ticket, datetime]]:
    """Unconfirmed remote tickets already skipped, with when, oldest first, locked."""
    rows = await conn.fetch(
        f"""
        SELECT {TICKET_COLUMNS}, skipped_at FROM tickets
        WHERE remote AND arrived_at IS NULL AND status = 'waiting' AND skipped_at < $1
        ORDER BY skipped_at LIMIT $2
        FOR UPDATE SKIP LOCKED
        """,
        now,
        batch,
    )
    return [ticket_and(r, "skipped_at") for r in rows]
