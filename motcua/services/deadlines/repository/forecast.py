"""The breach forecast's SQL: what finished dossiers took, the open clocks to forecast, the
backlog and staff figures around them, and the daily samples of the usual backlog."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import date, datetime
from typing import NamedTuple

import asyncpg


class OpenClock(NamedTuple):
    """An open, running clock with what its forecast needs."""

    dossier_id: uuid.UUID
    dossier_code: str
    procedure_code: str
    line_code: str
    assignee: str | None
    due_at: datetime
    budget_seconds: int


async def record_duration(
    conn: asyncpg.Connection,
    dossier_id: uuid.UUID,
    center_id: str,
    procedure_code: str,
    resolved_at: datetime,
    working_seconds: int,
) -> None:
    """Remember the active working time a resolved dossier took. Keyed by dossier: a
    replayed event, or a resolution recomputed after a late pause fact, rewrites the row."""
    await conn.execute(
        """INSERT INTO forecast_durations
               (dossier_id, center_id, procedure_code, resolved_at, working_seconds)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (dossier_id) DO UPDATE
           SET resolved_at = EXCLUDED.resolved_at, working_seconds = EXCLUDED.working_seconds""",
        dossier_id,
        center_id,
        procedure_code,
        resolved_at,
        max(working_seconds, 0),
    )


async def claim_center(conn: asyncpg.Connection, center_id: str, spacing_seconds: float) -> bool:
    """Whether this transaction may sweep the center: no instance swept it in the last
    ``spacing_seconds`` (database time, the same for every replica). The row stays locked
    until the transaction ends, so a racing instance waits, then sees it fresh and skips."""
    row = await conn.fetchrow(
        """INSERT INTO forecast_sweeps (center_id, swept_at) VALUES ($1, clock_timestamp())
           ON CONFLICT (center_id) DO UPDATE SET swept_at = EXCLUDED.swept_at
           WHERE forecast_sweeps.swept_at <= clock_timestamp() - make_interval(secs => $2)
           RETURNING center_id""",
        center_id,
        spacing_seconds,
    )
    return row is not None


async def centers_with_open_clocks(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "SELECT DISTINCT center_id FROM clocks WHERE closed_kind IS NULL ORDER BY center_id"
    )
    return [r[0] for r in rows]


async def open_running(conn: asyncpg.Connection, center_id: str) -> list[OpenClock]:
    """A center's open clocks that are running (received, not paused): a paused clock
    waits on the citizen, so neither its risk nor the staff's backlog grows with it."""
    rows = await conn.fetch(
        """SELECT dossier_id, dossier_code, procedure_code, coalesce(line_code, ''), assignee,
                  due_at, budget_seconds
           FROM clocks
           WHERE center_id = $1 AND closed_kind IS NULL AND paused_since IS NULL
             AND received_at IS NOT NULL AND due_at IS NOT NULL""",
        center_id,
    )
    return [OpenClock(*r) for r in rows]


async def line_staff(conn: asyncpg.Connection, center_id: str, since: datetime) -> dict[str, int]:
    """Staff on duty per line, by proxy: distinct assignees of the line's dossiers assigned
    since ``since`` (the center holds no staff directory yet)."""
    rows = await conn.fetch(
        """SELECT coalesce(line_code, ''), count(DISTINCT assignee)
           FROM clocks
           WHERE center_id = $1 AND assignee IS NOT NULL AND assigned_at >= $2
           GROUP BY 1""",
        center_id,
        since,
    )
    return {r[0]: r[1] for r in rows}


async def recent_durations(
    conn: asyncpg.Connection, center_id: str, per_procedure: int, procedures: Collection[str]
) -> dict[str, list[int]]:
    """The latest ``per_procedure`` durations of each of ``procedures`` at a center, each
    list sorted ascending (the order the model reads them in). Each procedure's latest are
    read from the end of forecast_durations_recent: numbering every duration the center
    ever had read a heap page per resolved dossier of its history (bench/province.py)."""
    rows = await conn.fetch(
        """SELECT p.code, d.working_seconds
           FROM unnest($3::text[]) AS p(code)
           CROSS JOIN LATERAL (
               SELECT working_seconds FROM forecast_durations
               WHERE center_id = $1 AND procedure_code = p.code
               ORDER BY resolved_at DESC LIMIT $2) d
           ORDER BY 1, 2""",
        center_id,
        per_procedure,
        sorted(set(procedures)),
    )
    out: dict[str, list[int]] = defaultdict(list)
    for r in rows:
        out[r[0]].append(r[1])
    return dict(out)


async def usual_load(conn: asyncpg.Connection, center_id: str, since: date) -> dict[str, float]:
    """The median of each line's daily backlog samples since ``since``."""
    rows = await conn.fetch(
        """SELECT line_code, percentile_cont(0.5) WITHIN GROUP (ORDER BY load)
           FROM forecast_load WHERE center_id = $1 AND day >= $2
           GROUP BY line_code""",
        center_id,
        since,
    )
    return {r[0]: float(r[1]) for r in rows}


async def sample_load(
    conn: asyncpg.Connection, center_id: str, day: date, loads: Mapping[str, float]
) -> None:
    """Today's sample of each line's backlog (forecast.day_sample); the day's first stays."""
    if not loads:
        return
    await conn.execute(
        """INSERT INTO forecast_load (center_id, line_code, day, load)
           SELECT $1, line_code, $2, load
           FROM unnest($3::text[], $4::float8[]) AS s(line_code, load)
           ON CONFLICT DO NOTHING""",
        center_id,
        day,
        list(loads),
        list(loads.values()),
    )
