"""The citizens' ratings: one per dossier, and their counts for the satisfaction report."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import asyncpg

from motcua.services.deadlines.repository.reports import plan_for_the_values


async def save_rating(
    conn: asyncpg.Connection,
    dossier_id: uuid.UUID,
    center_id: str,
    rating: int,
    rated_on: date,
    rated_at: datetime,
) -> bool:
    """Keep a dossier's first rating; False when it already had one."""
    status: str = await conn.execute(
        """INSERT INTO ratings (dossier_id, center_id, rating, rated_on, rated_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (dossier_id) DO NOTHING""",
        dossier_id,
        center_id,
        rating,
        rated_on,
        rated_at,
    )
    return status.endswith(" 1")


async def rating_counts(
    conn: asyncpg.Connection, center_id: str | None, start: date, end: date
) -> list[tuple[str, str | None, date, int, int]]:
    """(center, procedure or None, month, score, count) of the ratings given in the period;
    the procedure is the dossier's clock's, None while its receipt is unknown."""
    await plan_for_the_values(conn)  # one center's or all: only the values tell
    rows = await conn.fetch(
        """SELECT r.center_id, c.procedure_code, date_trunc('month', r.rated_on)::date,
                  r.rating, count(*)
           FROM ratings r LEFT JOIN clocks c ON c.dossier_id = r.dossier_id
           WHERE r.rated_on BETWEEN $1 AND $2 AND ($3::text IS NULL OR r.center_id = $3)
           GROUP BY 1, 2, 3, 4""",
        start,
        end,
        center_id,
    )
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]
