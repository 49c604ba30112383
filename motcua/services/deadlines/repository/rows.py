"""Row mapping shared by the repository modules: clock rows, facts and schedules."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import asyncpg

from motcua.services.deadlines.domain import (
    Closure,
    ClosureKind,
    Extension,
    PauseChannel,
    PauseMark,
)
from motcua.services.deadlines.errors import Conflict, InvalidInput
from motcua.services.deadlines.flags import (
    PlannedFlag,
)
from motcua.shared.calendar import TimeLimit, TimeUnit


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Database rule violations as domain errors."""
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(exc.detail or str(exc)) from exc
    except asyncpg.CheckViolationError as exc:
        raise InvalidInput(exc.constraint_name or "value", exc.detail or str(exc)) from exc


@dataclass(frozen=True)
class ClockRow:
    """One stored clock: the receipt, the computed state and the worklist profile."""

    dossier_id: uuid.UUID
    center_id: str
    dossier_code: str
    procedure_code: str
    line_code: str | None
    received_at: datetime | None
    limit: TimeLimit | None
    appointment_at: datetime | None
    started_at: datetime | None
    due_at: datetime | None
    paused_since: datetime | None
    closed_kind: str | None
    closed_at: datetime | None
    outcome: str | None
    working_seconds_late: int
    next_fire_at: datetime | None
    assignee: str | None
    department: str | None
    status: int | None


CLOCK_COLUMNS = """dossier_id, center_id, dossier_code, procedure_code, line_code, received_at,
    limit_amount, limit_unit, limit_rollover, appointment_at, started_at, due_at, paused_since,
    closed_kind, closed_at, outcome, working_seconds_late, next_fire_at, assignee, department,
    status"""


def clock_row(row: Mapping[str, Any]) -> ClockRow:
    limit = None
    if row["limit_amount"] is not None:
        limit = TimeLimit(row["limit_amount"], TimeUnit(row["limit_unit"]), row["limit_rollover"])
    return ClockRow(limit=limit, **{name: row[name] for name in _COLUMN_FIELDS})


# Every field of a clock row but ``limit`` is the column of the same name; the time
# limit is three columns (``limit_amount``, ``limit_unit``, ``limit_rollover``).
_COLUMN_FIELDS = tuple(f.name for f in fields(ClockRow) if f.name != "limit")


FACT_COLUMNS = "dossier_id, kind, channel, occurred_at, amount, unit, reason"

Facts = tuple[tuple[PauseMark, ...], tuple[Extension, ...], tuple[Closure, ...]]


def facts(rows: Iterable[Mapping[str, Any]]) -> Facts:
    """Fact rows (``FACT_COLUMNS``) as the domain's pause marks, extensions and closures."""
    marks: list[PauseMark] = []
    extensions: list[Extension] = []
    closures: list[Closure] = []
    for r in rows:
        kind, at = r["kind"], r["occurred_at"]
        if isinstance(at, str):  # from a JSON aggregate
            at = datetime.fromisoformat(at)
        if kind in ("pause_start", "pause_end"):
            marks.append(PauseMark(PauseChannel(r["channel"]), kind == "pause_start", at))
        elif kind == "extension":
            extensions.append(Extension(r["amount"], TimeUnit(r["unit"]), at, r["reason"] or ""))
        else:
            closures.append(Closure(ClosureKind(kind), at))
    return tuple(marks), tuple(extensions), tuple(closures)


def schedule_rows(flags: Iterable[PlannedFlag]) -> list[tuple[Any, ...]]:
    """Planned flags as ``planned_flag`` composite values (the ``schedule`` column)."""
    return [(f.kind, f.at, f.working_seconds_left, f.new_appointment_at) for f in flags]


def planned(values: Iterable[Sequence[Any]]) -> list[PlannedFlag]:
    """The ``schedule`` column's ``planned_flag`` values as planned flags."""
    return [PlannedFlag(v[0], v[1], v[2], v[3]) for v in values]
