"""The staff directories followed from notify's ``staff.configured`` (``staff.py``)."""

from __future__ import annotations

import asyncpg

from motcua.shared.events.catalog import StaffConfigured


async def store_if_newer(conn: asyncpg.Connection, center_id: str, m: StaffConfigured) -> bool:
    """Write the member unless a revision as new is stored; ``True`` if written."""
    written = await conn.fetchval(
        """
        INSERT INTO staff_members (center_id, staff_id, department, role, active, revision)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (center_id, staff_id) DO UPDATE
            SET department = EXCLUDED.department, role = EXCLUDED.role,
                active = EXCLUDED.active, revision = EXCLUDED.revision, applied_at = now()
            WHERE staff_members.revision < EXCLUDED.revision
        RETURNING revision
        """,
        center_id,
        m.staff_id,
        m.department,
        m.role,
        m.active,
        m.revision,
    )
    return written is not None


async def assignee_state(
    conn: asyncpg.Connection, center_id: str, staff_id: str
) -> tuple[bool, bool]:
    """(whether the center has a directory at all, whether ``staff_id`` is active in it)."""
    row = await conn.fetchrow(
        """
        SELECT EXISTS (SELECT 1 FROM staff_members WHERE center_id = $1) AS loaded,
               EXISTS (SELECT 1 FROM staff_members
                       WHERE center_id = $1 AND staff_id = $2 AND active) AS member
        """,
        center_id,
        staff_id,
    )
    assert row is not None
    return row["loaded"], row["member"]
