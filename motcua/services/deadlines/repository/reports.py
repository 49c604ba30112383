"""The on-time statistics' SQL: the cohort of a report, counted where the stored columns
suffice, and fetched with its facts where the state at the report's instant needs them;
and the same cohort's supplement requests."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, NamedTuple

import asyncpg

from motcua.services.deadlines.domain import (
    ClockFacts,
)
from motcua.services.deadlines.repository.rows import (
    CLOCK_COLUMNS,
    FACT_COLUMNS,
    ClockRow,
    clock_row,
    facts,
)
from motcua.services.deadlines.statistics import Category, ReportQuery
from motcua.services.deadlines.supplements import REPEATED_FROM, Flagged


async def plan_for_the_values(conn: asyncpg.Connection) -> None:
    """Plan the report queries of this transaction for their own values, every time.

    One query serves one center's month and the whole province's year: the first is a
    short range of ``clocks_center_received``, the second a scan of the table, and only the
    values tell them apart. asyncpg prepares its statements, and after five runs PostgreSQL
    may keep a generic plan made without the values: with a province's history it read
    every center's year to report one center's (600 ms instead of 2, bench/province.py).
    Planning each run costs a fraction of a millisecond. Outside a transaction this does
    nothing (``SET LOCAL``); the reports run in one."""
    await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")


_COHORT = """received_at >= $1 AND received_at < $2 AND received_at <= $3
             AND ($4::text IS NULL OR center_id = $4)"""


async def cohort_counts_by_day(
    conn: asyncpg.Connection, q: ReportQuery, *, open_only: bool = False
) -> list[tuple[date, str, str | None, Category, int]]:
    """Counts per (local date of receipt, procedure, line, category) for every dossier of
    the cohort whose state at ``as_of`` follows from the stored columns alone: closed by
    then, or never paused nor extended (then ``due_at`` is the receipt's). The rest come
    from :func:`cohort_adjusted`. By day, so that one pass serves a period and its weeks
    (the dashboard's chart). ``open_only``: the dossiers still open now, for the days
    whose closed ones :func:`summary_days` counts."""
    lo, hi = q.window
    await plan_for_the_values(conn)
    rows = await conn.fetch(
        f"""SELECT day, procedure_code, line_code, category, count(*) FROM (
                SELECT (received_at AT TIME ZONE $5)::date AS day, procedure_code, line_code,
                    CASE
                        WHEN closed_kind IS NOT NULL AND closed_at <= $3 THEN
                            CASE WHEN closed_kind = 'resolved' THEN 'resolved_' || outcome
                                 ELSE 'withdrawn' END
                        WHEN NOT adjusted THEN
                            CASE WHEN $3 > due_at THEN 'in_progress_overdue'
                                 ELSE 'in_progress_within' END
                    END AS category
                FROM clocks WHERE {_COHORT} {_OPEN if open_only else ""}) AS cohort
            WHERE category IS NOT NULL
            GROUP BY 1, 2, 3, 4""",
        lo,
        hi,
        q.as_of,
        q.center_id,
        q.tz.key,
    )
    return [(r[0], r[1], r[2], Category(r[3]), r[4]) for r in rows]


_OPEN = "AND closed_kind IS NULL"  # as clocks_open_received is written


class SummaryRow(NamedTuple):
    day: date
    procedure_code: str
    line_code: str | None
    counts: tuple[tuple[Category, int], ...]
    last_closed_at: datetime | None


async def summary_days(
    conn: asyncpg.Connection, center_id: str | None, first: date, last: date
) -> list[SummaryRow]:
    """The closed dossiers received from ``first`` to ``last`` (Asia/Ho_Chi_Minh dates),
    counted by day, procedure, line and category in on_time_days and the changes not yet
    folded into it (migration 0008)."""
    await plan_for_the_values(conn)  # one center's or all: only the values tell
    rows = await conn.fetch(
        """SELECT day, procedure_code, line_code, sum(resolved_early), sum(resolved_on_time),
                  sum(resolved_late), sum(withdrawn), max(last_closed_at)
           FROM (SELECT * FROM on_time_days UNION ALL SELECT * FROM on_time_day_changes) s
           WHERE day >= $1 AND day <= $2 AND ($3::text IS NULL OR center_id = $3)
           GROUP BY 1, 2, 3""",
        first,
        last,
        center_id,
    )
    categories = (
        Category.RESOLVED_EARLY,
        Category.RESOLVED_ON_TIME,
        Category.RESOLVED_LATE,
        Category.WITHDRAWN,
    )
    return [
        SummaryRow(
            r[0],
            r[1],
            r[2] or None,
            tuple((c, n) for c, n in zip(categories, r[3:7], strict=True) if n),
            r[7],
        )
        for r in rows
    ]


async def cohort_adjusted(
    conn: asyncpg.Connection, q: ReportQuery, *, open_only: bool = False
) -> list[tuple[ClockRow, ClockFacts]]:
    """The cohort's dossiers still open at ``as_of`` whose clock was paused or extended:
    their state at ``as_of`` needs the facts known at that instant. ``open_only``: those
    still open now (see :func:`cohort_counts_by_day`)."""
    lo, hi = q.window
    await plan_for_the_values(conn)
    rows = await conn.fetch(
        f"""SELECT {CLOCK_COLUMNS} FROM clocks
            WHERE {_COHORT} AND adjusted AND NOT (closed_kind IS NOT NULL AND closed_at <= $3)
              {_OPEN if open_only else ""}""",
        lo,
        hi,
        q.as_of,
        q.center_id,
    )
    clocks = [clock_row(r) for r in rows]
    if not clocks:  # most of a report's parts: no round trip for no facts
        return []
    fact_rows = await conn.fetch(
        f"SELECT {FACT_COLUMNS} FROM clock_facts WHERE dossier_id = ANY($1::uuid[])",
        [c.dossier_id for c in clocks],
    )
    by_dossier: dict[uuid.UUID, list[Mapping[str, Any]]] = {}
    for f in fact_rows:
        by_dossier.setdefault(f["dossier_id"], []).append(f)
    out: list[tuple[ClockRow, ClockFacts]] = []
    for c in clocks:
        # The cohort is selected on received_at, so every clock in it has its receipt.
        assert c.received_at is not None
        assert c.limit is not None
        marks, extensions, closures = facts(by_dossier.get(c.dossier_id, []))
        out.append((c, ClockFacts(c.received_at, c.limit, marks, extensions, closures)))
    return out


# The cohort, on the clocks aliased ``c`` (joined with a table that has its own columns).
_COHORT_OF_C = """c.received_at >= $1 AND c.received_at < $2 AND c.received_at <= $3
                  AND ($4::text IS NULL OR c.center_id = $4)"""
# Each cohort dossier's supplement requests by ``as_of``. The facts are those of the cohort
# only: counted over the whole table, one center's month read every request of the
# province's history (a second or so at 5,000,000 dossiers, bench/province.py); joined to
# the cohort, a center's report reads its own dossiers' facts through clock_facts_dossier.
_REQUESTS = f"""SELECT f.dossier_id, count(*) AS requests
                FROM clock_facts f JOIN clocks c USING (dossier_id)
                WHERE f.kind = 'pause_start' AND f.channel = 'supplement'
                  AND f.occurred_at <= $3 AND {_COHORT_OF_C}
                GROUP BY f.dossier_id"""


async def supplement_counts(
    conn: asyncpg.Connection, q: ReportQuery
) -> list[tuple[str, str | None, int, int]]:
    """(procedure, line, supplement requests by ``as_of``, dossiers) over the cohort."""
    lo, hi = q.window
    await plan_for_the_values(conn)
    rows = await conn.fetch(
        f"""SELECT c.procedure_code, c.line_code, coalesce(f.requests, 0), count(*)
            FROM clocks c LEFT JOIN ({_REQUESTS}) f USING (dossier_id)
            WHERE {_COHORT_OF_C}
            GROUP BY 1, 2, 3""",
        lo,
        hi,
        q.as_of,
        q.center_id,
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


async def repeated_supplements(
    conn: asyncpg.Connection, q: ReportQuery, limit: int
) -> list[Flagged]:
    """The cohort's dossiers asked for supplements more than once, in order of receipt."""
    lo, hi = q.window
    await plan_for_the_values(conn)
    rows = await conn.fetch(
        f"""SELECT c.dossier_id, c.dossier_code, c.procedure_code, f.requests
            FROM clocks c JOIN ({_REQUESTS}) f USING (dossier_id)
            WHERE {_COHORT_OF_C}
              AND f.requests >= {REPEATED_FROM}
            ORDER BY c.received_at, c.dossier_code LIMIT {int(limit)}""",
        lo,
        hi,
        q.as_of,
        q.center_id,
    )
    return [Flagged(str(r[0]), r[1], r[2], r[3]) for r in rows]


async def fold_on_time_days(conn: asyncpg.Connection) -> int:
    """Fold the summary's pending changes into its rows (see migration 0009); how many of
    its rows changed, 0 while another transaction folds."""
    folded: int = await conn.fetchval("SELECT on_time_fold()")
    return folded
