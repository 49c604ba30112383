"""Explicit SQL of the outbox of deliveries, the delivery log and the dead letters
(what the staff API and the dev inbox read is in ``delivery_log``).

A delivery is one message to one recipient on one channel for one event,
unique on (source event, kind, channel, recipient). The consumer inserts it in
its batch transaction; the worker claims due ones with ``FOR UPDATE SKIP
LOCKED`` under a lease, sends, and records the attempt. A lease that runs out
means its worker died mid-send: the delivery is claimed again and the lost
attempt is logged as ``interrupted``.

A message body may hold a lookup secret: it is sealed at rest (the contact ring,
purpose at-rest, bound to the delivery id), ``body_key_id`` naming the key; NULL
marks a body stored in clear before sealing, or one purged (``purged_at``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from typing import Any

import asyncpg

from motcua.services.notify.repository.citizens import open_address
from motcua.shared.crypto import Keyring

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
    stored_context: str  # JSON: most messages go out without needing it
    stored_fallback: str  # JSON
    attempts: int
    interrupted: bool  # its previous sender vanished mid-send
    address: str | None
    opted_out: bool

    @cached_property
    def context(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.stored_context)
        return found

    @cached_property
    def fallback(self) -> list[dict[str, str]]:
        found: list[dict[str, str]] = json.loads(self.stored_fallback)
        return found


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


# Many messages in one statement: one array per column, so the cost of a round trip
# and of planning is paid once per batch, not once per message.
_INSERT_DELIVERIES = """
    INSERT INTO deliveries
        (id, source_event_id, center_id, kind, channel, recipient_ref, subject_kind,
         subject_id, contact_kind, language, title, body, segments, context, fallback,
         status, due_at, last_error, body_key_id, finished_at)
    SELECT id, source_event_id, center_id, kind, channel, recipient_ref, subject_kind,
           subject_id, contact_kind, language, title, body, segments, context::jsonb,
           fallback::jsonb, status, due_at, last_error, body_key_id,
           CASE WHEN status = 'pending' THEN NULL ELSE now() END
    FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],
                $7::text[], $8::uuid[], $9::text[], $10::text[], $11::text[], $12::text[],
                $13::int[], $14::text[], $15::text[], $16::text[], $17::timestamptz[],
                $18::text[], $19::text[])
         AS d(id, source_event_id, center_id, kind, channel, recipient_ref, subject_kind,
              subject_id, contact_kind, language, title, body, segments, context, fallback,
              status, due_at, last_error, body_key_id)
    ON CONFLICT ON CONSTRAINT deliveries_once DO NOTHING
    RETURNING status
"""


def seal_body(keys: Keyring, delivery_id: uuid.UUID, body: str) -> tuple[str, str]:
    """(key id, sealed body) as the deliveries table keeps them."""
    key_id, sealed = keys.seal(body, f"body:{delivery_id}")
    return key_id, sealed


def open_body(keys: Keyring, delivery_id: uuid.UUID, key_id: str | None, stored: str) -> str:
    return keys.open_column(key_id, stored, f"body:{delivery_id}")


def _delivery_columns(added: Sequence[NewDelivery], keys: Keyring) -> tuple[list[Any], ...]:
    bodies = [seal_body(keys, d.id, d.body) for d in added]
    return (
        [d.id for d in added],
        [d.source_event_id for d in added],
        [d.center_id for d in added],
        [d.kind for d in added],
        [d.channel for d in added],
        [d.recipient_ref for d in added],
        [d.subject_kind for d in added],
        [d.subject_id for d in added],
        [d.contact_kind for d in added],
        [d.language for d in added],
        [d.title for d in added],
        [sealed for _, sealed in bodies],
        [d.segments for d in added],
        [json.dumps(d.context) for d in added],
        [json.dumps(d.fallback) for d in added],
        [d.status for d in added],
        [d.due_at for d in added],
        [d.last_error for d in added],
        [key_id for key_id, _ in bodies],
    )


# The messages, their source events and the worker's wake-up at commit, in one statement.
_RECORD = f"""
    WITH source AS (
        INSERT INTO source_events (event_id, topic, key, payload, correlation_id)
        SELECT * FROM unnest($20::uuid[], $21::text[], $22::text[], $23::bytea[], $24::uuid[])
        ON CONFLICT (event_id) DO NOTHING
    ), added AS ({_INSERT_DELIVERIES})
    SELECT a.n
    FROM (SELECT count(*) AS n, coalesce(bool_or(status = 'pending'), false) AS pending
          FROM added) AS a
    LEFT JOIN LATERAL (
        SELECT pg_notify(current_schema() || '{WAKE_CHANNEL_SUFFIX}', '') WHERE a.pending
    ) AS wake ON true
