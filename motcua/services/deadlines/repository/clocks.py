"""The clock store: one row per dossier, its facts, the flags emitted, centers' calendars.

The event path is two statements per event besides the fact itself: :func:`touch_clock`
creates or locks the row and returns, in the same round trip, what recomputing the clock
needs (its facts, the flags already emitted, the center's calendar version); then
:func:`save_state` stores the result and records the new flags together.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from motcua.services.deadlines.domain import Clock, Closure, Extension, PauseMark
from motcua.services.deadlines.errors import Conflict
from motcua.services.deadlines.flags import (
    PlannedFlag,
)
from motcua.services.deadlines.repository.rows import (
    CLOCK_COLUMNS,
    ClockRow,
    Facts,
    clock_row,
    facts,
    schedule_rows,
    translated,
)
from motcua.shared.calendar import TimeLimit

# ------------------------------------------------------------------------ centers


@dataclass(frozen=True)
class CenterCalendar:
    center_id: str
    name: str | None
    overrides: dict[str, Any]
    version: int


async def center_calendar(conn: asyncpg.Connection, center_id: str) -> CenterCalendar | None:
    row = await conn.fetchrow(
        "SELECT center_id, name, overrides::text, version FROM centers WHERE center_id = $1",
        center_id,
    )
    if row is None:
        return None
    return CenterCalendar(row[0], row[1], json.loads(row[2]), row[3])


async def save_center_calendar(
    conn: asyncpg.Connection, center_id: str, name: str | None, overrides: dict[str, Any]
) -> int:
    """Store a center's name and overrides; returns the new version."""
    version: int = await conn.fetchval(
        """INSERT INTO centers (center_id, name, overrides) VALUES ($1, $2, $3::text::jsonb)
           ON CONFLICT (center_id) DO UPDATE
               SET name = EXCLUDED.name, overrides = EXCLUDED.overrides,
                   version = centers.version + 1, updated_at = now()
           RETURNING version""",
        center_id,
        name,
        json.dumps(overrides),
    )
    return version


# ------------------------------------------------------------------------- clocks


@dataclass(frozen=True)
class Receipt:
    """What ``dossier.received`` tells the clock; the latest by business time wins."""

    received_at: datetime
    limit: TimeLimit
    line_code: str | None
    appointment_at: datetime | None
    occurred_at: datetime


@dataclass(frozen=True)
class Touched:
    """A locked clock with what recomputing it needs."""

    clock: ClockRow
    calendar_version: int | None
    facts: Facts
    emitted: frozenset[tuple[str, datetime]]

    def emitted_for(self, due_at: datetime) -> set[str]:
        """Kinds of the flags already emitted for this due instant."""
        return {kind for kind, due in self.emitted if due == due_at}


# Every status change keeps the latest by business time.
_STATUS = """status = CASE WHEN c.status_at IS NULL OR c.status_at <= EXCLUDED.status_at
                           THEN EXCLUDED.status ELSE c.status END,
             status_at = GREATEST(c.status_at, EXCLUDED.status_at)"""

_WITH_CONTEXT = f"""{CLOCK_COLUMNS},
    (SELECT version FROM centers WHERE centers.center_id = c.center_id) AS calendar_version,
    (SELECT coalesce(json_agg(json_build_object('kind', f.kind, 'due_at', f.due_at)), '[]')
     FROM flags f WHERE f.dossier_id = c.dossier_id)::text AS emitted,
    (SELECT coalesce(json_agg(json_build_object(
                'kind', x.kind, 'channel', x.channel, 'occurred_at', x.occurred_at,
                'amount', x.amount, 'unit', x.unit, 'reason', x.reason)), '[]')
     FROM clock_facts x WHERE x.dossier_id = c.dossier_id)::text AS facts"""


def _touched(row: asyncpg.Record) -> Touched:
    emitted = frozenset(
        (e["kind"], datetime.fromisoformat(e["due_at"])) for e in json.loads(row["emitted"])
    )
    return Touched(
        clock_row(row), row["calendar_version"], facts(json.loads(row["facts"])), emitted
    )


async def touch_clock(
    conn: asyncpg.Connection,
    dossier_id: uuid.UUID,
    center_id: str,
    dossier_code: str,
    procedure_code: str,
    status: int,
    at: datetime,
) -> Touched:
    """Create the clock on a dossier's first event (whatever its type) or lock it, record
    the status if it is the latest, and return the clock with its context."""
    row = await conn.fetchrow(
        f"""INSERT INTO clocks AS c (dossier_id, center_id, dossier_code, procedure_code,
                                     status, status_at)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (dossier_id) DO UPDATE SET {_STATUS}
            RETURNING {_WITH_CONTEXT}""",
        dossier_id,
        center_id,
        dossier_code,
        procedure_code,
        status,
        at,
    )
    return _touched(row)


