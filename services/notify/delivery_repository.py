"""Explicit SQL of the outbox of deliveries, the delivery log and the dead letters
(what the staff API and the dev inbox read is in ``delivery_log``).

A delivery is one message to one recipient on one channel for one event,
unique on (source event, kind, channel, recipient). The consumer inserts it in
its batch transaction; the worker claims due ones with ``FOR UPDATE SKIP
LOCKED`` under a lease, sends, and records the attempt. A lease that runs out
means its worker died mid-send: the delivery is claimed again and the lost
attempt is logged as ``interrupted``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

WAKE_CHANNEL_SUFFIX = "_deliveries"


@dataclass(frozen=True)
class NewDelivery:
    id: uuid.UUID
    source_event_id: uuid.UUID
    center_id: str
    kind: str
    channel: str
    recipient_ref: str
    subject_kind: str
    subject_id: uuid.UUID
    contact_kind: str
    language: str
    title: str
    body: str
    segments: int | None
    context: dict[str, Any]
    status: str
    due_at: datetime
    fallback: list[dict[str, str]] = field(default_factory=list)
    last_error: str | None = None


@dataclass(frozen=True)
class Claimed:
    """A delivery claimed for sending, with what the worker needs to send it."""

    id: uuid.UUID
    source_event_id: uuid.UUID
    correlation_id: uuid.UUID | None
    center_id: str
    kind: str
    channel: str
    recipient_ref: str
    subject_kind: str
    subject_id: uuid.UUID
    language: str
    title: str
    body: str
    segments: int | None
    context: dict[str, Any]
    fallback: list[dict[str, str]]
    attempts: int
    interrupted: bool  # its previous sender vanished mid-send
    address: str | None
    opted_out: bool


@dataclass(frozen=True)
class Attempt:
    """One line of the delivery log."""

    delivery_id: uuid.UUID
    attempt: int
    channel: str
    outcome: str
    started_at: datetime
    finished_at: datetime
    error: str | None = None
    segments: int | None = None


@dataclass(frozen=True)
class Outcome:
    """The state a claimed delivery is left in."""

    delivery_id: uuid.UUID
    status: str
    attempts: int
    due_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class SourceEvent:
    """The event a message is for, kept to dead-letter it if every channel fails."""

    event_id: uuid.UUID
    topic: str
    key: str
    payload: bytes
    correlation_id: uuid.UUID | None


_INSERT_DELIVERY = """
    INSERT INTO deliveries
        (id, source_event_id, center_id, kind, channel, recipient_ref, subject_kind,
         subject_id, contact_kind, language, title, body, segments, context, fallback,
         status, due_at, last_error, finished_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
            $18, CASE WHEN $16 = 'pending' THEN NULL ELSE now() END)
    ON CONFLICT ON CONSTRAINT deliveries_once DO NOTHING
    RETURNING status
"""


def _delivery_args(d: NewDelivery) -> tuple[Any, ...]:
    return (
        d.id,
        d.source_event_id,
        d.center_id,
        d.kind,
        d.channel,
        d.recipient_ref,
        d.subject_kind,
        d.subject_id,
        d.contact_kind,
        d.language,
        d.title,
        d.body,
        d.segments,
        d.context,
        d.fallback,
        d.status,
        d.due_at,
        d.last_error,
    )


# The message, its source event and the worker's wake-up at commit, in one statement.
_RECORD = f"""
    WITH source AS (
        INSERT INTO source_events (event_id, topic, key, payload, correlation_id)
        VALUES ($2, $19, $20, $21, $22)
        ON CONFLICT (event_id) DO NOTHING
    ), added AS ({_INSERT_DELIVERY})
    SELECT a.n > 0
    FROM (SELECT count(*) AS n, coalesce(bool_or(status = 'pending'), false) AS pending
          FROM added) AS a
    LEFT JOIN LATERAL (
        SELECT pg_notify(current_schema() || '{WAKE_CHANNEL_SUFFIX}', '') WHERE a.pending
    ) AS wake ON true
