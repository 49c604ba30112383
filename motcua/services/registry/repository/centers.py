"""Centers and their audit, in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from motcua.services.registry.domain import Revision
from motcua.services.registry.repository import versioned
from motcua.services.registry.repository.versioned import CENTERS


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


async def lock_center(
    conn: asyncpg.Connection, center_id: str, *, lock: bool = True
) -> StoredCenter | None:
    """The center, locked against concurrent changes (``None``: no such center yet)."""
    return await versioned.lock(conn, CENTERS, center_id, StoredCenter, lock=lock)


async def list_centers(conn: asyncpg.Connection) -> list[StoredCenter]:
    return await versioned.list_all(conn, CENTERS, StoredCenter)


async def save_center(conn: asyncpg.Connection, change: Revision) -> None:
    """Write the new revision; a concurrent creation of the same center is stale."""
    await versioned.save(
        conn, CENTERS, change.center_id, change.revision, change.before, change.after
    )


async def insert_audit(
    conn: asyncpg.Connection, change: Revision, *, actor: str, role: str, reason: str | None
) -> None:
    await versioned.insert_audit(
        conn,
        CENTERS,
        change.center_id,
        change.revision,
        change.before,
        change.after,
        actor=actor,
        role=role,
        reason=reason,
    )


async def audit_page(
    conn: asyncpg.Connection, center_id: str, *, before: int | None, limit: int
) -> list[AuditEntry]:
    """The center's changes, newest first, older than the entry ``before`` if given."""
    return await versioned.audit_page(
        conn, CENTERS, center_id, AuditEntry, before=before, limit=limit
    )
