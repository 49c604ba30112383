"""The staff directory, its audit, each center's escalation ladder and each dossier's
assignee. Contacts are not here: they are sealed in ``contacts`` (``citizens``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from motcua.services.notify import ladder
from motcua.services.notify.errors import Conflict, NotFound

_STAFF_NS = uuid.UUID("5d6f2b1e-8f3a-4c7d-9a61-2f0c4e7b9d23")


def subject_of(center_id: str, staff_id: str) -> uuid.UUID:
    """The subject id of a member's contacts: stable, one per center and staff id."""
    return uuid.uuid5(_STAFF_NS, f"{center_id}/{staff_id}")


@dataclass(frozen=True)
class StaffRow:
    id: uuid.UUID
    center_id: str
    staff_id: str
    display_name: str
    department: str | None
    role: str
    active: bool
    revision: int
    updated_at: datetime

    def public(self) -> dict[str, Any]:
        """What the audit keeps of the member (no contact)."""
        return {
            "display_name": self.display_name,
            "department": self.department,
            "role": self.role,
            "active": self.active,
            "revision": self.revision,
        }


_COLUMNS = "id, center_id, staff_id, display_name, department, role, active, revision, updated_at"


def _row(r: asyncpg.Record) -> StaffRow:
    return StaffRow(**dict(r))


async def insert_staff(
    conn: asyncpg.Connection,
    center_id: str,
    staff_id: str,
    display_name: str,
    department: str | None,
    role: str,
) -> StaffRow:
    try:
        r = await conn.fetchrow(
            f"""
            INSERT INTO staff (id, center_id, staff_id, display_name, department, role)
            VALUES ($1, $2, $3, $4, $5, $6)
            RETURNING {_COLUMNS}
            """,
            subject_of(center_id, staff_id),
            center_id,
            staff_id,
            display_name,
            department,
            role,
        )
    except asyncpg.UniqueViolationError:
        raise Conflict(
            f"staff_id {staff_id!r} is already in the directory of {center_id}"
        ) from None
    assert r is not None
    return _row(r)


async def find_staff(
    conn: asyncpg.Connection, center_id: str, staff_id: str, *, lock: bool = False
) -> StaffRow:
    """A member of the center's directory (locked for a change if ``lock``), or NotFound."""
    r = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM staff WHERE center_id = $1 AND staff_id = $2"
        + (" FOR UPDATE" if lock else ""),
        center_id,
        staff_id,
    )
    if r is None:
        raise NotFound(f"no staff member {staff_id!r} in {center_id}")
    return _row(r)


async def update_staff(
    conn: asyncpg.Connection,
    row: StaffRow,
    *,
    display_name: str,
    department: str | None,
    role: str,
    active: bool,
) -> StaffRow:
    r = await conn.fetchrow(
        f"""
        UPDATE staff SET display_name = $2, department = $3, role = $4, active = $5,
                         revision = revision + 1, updated_at = now()
        WHERE id = $1
        RETURNING {_COLUMNS}
        """,
        row.id,
        display_name,
        department,
        role,
        active,
    )
    assert r is not None  # locked by the caller
    return _row(r)


async def list_staff(
    conn: asyncpg.Connection, center_id: str, *, active_only: bool = False
) -> list[StaffRow]:
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM staff
        WHERE center_id = $1 AND (active OR NOT $2)
        ORDER BY staff_id
        """,
        center_id,
        active_only,
    )
    return [_row(r) for r in rows]


async def contact_kinds(conn: asyncpg.Connection, subject_id: uuid.UUID) -> list[str]:
    """The kinds of contact a member has (never the addresses)."""
    rows = await conn.fetch(
        "SELECT kind FROM contacts WHERE subject_kind = 'staff' AND subject_id = $1 ORDER BY kind",
        subject_id,
    )
    return [r["kind"] for r in rows]


async def drop_contacts(
    conn: asyncpg.Connection, subject_id: uuid.UUID, keep: Sequence[str]
) -> None:
    """Forget the member's contacts of the kinds no longer given."""
    await conn.execute(
        """
        DELETE FROM contacts
        WHERE subject_kind = 'staff' AND subject_id = $1 AND NOT (kind = ANY($2::text[]))
        """,
        subject_id,
        list(keep),
    )