"""


def _record_args(d: NewDelivery, source: SourceEvent) -> tuple[Any, ...]:
    return (
        *_delivery_args(d),
        source.topic,
        source.key,
        source.payload,
        source.correlation_id,
    )


async def record_delivery(conn: asyncpg.Connection, d: NewDelivery, source: SourceEvent) -> bool:
    """Record an intended message and its source event, and wake the worker at commit,
    in one round trip. False if this (event, kind, channel, recipient) exists."""
    added: bool = await conn.fetchval(_RECORD, *_record_args(d, source))
    return added


async def record_deliveries(
    conn: asyncpg.Connection, records: Sequence[tuple[NewDelivery, SourceEvent]]
) -> None:
    """``record_delivery`` for many messages, pipelined in one round trip (the wake-ups
    of one transaction fold into one). Existing (event, kind, channel, recipient) stay."""
    if records:
        await conn.executemany(_RECORD, [_record_args(d, source) for d, source in records])


async def add_deliveries(conn: asyncpg.Connection, added: Sequence[NewDelivery]) -> None:
    """Record intended messages whose source event is already kept (fallbacks)."""
    if added:
        await conn.executemany(_INSERT_DELIVERY, [_delivery_args(d) for d in added])


async def source_payloads(
    conn: asyncpg.Connection, event_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, bytes]:
    """The kept source events, as they came off the bus."""
    if not event_ids:
        return {}
    rows = await conn.fetch(
        "SELECT event_id, payload FROM source_events WHERE event_id = ANY($1::uuid[])",
        list(event_ids),
    )
    return {r["event_id"]: bytes(r["payload"]) for r in rows}


async def wake_worker(conn: asyncpg.Connection) -> None:
    """Wake the delivery worker at commit (notifications in one transaction fold into one)."""
    await conn.execute(f"SELECT pg_notify(current_schema() || '{WAKE_CHANNEL_SUFFIX}', '')")


async def claim_due(
    conn: asyncpg.Connection, now: datetime, limit: int, lease_seconds: float
) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries (and ones whose lease ran out) to this worker."""
    rows = await conn.fetch(
        """
        WITH due AS (
            SELECT id, status AS prev_status FROM deliveries
            WHERE (status = 'pending' AND due_at <= $1)
               OR (status = 'sending' AND lease_until <= $1)
            ORDER BY due_at
            LIMIT $2
            FOR UPDATE SKIP LOCKED
        )
        UPDATE deliveries d
        SET status = 'sending',
            lease_until = $1 + make_interval(secs => $3),
            attempts = d.attempts + (due.prev_status = 'sending')::int
        FROM due
        WHERE d.id = due.id
        RETURNING d.id, d.source_event_id, d.center_id, d.kind, d.channel, d.recipient_ref,
                  d.subject_kind, d.subject_id, d.language, d.title, d.body, d.segments,
                  d.context, d.fallback, d.attempts, due.prev_status = 'sending' AS interrupted,
                  (SELECT correlation_id FROM source_events s
                    WHERE s.event_id = d.source_event_id) AS correlation_id,
                  (SELECT address FROM contacts c
                    WHERE c.subject_kind = d.subject_kind AND c.subject_id = d.subject_id
                      AND c.kind = d.contact_kind) AS address,
                  EXISTS (SELECT 1 FROM opt_outs o
                           WHERE o.recipient_ref = d.recipient_ref) AS opted_out
        """,
        now,
        limit,
        lease_seconds,
    )
    return [Claimed(**dict(r)) for r in rows]


async def renew_lease(
    conn: asyncpg.Connection, ids: Sequence[uuid.UUID], now: datetime, lease_seconds: float
) -> None:
    """Extend the lease of deliveries still being sent."""
    await conn.execute(
        """
        UPDATE deliveries SET lease_until = $2::timestamptz + make_interval(secs => $3)
        WHERE id = ANY($1::uuid[]) AND status = 'sending'
        """,
        list(ids),
        now,
        lease_seconds,
    )


