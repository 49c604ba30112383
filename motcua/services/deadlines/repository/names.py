"""Procedure names as the receipts carry them: the pages name a procedure, not its code."""

from __future__ import annotations

import asyncpg

Name = tuple[str, str | None]
"""(Vietnamese, English or None)."""


async def save_procedure_name(
    conn: asyncpg.Connection, center_id: str, procedure_code: str, vi: str, en: str | None
) -> None:
    """Keep the latest name of a procedure at a center; no write when it is unchanged."""
    await conn.execute(
        """INSERT INTO procedure_names AS p (center_id, procedure_code, name_vi, name_en)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (center_id, procedure_code) DO UPDATE
               SET name_vi = EXCLUDED.name_vi, name_en = EXCLUDED.name_en
           WHERE (p.name_vi, p.name_en) IS DISTINCT FROM (EXCLUDED.name_vi, EXCLUDED.name_en)""",
        center_id,
        procedure_code,
        vi,
        en,
    )


async def procedure_names(conn: asyncpg.Connection, center_id: str | None) -> dict[str, Name]:
    """Each procedure's name at a center (or at any, with None), by code."""
    rows = await conn.fetch(
        """SELECT procedure_code, name_vi, name_en FROM procedure_names
           WHERE $1::text IS NULL OR center_id = $1""",
        center_id,
    )
    return {r[0]: (r[1], r[2]) for r in rows}