async def load_clock(
    conn: asyncpg.Connection, dossier_id: uuid.UUID, *, lock: bool
) -> Touched | None:
    """The clock with its context; with ``lock``, locked until the transaction ends."""
    row = await conn.fetchrow(
        f"""SELECT {_WITH_CONTEXT} FROM clocks c WHERE dossier_id = $1
            {"FOR UPDATE" if lock else ""}""",
        dossier_id,
    )
    return None if row is None else _touched(row)


async def get_clock(conn: asyncpg.Connection, dossier_id: uuid.UUID) -> ClockRow | None:
    row = await conn.fetchrow(
        f"SELECT {CLOCK_COLUMNS} FROM clocks WHERE dossier_id = $1", dossier_id
    )
    return None if row is None else clock_row(row)


async def open_clocks(
    conn: asyncpg.Connection, center_id: str, *, lock: bool = False
) -> list[ClockRow]:
    """The center's open clocks whose receipt is known (locked in id order if asked)."""
    rows = await conn.fetch(
        f"""SELECT {CLOCK_COLUMNS} FROM clocks
            WHERE center_id = $1 AND closed_kind IS NULL AND received_at IS NOT NULL
            ORDER BY dossier_id {"FOR UPDATE" if lock else ""}""",
        center_id,
    )
    return [clock_row(r) for r in rows]


async def record_receipt(
    conn: asyncpg.Connection,
    dossier_id: uuid.UUID,
    center_id: str,
    dossier_code: str,
    procedure_code: str,
    r: Receipt,
) -> bool:
    """Store the receipt unless a later one (by business time) is stored; False if stale."""
    applied = await conn.fetchval(
        """INSERT INTO clocks AS c (dossier_id, center_id, dossier_code, procedure_code,
                  line_code, received_at, limit_amount, limit_unit, limit_rollover,
                  appointment_at, receipt_occurred_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (dossier_id) DO UPDATE SET
               dossier_code = EXCLUDED.dossier_code, procedure_code = EXCLUDED.procedure_code,
               line_code = EXCLUDED.line_code, received_at = EXCLUDED.received_at,
               limit_amount = EXCLUDED.limit_amount, limit_unit = EXCLUDED.limit_unit,
               limit_rollover = EXCLUDED.limit_rollover, appointment_at = EXCLUDED.appointment_at,
               receipt_occurred_at = EXCLUDED.receipt_occurred_at
           WHERE c.receipt_occurred_at IS NULL
              OR c.receipt_occurred_at <= EXCLUDED.receipt_occurred_at
           RETURNING true""",
        dossier_id,
        center_id,
        dossier_code,
        procedure_code,
        r.line_code,
        r.received_at,
        r.limit.amount,
        r.limit.unit.value,
        r.limit.rollover,
        r.appointment_at,
        r.occurred_at,
    )
    return bool(applied)


async def record_assignment(
    conn: asyncpg.Connection,
    dossier_id: uuid.UUID,
    center_id: str,
    dossier_code: str,
    procedure_code: str,
    assignment: tuple[str, str | None, int, datetime],
) -> None:
    """Record the officer (and status) of ``dossier.assigned``; the latest assignment wins."""
    assignee, department, status, at = assignment
    await conn.execute(
        f"""INSERT INTO clocks AS c (dossier_id, center_id, dossier_code, procedure_code,
                  assignee, department, assigned_at, status, status_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7)
            ON CONFLICT (dossier_id) DO UPDATE SET
                assignee = CASE WHEN c.assigned_at IS NULL OR c.assigned_at <= EXCLUDED.assigned_at
                                THEN EXCLUDED.assignee ELSE c.assignee END,
                department = CASE WHEN c.assigned_at IS NULL
                                    OR c.assigned_at <= EXCLUDED.assigned_at
                                  THEN EXCLUDED.department ELSE c.department END,
                assigned_at = GREATEST(c.assigned_at, EXCLUDED.assigned_at),
                {_STATUS}""",
        dossier_id,
        center_id,
        dossier_code,
        procedure_code,
        assignee,
        department,
        at,
        status,
    )


