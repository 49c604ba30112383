"""The on-time statistics' SQL: the cohort of a report, counted where the stored columns
suffice, and fetched with its facts where the state at the report's instant needs them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

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

_COHORT = """received_at >= $1 AND received_at < $2 AND received_at <= $3
             AND ($4::text IS NULL OR center_id = $4)"""


async def cohort_counts(
    conn: asyncpg.Connection, q: ReportQuery
) -> list[tuple[str, str | None, Category, int]]:
    """Counts per (procedure, line, category) for every dossier of the cohort whose state
    at ``as_of`` follows from the stored columns alone: closed by then, or never paused nor
    extended (then ``due_at`` is the receipt's). The rest come from :func:`cohort_adjusted`."""
    lo, hi = q.window
    rows = await conn.fetch(
        f"""SELECT procedure_code, line_code, category, count(*) FROM (
                SELECT procedure_code, line_code,
                    CASE
                        WHEN closed_kind IS NOT NULL AND closed_at <= $3 THEN
                            CASE WHEN closed_kind = 'resolved' THEN 'resolved_' || outcome
                                 ELSE 'withdrawn' END
                        WHEN NOT adjusted THEN
                            CASE WHEN $3 > due_at THEN 'in_progress_overdue'
                                 ELSE 'in_progress_within' END
                    END AS category
                FROM clocks WHERE {_COHORT}) AS cohort
            WHERE category IS NOT NULL
            GROUP BY 1, 2, 3""",
        lo,
        hi,
        q.as_of,
        q.center_id,
    )
    return [(r[0], r[1], Category(r[2]), r[3]) for r in rows]


async def cohort_adjusted(
    conn: asyncpg.Connection, q: ReportQuery
) -> list[tuple[ClockRow, ClockFacts]]:
    """The cohort's dossiers still open at ``as_of`` whose clock was paused or extended:
    their state at ``as_of`` needs the facts known at that instant."""
    lo, hi = q.window
    rows = await conn.fetch(
        f"""SELECT {CLOCK_COLUMNS} FROM clocks
            WHERE {_COHORT} AND adjusted AND NOT (closed_kind IS NOT NULL AND closed_at <= $3)""",
        lo,
        hi,
        q.as_of,
        q.center_id,
    )
    clocks = [clock_row(r) for r in rows]
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
