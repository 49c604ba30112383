"""The scheduler's SQL: claiming due clocks, recording what fired, apology letters, and
bulk loading of clocks."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import asyncpg

from motcua.services.deadlines.flags import (
    PlannedFlag,
)
from motcua.services.deadlines.letters import ApologyLetter
from motcua.services.deadlines.repository.clocks import FlagRecord
from motcua.services.deadlines.repository.rows import planned


class DueClock(NamedTuple):
    """A claimed clock: enough to emit its flags without recomputing anything."""

    dossier_id: uuid.UUID
    center_id: str
    dossier_code: str
    procedure_code: str
    received_at: datetime
    due_at: datetime
    next_fire_at: datetime
    schedule: list[PlannedFlag]


async def claim_due(conn: asyncpg.Connection, now: datetime, limit: int) -> list[DueClock]:
    """Lock up to ``limit`` open clocks with a flag due at ``now``, earliest first.

    ``SKIP LOCKED`` lets several scheduler instances (and the event handlers, which lock a
    clock while they change it) work side by side without waiting on or double-taking a row.
    """
    rows = await conn.fetch(
        """SELECT dossier_id, center_id, dossier_code, procedure_code, received_at, due_at,
                  next_fire_at, schedule
           FROM clocks
           WHERE closed_kind IS NULL AND next_fire_at <= $1
           ORDER BY next_fire_at
           LIMIT $2
           FOR UPDATE SKIP LOCKED""",
        now,
        limit,
    )
    return [DueClock(r[0], r[1], r[2], r[3], r[4], r[5], r[6], planned(r[7])) for r in rows]


async def record_fired(conn: asyncpg.Connection, flags: Sequence[FlagRecord]) -> set[uuid.UUID]:
    """Record fired flags as emitted; returns the event ids of those not recorded before
    (only those go to the outbox)."""
    if not flags:
        return set()
    rows = await conn.fetch(
        """INSERT INTO flags (dossier_id, kind, due_at, event_id)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::uuid[])
           ON CONFLICT DO NOTHING RETURNING event_id""",
        [f.dossier_id for f in flags],
        [f.kind for f in flags],
        [f.due_at for f in flags],
        [f.event_id for f in flags],
    )
    return {r[0] for r in rows}


async def reschedule(
    conn: asyncpg.Connection, updates: Sequence[tuple[uuid.UUID, datetime | None]]
) -> None:
    """Move each claimed clock's next firing time (None: nothing left to fire)."""
    if not updates:
        return
    await conn.execute(
        """UPDATE clocks c SET next_fire_at = u.next_fire_at
           FROM unnest($1::uuid[], $2::timestamptz[]) AS u(dossier_id, next_fire_at)
           WHERE c.dossier_id = u.dossier_id""",
        [d for d, _ in updates],
        [t for _, t in updates],
    )


async def next_fire_at(conn: asyncpg.Connection) -> datetime | None:
    """The earliest firing time of any open clock (the scheduler sleeps until then)."""
    value: datetime | None = await conn.fetchval(
        """SELECT next_fire_at FROM clocks
           WHERE closed_kind IS NULL AND next_fire_at IS NOT NULL
           ORDER BY next_fire_at LIMIT 1"""
    )
    return value


async def add_letters(conn: asyncpg.Connection, letters: Sequence[ApologyLetter]) -> None:
    if not letters:
        return
    await conn.execute(
        """INSERT INTO apology_letters (letter_id, dossier_id, center_id, dossier_code,
                  procedure_code, received_at, due_at, new_appointment_at, issued_at)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[],
                                $6::timestamptz[], $7::timestamptz[], $8::timestamptz[],
                                $9::timestamptz[])
           ON CONFLICT DO NOTHING""",
        [x.letter_id for x in letters],
        [x.dossier_id for x in letters],
        [x.center_id for x in letters],
        [x.dossier_code for x in letters],
        [x.procedure_code for x in letters],
        [x.received_at for x in letters],
        [x.due_at for x in letters],
        [x.new_appointment_at for x in letters],
        [x.issued_at for x in letters],
    )


async def latest_letter(
    conn: asyncpg.Connection, dossier_id: uuid.UUID, *, lock: bool = False
) -> ApologyLetter | None:
    """A dossier's latest letter (one per missed due date), with the names of its center
    and procedure as they stand now; locked for the transaction if asked."""
    row = await conn.fetchrow(
        f"""SELECT l.letter_id, l.dossier_id, l.center_id, l.dossier_code, l.procedure_code,
                  l.received_at, l.due_at, l.new_appointment_at, l.issued_at, c.name,
                  l.reason, p.name_vi, l.set_appointment_at, l.completed_by, l.completed_at
           FROM apology_letters l LEFT JOIN centers c USING (center_id)
                LEFT JOIN procedure_names p USING (center_id, procedure_code)
           WHERE l.dossier_id = $1 ORDER BY l.due_at DESC LIMIT 1
           {"FOR UPDATE OF l" if lock else ""}""",
        dossier_id,
    )
    return None if row is None else ApologyLetter(*row)


async def complete_letter(
    conn: asyncpg.Connection,
    letter_id: uuid.UUID,
    reason: str,
    set_appointment_at: datetime | None,
    by: str,
    at: datetime,
) -> None:
    """Record the officer's reason and new date (None: the computed date stands)."""
    await conn.execute(
        """UPDATE apology_letters SET reason = $2, set_appointment_at = $3,
                  completed_by = $4, completed_at = $5
           WHERE letter_id = $1""",
        letter_id,
        reason,
        set_appointment_at,
        by,
        at,
    )


CLOCK_COPY_COLUMNS = (
    "dossier_id",
    "center_id",
    "dossier_code",
    "procedure_code",
    "line_code",
    "received_at",
    "receipt_occurred_at",
    "limit_amount",
    "limit_unit",
    "limit_rollover",
    "appointment_at",
    "started_at",
    "due_at",
    "budget_seconds",
    "schedule",
    "next_fire_at",
    "status",
    "status_at",
)


async def copy_clocks(conn: asyncpg.Connection, records: Iterable[Sequence[Any]]) -> None:
    """Bulk-load open clocks with COPY (seeding a large installation, benchmarks). Each
    record follows ``CLOCK_COPY_COLUMNS``; its ``schedule`` is :func:`schedule_rows`."""
    await conn.copy_records_to_table("clocks", records=records, columns=CLOCK_COPY_COLUMNS)