"""


async def record_delivery(
    conn: asyncpg.Connection, d: NewDelivery, source: SourceEvent, keys: Keyring
) -> bool:
    """Record an intended message and its source event, and wake the worker at commit,
    in one round trip. False if this (event, kind, channel, recipient) exists."""
    return await record_deliveries(conn, [(d, source)], keys) > 0


async def record_deliveries(
    conn: asyncpg.Connection, records: Sequence[tuple[NewDelivery, SourceEvent]], keys: Keyring
) -> int:
    """``record_delivery`` for many messages in one statement (one wake-up); existing
    (event, kind, channel, recipient) stay as they are. The number recorded."""
    if not records:
        return 0
    sources = list({s.event_id: s for _, s in records}.values())
    added: int = await conn.fetchval(
        _RECORD,
        *_delivery_columns([d for d, _ in records], keys),
        [s.event_id for s in sources],
        [s.topic for s in sources],
        [s.key for s in sources],
        [s.payload for s in sources],
        [s.correlation_id for s in sources],
    )
    return added


async def add_deliveries(
    conn: asyncpg.Connection, added: Sequence[NewDelivery], keys: Keyring
) -> None:
    """Record intended messages whose source event is already kept (fallbacks)."""
    if added:
        await conn.execute(_INSERT_DELIVERIES, *_delivery_columns(added, keys))


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
    conn: asyncpg.Connection,
    now: datetime,
    limit: int,
    lease_seconds: float,
    interrupted: str,
    keys: Keyring,
) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries (and ones whose lease ran out) to this worker,
    logging each sender that vanished mid-send (``interrupted``, the log's note) in the
    same statement, so that the claim and its log commit together."""
    rows = await conn.fetch(
        """
        WITH due AS (
            SELECT id, status AS prev_status FROM deliveries
            WHERE (status = 'pending' AND due_at <= $1)
               OR (status = 'sending' AND lease_until <= $1)
            ORDER BY due_at
            LIMIT $2
            FOR UPDATE SKIP LOCKED
        ), claimed AS (
            UPDATE deliveries d
            SET status = 'sending',
                lease_until = $1 + make_interval(secs => $3),
                attempts = d.attempts + (due.prev_status = 'sending')::int
            FROM due
            WHERE d.id = due.id
            RETURNING d.*, due.prev_status = 'sending' AS interrupted
        ), logged AS (
            INSERT INTO delivery_attempts
                (delivery_id, attempt, channel, outcome, error, started_at, finished_at)
            SELECT id, attempts, channel, 'interrupted', $4, $1, $1
            FROM claimed WHERE interrupted
        )
        SELECT c.id, c.source_event_id,
               (SELECT correlation_id FROM source_events s
                 WHERE s.event_id = c.source_event_id) AS correlation_id,
               c.center_id, c.kind, c.channel, c.recipient_ref, c.subject_kind, c.subject_id,
               c.language, c.title, c.body, c.segments, c.context::text, c.fallback::text,
               c.attempts,
               c.interrupted,
               k.address,
               EXISTS (SELECT 1 FROM opt_outs o
                        WHERE o.recipient_ref = c.recipient_ref) AS opted_out,
               c.body_key_id, k.address_key_id, c.contact_kind
        FROM claimed c
        LEFT JOIN contacts k ON k.subject_kind = c.subject_kind
                            AND k.subject_id = c.subject_id AND k.kind = c.contact_kind
        """,
        now,
        limit,
        lease_seconds,
        interrupted,
    )
    return [_claimed(r, keys) for r in rows]


def _claimed(r: asyncpg.Record, keys: Keyring) -> Claimed:
    """A claimed row (its first columns in the order of the fields), body and address
    opened."""
    claimed = Claimed(*list(r.values())[:-3])
    address = r["address"]
    if address is not None:
        subject = (r["subject_kind"], r["subject_id"], r["contact_kind"])
        address = open_address(keys, *subject, r["address_key_id"], address)
    body = open_body(keys, r["id"], r["body_key_id"], r["body"])
    return replace(claimed, body=body, address=address)


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


def _log_attempts_sql(first: int) -> str:
    """Append attempts given as one array per column, from parameter ``$first`` on."""
    types = ("uuid", "int", "text", "text", "text", "int", "timestamptz", "timestamptz")
    arrays = ", ".join(f"${first + i}::{t}[]" for i, t in enumerate(types))
    return f"""
        INSERT INTO delivery_attempts
            (delivery_id, attempt, channel, outcome, error, segments, started_at, finished_at)
        SELECT * FROM unnest({arrays})
    """


def _attempt_columns(attempts: Sequence[Attempt]) -> tuple[list[Any], ...]:
    return (
        [a.delivery_id for a in attempts],
        [a.attempt for a in attempts],
        [a.channel for a in attempts],
        [a.outcome for a in attempts],
        [a.error for a in attempts],
        [a.segments for a in attempts],
        [a.started_at for a in attempts],
        [a.finished_at for a in attempts],
    )


_LOG_ATTEMPTS = _log_attempts_sql(1)
_FINISH = f"""
    WITH updated AS (
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
    )
    {_log_attempts_sql(6)}
"""


async def finish(
    conn: asyncpg.Connection, outcomes: Sequence[Outcome], attempts: Sequence[Attempt]
) -> None:
    """Leave claimed deliveries in their new state and append to the delivery log, in
    one statement whatever the number of messages."""
    if outcomes or attempts:
        await conn.execute(
            _FINISH,
            [o.delivery_id for o in outcomes],
            [o.status for o in outcomes],
            [o.attempts for o in outcomes],
            [o.due_at for o in outcomes],
            [o.error for o in outcomes],
            *_attempt_columns(attempts),
        )


async def log_attempts(conn: asyncpg.Connection, attempts: Sequence[Attempt]) -> None:
    if attempts:
        await conn.execute(_LOG_ATTEMPTS, *_attempt_columns(attempts))


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