async def finish(
    conn: asyncpg.Connection, outcomes: Sequence[Outcome], attempts: Sequence[Attempt]
) -> None:
    """Leave claimed deliveries in their new state and append to the delivery log."""
    if outcomes:
        await conn.execute(
            """
            UPDATE deliveries d
            SET status = u.status,
                attempts = u.attempts,
                due_at = coalesce(u.due_at, d.due_at),
                last_error = coalesce(u.error, d.last_error),
                lease_until = NULL,
                finished_at = CASE WHEN u.status IN ('sent', 'failed', 'suppressed')
                                   THEN now() END
            FROM unnest($1::uuid[], $2::text[], $3::int[], $4::timestamptz[], $5::text[])
                 AS u(id, status, attempts, due_at, error)
            WHERE d.id = u.id
            """,
            [o.delivery_id for o in outcomes],
            [o.status for o in outcomes],
            [o.attempts for o in outcomes],
            [o.due_at for o in outcomes],
            [o.error for o in outcomes],
        )
    await log_attempts(conn, attempts)


async def log_attempts(conn: asyncpg.Connection, attempts: Sequence[Attempt]) -> None:
    if not attempts:
        return
    await conn.execute(
        """
        INSERT INTO delivery_attempts
            (delivery_id, attempt, channel, outcome, error, segments, started_at, finished_at)
        SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::text[],
                             $6::int[], $7::timestamptz[], $8::timestamptz[])
        """,
        [a.delivery_id for a in attempts],
        [a.attempt for a in attempts],
        [a.channel for a in attempts],
        [a.outcome for a in attempts],
        [a.error for a in attempts],
        [a.segments for a in attempts],
        [a.started_at for a in attempts],
        [a.finished_at for a in attempts],
    )


async def suppress_pending(conn: asyncpg.Connection, ref: str, now: datetime) -> int:
    """An opt-out stops the messages still waiting to go to that recipient."""
    rows = await conn.fetch(
        """
        UPDATE deliveries SET status = 'suppressed', last_error = 'opted out', finished_at = now()
        WHERE recipient_ref = $1 AND status = 'pending'
        RETURNING id, channel, attempts
        """,
        ref,
    )
    await log_attempts(
        conn,
        [
            Attempt(r["id"], r["attempts"], r["channel"], "suppressed", now, now, "opted out")
            for r in rows
        ],
    )
    return len(rows)


async def next_due(conn: asyncpg.Connection) -> datetime | None:
    """When the next pending delivery or running lease falls due."""
    due: datetime | None = await conn.fetchval(
        """
        SELECT least((SELECT min(due_at) FROM deliveries WHERE status = 'pending'),
                     (SELECT min(lease_until) FROM deliveries WHERE status = 'sending'))
        """
    )
    return due


# --------------------------------------------------------------- dead letters


async def add_dead_letters(
    conn: asyncpg.Connection, letters: Sequence[tuple[uuid.UUID, dict[str, str]]]
) -> None:
    """Queue source events for their topic's dead-letter twin, in this transaction."""
    if not letters:
        return
    await conn.executemany(
        """
        INSERT INTO dead_letters (topic, key, payload, headers)
        SELECT topic || '.dlq', key, payload,
               $2::jsonb || jsonb_build_object('x-original-topic', topic)
        FROM source_events WHERE event_id = $1
        """,
        letters,
    )


async def pending_dead_letters(conn: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            """
            SELECT id, topic, key, payload, headers FROM dead_letters
            ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
            """,
            limit,
        )
    )


async def drop_dead_letters(conn: asyncpg.Connection, ids: Sequence[int]) -> None:
    await conn.execute("DELETE FROM dead_letters WHERE id = ANY($1::bigint[])", list(ids))