@dataclass(frozen=True)
class FlagRecord:
    dossier_id: uuid.UUID
    kind: str
    due_at: datetime
    event_id: uuid.UUID
    emitted_at: datetime | None = None


async def save_state(
    conn: asyncpg.Connection,
    dossier_id: uuid.UUID,
    clock: Clock,
    *,
    adjusted: bool,
    schedule: Sequence[PlannedFlag],
    flags: Sequence[tuple[str, uuid.UUID]] = (),
) -> set[uuid.UUID]:
    """Store the computed clock with the flags still to fire for its due instant, and
    record ``flags`` (kind, event id) as emitted for that instant.

    Returns the event ids of the flags not recorded before: only those may be written to
    the outbox. The key (dossier, kind, due date) makes every flag exactly-once.
    """
    closure = clock.closure
    with translated():
        fresh = await conn.fetchval(
            """WITH saved AS (
                   UPDATE clocks SET started_at = $2, due_at = $3, budget_seconds = $4,
                          paused_since = $5, adjusted = $6, closed_kind = $7, closed_at = $8,
                          outcome = $9, working_seconds_late = $10,
                          schedule = $11::planned_flag[], next_fire_at = $12, updated_at = now()
                   WHERE dossier_id = $1
               ), fresh AS (
                   INSERT INTO flags (dossier_id, kind, due_at, event_id)
                   SELECT $1, f.kind, $3, f.event_id
                   FROM unnest($13::text[], $14::uuid[]) AS f(kind, event_id)
                   ON CONFLICT DO NOTHING
                   RETURNING event_id
               )
               SELECT coalesce(array_agg(event_id), '{}') FROM fresh""",
            dossier_id,
            clock.started_at,
            clock.due_at,
            int(clock.budget.total_seconds()),
            clock.paused_since,
            adjusted,
            closure.kind.value if closure else None,
            closure.at if closure else None,
            clock.outcome.value if clock.outcome else None,
            int(clock.late_by.total_seconds()),
            schedule_rows(schedule),
            min((f.at for f in schedule), default=None),
            [kind for kind, _ in flags],
            [event_id for _, event_id in flags],
        )
    return set(fresh)


async def flags_of(conn: asyncpg.Connection, dossier_id: uuid.UUID) -> list[FlagRecord]:
    rows = await conn.fetch(
        """SELECT dossier_id, kind, due_at, event_id, emitted_at FROM flags
           WHERE dossier_id = $1 ORDER BY emitted_at, kind""",
        dossier_id,
    )
    return [FlagRecord(*r) for r in rows]


# -------------------------------------------------------------------------- facts


async def add_pause_mark(
    conn: asyncpg.Connection, fact_id: uuid.UUID, dossier_id: uuid.UUID, mark: PauseMark
) -> None:
    await conn.execute(
        """INSERT INTO clock_facts (fact_id, dossier_id, kind, channel, occurred_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (fact_id) DO NOTHING""",
        fact_id,
        dossier_id,
        "pause_start" if mark.starts else "pause_end",
        mark.channel.value,
        mark.at,
    )


async def add_closure(
    conn: asyncpg.Connection, fact_id: uuid.UUID, dossier_id: uuid.UUID, closure: Closure
) -> None:
    await conn.execute(
        """INSERT INTO clock_facts (fact_id, dossier_id, kind, occurred_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT (fact_id) DO NOTHING""",
        fact_id,
        dossier_id,
        closure.kind.value,
        closure.at,
    )


async def add_extension(
    conn: asyncpg.Connection, fact_id: uuid.UUID, dossier_id: uuid.UUID, ext: Extension
) -> bool:
    """Record an extension; False if this id was already recorded for this dossier.

    The same id used for anything else is a :class:`Conflict`.
    """
    with translated():
        inserted = await conn.fetchval(
            """INSERT INTO clock_facts
                   (fact_id, dossier_id, kind, occurred_at, amount, unit, reason)
               VALUES ($1, $2, 'extension', $3, $4, $5, $6)
               ON CONFLICT (fact_id) DO NOTHING RETURNING true""",
            fact_id,
            dossier_id,
            ext.granted_at,
            ext.amount,
            ext.unit.value,
            ext.reason,
        )
    if inserted:
        return True
    owner: Mapping[str, Any] | None = await conn.fetchrow(
        "SELECT dossier_id, kind FROM clock_facts WHERE fact_id = $1", fact_id
    )
    if owner is None or owner["dossier_id"] != dossier_id or owner["kind"] != "extension":
        raise Conflict(f"extension id {fact_id} is already used by another fact")
    return False
