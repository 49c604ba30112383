"""Centers and their audit, in SQL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from motcua.services.registry.domain import Revision
from motcua.services.registry.errors import StaleRevision


@dataclass(frozen=True)
class StoredCenter:
    center_id: str
    revision: int
    document: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    """One change of a center: who (a token's subject and role, or file:<name>), when,
    why, and the whole document before (None for a new center) and after."""

    id: int
    center_id: str
    revision: int
    actor: str
    role: str
    at: datetime
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any]


def _center(row: asyncpg.Record) -> StoredCenter:
    return StoredCenter(row[0], row[1], json.loads(row[2]), row[3])


_CENTER = "SELECT center_id, revision, document::text, updated_at FROM centers"


async def lock_center(
    conn: asyncpg.Connection, center_id: str, *, lock: bool = True
) -> StoredCenter | None:
    """The center, locked against concurrent changes (``None``: no such center yet)."""
    row = await conn.fetchrow(
        f"{_CENTER} WHERE center_id = $1{' FOR UPDATE' if lock else ''}", center_id
    )
    return _center(row) if row else None


async def list_centers(conn: asyncpg.Connection) -> list[StoredCenter]:
    return [_center(r) for r in await conn.fetch(f"{_CENTER} ORDER BY center_id")]


async def save_center(conn: asyncpg.Connection, change: Revision) -> None:
    """Write the new revision; a concurrent creation of the same center is stale."""
    document = json.dumps(dict(change.after))
    if change.before is None:
        try:
            await conn.execute(
                """INSERT INTO centers (center_id, revision, document)
                   VALUES ($1, $2, $3::text::jsonb)""",
                change.center_id,
                change.revision,
                document,
            )
        except asyncpg.UniqueViolationError:
            raise StaleRevision(change.center_id, 0, 1) from None
        return
    await conn.execute(
        """UPDATE centers SET revision = $2, document = $3::text::jsonb, updated_at = now()
           WHERE center_id = $1""",
        change.center_id,
        change.revision,
        document,
    )


async def insert_audit(
    conn: asyncpg.Connection, change: Revision, *, actor: str, role: str, reason: str | None
) -> None:
    await conn.execute(
        """INSERT INTO audit (center_id, revision, actor, role, reason, before, after)
           VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7::text::jsonb)""",
        change.center_id,
        change.revision,
        actor,
        role,
        reason,
        None if change.before is None else json.dumps(dict(change.before)),
        json.dumps(dict(change.after)),
    )


async def audit_page(
    conn: asyncpg.Connection, center_id: str, *, before: int | None, limit: int
) -> list[AuditEntry]:
    """The center's changes, newest first, older than the entry ``before`` if given."""
    rows = await conn.fetch(
        """SELECT id, center_id, revision, actor, role, at, reason, before::text, after::text
           FROM audit WHERE center_id = $1 AND ($2::bigint IS NULL OR id < $2)
           ORDER BY id DESC LIMIT $3""",
        center_id,
        before,
        limit,
    )
    return [
        AuditEntry(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            json.loads(r[7]) if r[7] is not None else None,
            json.loads(r[8]),
        )
        for r in rows
    ]
