"""Explicit SQL of the intake service on an asyncpg connection.

Every function runs on the caller's connection, inside the caller's transaction;
asyncpg errors that mean something to the business are translated here into
``motcua.services.intake.domain`` errors, so the layers above never see asyncpg.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import asyncpg

from motcua.services.intake.errors import Conflict


@dataclass(frozen=True)
class DossierRecord:
    """One ``dossiers`` row."""

    id: uuid.UUID
    code: str
    center_id: str
    procedure_code: str
    procedure: dict[str, Any]
    line_code: str | None
    channel: str
    status: int
    time_limit_amount: int
    time_limit_unit: str
    time_limit_rollover: bool
    received_at: datetime
    appointment_at: datetime
    secret_hash: bytes
    secret_sealed: str
    applicant_name: str | None
    contact_kind: str | None
    contact_sealed: str | None
    contact_language: str | None
    contact_consent: bool
    documents_received: list[str]
    note: str | None
    ticket_id: uuid.UUID | None
    assignee: str | None
    department: str | None
    outcome: str | None
    received_by: str
    correlation_id: uuid.UUID
    version: int
    updated_at: datetime
    supplement_requests: int = 0
    appointment_as_of: datetime | None = None

    @classmethod
    def of(cls, row: asyncpg.Record) -> DossierRecord:
        return cls(**{f.name: row[f.name] for f in _DOSSIER_FIELDS})


_DOSSIER_FIELDS = fields(DossierRecord)
_DOSSIER_COLUMNS = ", ".join(f.name for f in _DOSSIER_FIELDS)


@dataclass(frozen=True)
class HistoryEntry:
    """One ``dossier_history`` row: a change and the event that announced it."""

    dossier_id: uuid.UUID
    seq: int
    event_id: uuid.UUID
    event_type: str
    from_status: int | None
    status: int
    occurred_at: datetime
    actor: str
    via: str
    details: dict[str, Any]


@dataclass(frozen=True)
class ServedTicket:
    """A ticket served at a counter, from ``ticket.service_completed``."""

    ticket_id: uuid.UUID
    center_id: str
    number: str
    line_code: str
    counter_id: str | None
    dossier_id: uuid.UUID | None
    completed_at: datetime
    event_id: uuid.UUID


@dataclass(frozen=True)
class ProcessedCommand:
    command_key: str
    command_type: str | None
    center_id: str | None
    dossier_id: uuid.UUID | None
    outcome: str
    reason: str | None
    request_hash: bytes | None


# ------------------------------------------------------------------ dossiers


_HISTORY_COLUMNS = (
    "dossier_id, seq, event_id, event_type, from_status, status, occurred_at, actor, via, details"
)


def _history_values(entry: HistoryEntry) -> tuple[Any, ...]:
    return (
        entry.dossier_id,
        entry.seq,
        entry.event_id,
        entry.event_type,
        entry.from_status,
        entry.status,
        entry.occurred_at,
        entry.actor,
        entry.via,
        entry.details,
    )


async def insert_dossier(
    conn: asyncpg.Connection, prefix: str, values: dict[str, Any], first: HistoryEntry
) -> DossierRecord:
    """Insert a dossier with the next code of ``prefix``, and its first history row.

    One statement, one round trip on the hot path: the prefix's counter row is
    incremented first and stays locked until commit, so concurrent receipts of one
    center-day get unique, gapless codes (``domain.dossier_code``: at least four
    digits). A reused id is a ``Conflict``.
    """
    columns = list(values)
    n = len(columns)
    placeholders = ", ".join(f"${i}" for i in range(1, n + 1))
    history = ", ".join(f"${i}" for i in range(n + 1, n + 11))
    try:
        row = await conn.fetchrow(
            f"""
            WITH s AS (
                INSERT INTO dossier_sequences (prefix, last_value) VALUES (${n + 11}, 1)
                ON CONFLICT (prefix) DO UPDATE SET last_value = dossier_sequences.last_value + 1
                RETURNING last_value
            ), d AS (
                INSERT INTO dossiers (code, {", ".join(columns)})
                VALUES (
                    (SELECT ${n + 11} || '-' || lpad(v, greatest(4, length(v)), '0')
                     FROM (SELECT last_value::text AS v FROM s) AS seq),
                    {placeholders}
                )
                RETURNING {_DOSSIER_COLUMNS}
            ), h AS (
                INSERT INTO dossier_history ({_HISTORY_COLUMNS}) VALUES ({history})
            )
            SELECT * FROM d
            """,
            *values.values(),
            *_history_values(first),
            prefix,
        )
    except asyncpg.UniqueViolationError as exc:
        what = "code" if "code" in (exc.constraint_name or "") else "id"
        raise Conflict(f"a dossier with this {what} already exists", field="dossier_id") from None
    return DossierRecord.of(row)


async def lock_dossier(conn: asyncpg.Connection, dossier_id: uuid.UUID) -> DossierRecord | None:
    """The dossier, locked until the transaction ends (serialises its changes)."""
    row = await conn.fetchrow(
        f"SELECT {_DOSSIER_COLUMNS} FROM dossiers WHERE id = $1 FOR UPDATE", dossier_id
    )
    return DossierRecord.of(row) if row else None


async def get_dossier(conn: asyncpg.Connection, dossier_id: uuid.UUID) -> DossierRecord | None:
    row = await conn.fetchrow(f"SELECT {_DOSSIER_COLUMNS} FROM dossiers WHERE id = $1", dossier_id)
    return DossierRecord.of(row) if row else None


async def find_by_code(conn: asyncpg.Connection, code: str) -> DossierRecord | None:
    row = await conn.fetchrow(f"SELECT {_DOSSIER_COLUMNS} FROM dossiers WHERE code = $1", code)
    return DossierRecord.of(row) if row else None


async def list_dossiers(
    conn: asyncpg.Connection, center_id: str, *, status: int | None, limit: int
) -> list[DossierRecord]:
    rows = await conn.fetch(
        f"""
        SELECT {_DOSSIER_COLUMNS} FROM dossiers
        WHERE center_id = $1 AND ($2::smallint IS NULL OR status = $2)
        ORDER BY received_at DESC, code DESC
        LIMIT $3
        """,
        center_id,
        status,
        limit,
    )
    return [DossierRecord.of(r) for r in rows]


async def update_dossier(
    conn: asyncpg.Connection,
    dossier_id: uuid.UUID,
    *,
    status: int,
    at: datetime,
    assignment: tuple[str, str | None] | None,
    outcome: str | None,
    received: tuple[datetime, datetime] | None = None,
    supplement_requested: bool = False,
) -> int:
    """Apply a lifecycle change; returns the new version (the history sequence).

    ``received`` (receipt time, appointment) re-dates an online submission at its
    acceptance, when its legal clock starts; ``supplement_requested`` counts one more
    request for supplements."""
    version: int = await conn.fetchval(
        """
        UPDATE dossiers SET
            status = $2,
            updated_at = $3,
            version = version + 1,
            assignee = CASE WHEN $4 THEN $5 ELSE assignee END,
            department = CASE WHEN $4 THEN $6 ELSE department END,
            outcome = COALESCE($7, outcome),
            received_at = COALESCE($8, received_at),
            appointment_at = COALESCE($9, appointment_at),
            supplement_requests = supplement_requests + CASE WHEN $10 THEN 1 ELSE 0 END
        WHERE id = $1
        RETURNING version
        """,
        dossier_id,
        status,
        at,
        assignment is not None,
        assignment[0] if assignment else None,
        assignment[1] if assignment else None,
        outcome,
        received[0] if received else None,
        received[1] if received else None,
        supplement_requested,
    )
    return version


async def follow_appointment(
    conn: asyncpg.Connection, dossier_id: uuid.UUID, appointment_at: datetime, as_of: datetime
) -> int | None:
    """Move the appointment to the clock's due date, unless a clock event of ``as_of``
    or later set it already; returns the new version (the history sequence), or None
    when nothing changed (a stale or repeated event, or the same date)."""
    version: int | None = await conn.fetchval(
        """
        UPDATE dossiers SET
            appointment_at = $2,
            appointment_as_of = $3,
            version = version + 1
        WHERE id = $1
          AND (appointment_as_of IS NULL OR appointment_as_of < $3)
          AND appointment_at <> $2
        RETURNING version
        """,
        dossier_id,
        appointment_at,
        as_of,
    )
    if version is None:
        # The date stands, but a newer event still moves the mark: an older one that
        # arrives after it must not be taken for news.
        await conn.execute(
            """
            UPDATE dossiers SET appointment_as_of = $2
            WHERE id = $1 AND (appointment_as_of IS NULL OR appointment_as_of < $2)
            """,
            dossier_id,
            as_of,
        )
    return version


async def set_ticket(
    conn: asyncpg.Connection, dossier_id: uuid.UUID, center_id: str, ticket_id: uuid.UUID
) -> bool:
    """Record the ticket that led to a dossier, unless one is recorded already."""
    status = await conn.execute(
        """
        UPDATE dossiers SET ticket_id = $3
        WHERE id = $1 AND center_id = $2 AND ticket_id IS NULL
        """,
        dossier_id,
        center_id,
        ticket_id,
    )
    return bool(status.endswith(" 1"))


# ------------------------------------------------------------------- history


async def add_history(conn: asyncpg.Connection, entry: HistoryEntry) -> None:
    await conn.execute(
        f"INSERT INTO dossier_history ({_HISTORY_COLUMNS}) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        *_history_values(entry),
    )


async def history(conn: asyncpg.Connection, dossier_id: uuid.UUID) -> list[HistoryEntry]:
    rows = await conn.fetch(
        """
        SELECT dossier_id, seq, event_id, event_type, from_status, status, occurred_at,
               actor, via, details
        FROM dossier_history WHERE dossier_id = $1 ORDER BY seq
        """,
        dossier_id,
    )
    return [HistoryEntry(**dict(r)) for r in rows]


# ------------------------------------------------------------------ commands


async def claim_command(
    conn: asyncpg.Connection,
    key: str,
    *,
    command_type: str | None,
    center_id: str | None,
    dossier_id: uuid.UUID | None,
    request_hash: bytes | None = None,
) -> bool:
    """Claim ``key`` as processed (outcome ``applied``); ``False`` if it was already.

    A concurrent claim of the same key waits for the first transaction, then sees it.
    """
    claimed = await conn.fetchval(
        """
        INSERT INTO processed_commands
            (command_key, command_type, center_id, dossier_id, outcome, request_hash)
        VALUES ($1, $2, $3, $4, 'applied', $5)
        ON CONFLICT (command_key) DO NOTHING
        RETURNING true
        """,
        key,
        command_type,
        center_id,
        dossier_id,
        request_hash,
    )
    return bool(claimed)


async def get_command(conn: asyncpg.Connection, key: str) -> ProcessedCommand | None:
    row = await conn.fetchrow(
        """
        SELECT command_key, command_type, center_id, dossier_id, outcome, reason, request_hash
        FROM processed_commands WHERE command_key = $1
        """,
        key,
    )
    return ProcessedCommand(**dict(row)) if row else None


async def mark_rejected(conn: asyncpg.Connection, key: str, reason: str) -> None:
    await conn.execute(
        "UPDATE processed_commands SET outcome = 'rejected', reason = $2 WHERE command_key = $1",
        key,
        reason,
    )


# ------------------------------------------------------------------- tickets


async def upsert_served_ticket(conn: asyncpg.Connection, ticket: ServedTicket) -> None:
    """Record a served ticket; a later fact about the same ticket updates it."""
    await conn.execute(
        """
        INSERT INTO served_tickets
            (ticket_id, center_id, number, line_code, counter_id, dossier_id, completed_at,
             event_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (ticket_id) DO UPDATE SET
            number = EXCLUDED.number,
            line_code = EXCLUDED.line_code,
            counter_id = EXCLUDED.counter_id,
            dossier_id = COALESCE(EXCLUDED.dossier_id, served_tickets.dossier_id),
            completed_at = EXCLUDED.completed_at,
            event_id = EXCLUDED.event_id
        """,
        ticket.ticket_id,
        ticket.center_id,
        ticket.number,
        ticket.line_code,
        ticket.counter_id,
        ticket.dossier_id,
        ticket.completed_at,
        ticket.event_id,
    )


async def served_ticket(conn: asyncpg.Connection, ticket_id: uuid.UUID) -> ServedTicket | None:
    row = await conn.fetchrow("SELECT * FROM served_tickets WHERE ticket_id = $1", ticket_id)
    return ServedTicket(**dict(row)) if row else None


async def ticket_announcing(
    conn: asyncpg.Connection, dossier_id: uuid.UUID, center_id: str
) -> uuid.UUID | None:
    """The served ticket whose event named this dossier before the dossier existed."""
    value: uuid.UUID | None = await conn.fetchval(
        """
        SELECT ticket_id FROM served_tickets WHERE dossier_id = $1 AND center_id = $2
        ORDER BY completed_at DESC LIMIT 1
        """,
        dossier_id,
        center_id,
    )
    return value
