"""The procedure catalog and its audit, in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from motcua.services.registry.domain import ProcedureRevision
from motcua.services.registry.repository import versioned
from motcua.services.registry.repository.versioned import PROCEDURES


@dataclass(frozen=True)
class StoredProcedure:
    code: str
    revision: int
    document: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True)
class ProcedureAuditEntry:
    """One change of a procedure: who (a token's subject and role, or file:<name>), when,
    why, and the whole procedure before (None for a new one) and after."""

    id: int
    code: str
    revision: int
    actor: str
    role: str
    at: datetime
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any]


async def lock_procedure(
    conn: asyncpg.Connection, code: str, *, lock: bool = True
) -> StoredProcedure | None:
    """The procedure, locked against concurrent changes (``None``: not there yet)."""
    return await versioned.lock(conn, PROCEDURES, code, StoredProcedure, lock=lock)


async def list_procedures(conn: asyncpg.Connection) -> list[StoredProcedure]:
    return await versioned.list_all(conn, PROCEDURES, StoredProcedure)


async def save_procedure(conn: asyncpg.Connection, change: ProcedureRevision) -> None:
    """Write the new revision; a concurrent creation of the same procedure is stale."""
    await versioned.save(
        conn, PROCEDURES, change.code, change.revision, change.before, change.after
    )


async def insert_procedure_audit(
    conn: asyncpg.Connection,
    change: ProcedureRevision,
    *,
    actor: str,
    role: str,
    reason: str | None,
) -> None:
    await versioned.insert_audit(
        conn,
        PROCEDURES,
        change.code,
        change.revision,
        change.before,
        change.after,
        actor=actor,
        role=role,
        reason=reason,
    )


async def procedure_audit_page(
    conn: asyncpg.Connection, code: str, *, before: int | None, limit: int
) -> list[ProcedureAuditEntry]:
    """The procedure's changes, newest first, older than the entry ``before`` if given."""
    return await versioned.audit_page(
        conn, PROCEDURES, code, ProcedureAuditEntry, before=before, limit=limit
    )
