"""The procedure catalog and its audit, in SQL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from motcua.services.registry.domain import ProcedureRevision
from motcua.services.registry.errors import StaleRevision


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


def _procedure(row: asyncpg.Record) -> StoredProcedure:
    return StoredProcedure(row[0], row[1], json.loads(row[2]), row[3])


_PROCEDURE = "SELECT code, revision, document::text, updated_at FROM procedures"


async def lock_procedure(
    conn: asyncpg.Connection, code: str, *, lock: bool = True
) -> StoredProcedure | None:
    """The procedure, locked against concurrent changes (``None``: not there yet)."""
    row = await conn.fetchrow(f"{_PROCEDURE} WHERE code = $1{' FOR UPDATE' if lock else ''}", code)
    return _procedure(row) if row else None


async def list_procedures(conn: asyncpg.Connection) -> list[StoredProcedure]:
    return [_procedure(r) for r in await conn.fetch(f"{_PROCEDURE} ORDER BY code")]


async def save_procedure(conn: asyncpg.Connection, change: ProcedureRevision) -> None:
    """Write the new revision; a concurrent creation of the same procedure is stale."""
    document = json.dumps(dict(change.after))
    if change.before is None:
        try:
            await conn.execute(
                """INSERT INTO procedures (code, revision, document)
                   VALUES ($1, $2, $3::text::jsonb)""",
                change.code,
                change.revision,
                document,
            )
        except asyncpg.UniqueViolationError:
            raise StaleRevision(change.code, 0, 1, "procedure") from None
        return
    await conn.execute(
        """UPDATE procedures SET revision = $2, document = $3::text::jsonb, updated_at = now()
           WHERE code = $1""",
        change.code,
        change.revision,
        document,
    )


async def insert_procedure_audit(
    conn: asyncpg.Connection,
    change: ProcedureRevision,
    *,
    actor: str,
    role: str,
    reason: str | None,
) -> None:
    await conn.execute(
        """INSERT INTO procedure_audit (code, revision, actor, role, reason, before, after)
           VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7::text::jsonb)""",
        change.code,
        change.revision,
        actor,
        role,
        reason,
        None if change.before is None else json.dumps(dict(change.before)),
        json.dumps(dict(change.after)),
    )


async def procedure_audit_page(
    conn: asyncpg.Connection, code: str, *, before: int | None, limit: int
) -> list[ProcedureAuditEntry]:
    """The procedure's changes, newest first, older than the entry ``before`` if given."""
    rows = await conn.fetch(
        """SELECT id, code, revision, actor, role, at, reason, before::text, after::text
           FROM procedure_audit WHERE code = $1 AND ($2::bigint IS NULL OR id < $2)
           ORDER BY id DESC LIMIT $3""",
        code,
        before,
        limit,
    )
    return [
        ProcedureAuditEntry(
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