async def audit(
    conn: asyncpg.Connection,
    center_id: str,
    subject: str,
    action: str,
    actor: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> None:
    await conn.execute(
        """
        INSERT INTO staff_audit (center_id, subject, action, actor, before, after)
        VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)
        """,
        center_id,
        subject,
        action,
        actor,
        None if before is None else dict(before),
        None if after is None else dict(after),
    )


async def audit_trail(conn: asyncpg.Connection, center_id: str, limit: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """
        SELECT subject, action, actor, at, before, after FROM staff_audit
        WHERE center_id = $1 ORDER BY id DESC LIMIT $2
        """,
        center_id,
        limit,
    )
    return [dict(r) for r in rows]


# ------------------------------------------------------------------ the ladder


async def get_ladder(
    conn: asyncpg.Connection, center_id: str
) -> tuple[dict[ladder.Stage, tuple[ladder.Rung, ...]], int]:
    """The center's ladder and still-open hours: the defaults for what its admin left
    unset (a stored ladder was checked when it was set)."""
    row = await conn.fetchrow(
        "SELECT ladder, still_open_hours FROM escalation_ladders WHERE center_id = $1", center_id
    )
    if row is None:
        return ladder.valid_ladder({}), ladder.DEFAULT_STILL_OPEN_HOURS
    return ladder.valid_ladder(row["ladder"]), row["still_open_hours"]  # jsonb decoded


async def set_ladder(
    conn: asyncpg.Connection,
    center_id: str,
    ladder: Mapping[str, Sequence[str]],
    still_open_hours: int,
) -> None:
    await conn.execute(
        """
        INSERT INTO escalation_ladders (center_id, ladder, still_open_hours)
        VALUES ($1, $2::jsonb, $3)
        ON CONFLICT (center_id) DO UPDATE
            SET ladder = EXCLUDED.ladder, still_open_hours = EXCLUDED.still_open_hours,
                updated_at = now()
        """,
        center_id,
        {k: list(v) for k, v in ladder.items()},
        still_open_hours,
    )


# ------------------------------------------------------------- overdue watches


async def watch_overdue(
    conn: asyncpg.Connection, watches: Sequence[tuple[uuid.UUID, str, bytes, datetime]]
) -> None:
    """Watch overdue dossiers (id, center, the overdue event, when to tell the leader);
    the first overdue of a dossier stands. One already closed is not watched: its
    closing travels on another topic, so it may have been consumed first."""
    await conn.executemany(
        """
        INSERT INTO overdue_watches (dossier_id, center_id, event, due_at)
        SELECT $1, $2, $3, $4
        WHERE NOT EXISTS (
            SELECT 1 FROM dossiers WHERE dossier_id = $1 AND closed_at IS NOT NULL)
        ON CONFLICT (dossier_id) DO NOTHING
        """,
        watches,
    )


async def unwatch(conn: asyncpg.Connection, dossier_ids: Sequence[uuid.UUID]) -> None:
    """Closed dossiers: no leader needs to hear of them again."""
    await conn.execute(
        "DELETE FROM overdue_watches WHERE dossier_id = ANY($1::uuid[])", list(dossier_ids)
    )


async def take_due_watches(
    conn: asyncpg.Connection, now: datetime, limit: int
) -> list[tuple[str, bytes]]:
    """Remove and return (center, overdue event) of the watches due by ``now``; in the
    caller's transaction, with the messages they call for."""
    rows = await conn.fetch(
        """
        DELETE FROM overdue_watches WHERE dossier_id = ANY (ARRAY(
            SELECT dossier_id FROM overdue_watches WHERE due_at <= $1
            ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED))
        RETURNING center_id, event
        """,
        now,
        limit,
    )
    return [(r["center_id"], bytes(r["event"])) for r in rows]


# ----------------------------------------------------------- dossiers' assignees


async def save_assignee(
    conn: asyncpg.Connection,
    dossier_id: uuid.UUID,
    center_id: str,
    assignee: str,
    department: str | None,
    at: datetime,
) -> None:
    """The latest assignment wins; an older one consumed late changes nothing."""
    await conn.execute(
        """
        INSERT INTO dossier_assignees (dossier_id, center_id, assignee, department, assigned_at)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (dossier_id) DO UPDATE
            SET assignee = EXCLUDED.assignee, department = EXCLUDED.department,
                assigned_at = EXCLUDED.assigned_at
            WHERE dossier_assignees.assigned_at <= EXCLUDED.assigned_at
        """,
        dossier_id,
        center_id,
        assignee,
        department,
        at,
    )


async def assignees_of(
    conn: asyncpg.Connection, dossier_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str | None]]:
    rows = await conn.fetch(
        "SELECT dossier_id, assignee, department FROM dossier_assignees "
        "WHERE dossier_id = ANY($1::uuid[])",
        list(dossier_ids),
    )
    return {r["dossier_id"]: (r["assignee"], r["department"]) for r in rows}
