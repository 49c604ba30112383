"""The SQL that centers and procedures share: a table of current documents by key, each
with its revision, and an audit table of every change.

The table and column names come from the two :class:`Table` constants below, never
from input, so the statements stay as explicit as if written out twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg

from motcua.services.registry.errors import StaleRevision

T = TypeVar("T")


@dataclass(frozen=True)
class Table:
    name: str
    key: str
    audit: str
    kind: str  # as messages name it


CENTERS = Table("centers", "center_id", "audit", "center")
PROCEDURES = Table("procedures", "code", "procedure_audit", "procedure")


async def lock(
    conn: asyncpg.Connection, table: Table, key: str, make: Callable[..., T], *, lock: bool
) -> T | None:
    """The row of ``key``, locked against concurrent changes (``None``: not there yet)."""
    row = await conn.fetchrow(
        f"SELECT {table.key}, revision, document::text, updated_at FROM {table.name} "
        f"WHERE {table.key} = $1{' FOR UPDATE' if lock else ''}",
        key,
    )
    return make(row[0], row[1], json.loads(row[2]), row[3]) if row else None


async def list_all(conn: asyncpg.Connection, table: Table, make: Callable[..., T]) -> list[T]:
    rows = await conn.fetch(
        f"SELECT {table.key}, revision, document::text, updated_at FROM {table.name} "
        f"ORDER BY {table.key}"
    )
    return [make(r[0], r[1], json.loads(r[2]), r[3]) for r in rows]


async def save(
    conn: asyncpg.Connection,
    table: Table,
    key: str,
    revision: int,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
) -> None:
    """Write the new revision; a concurrent creation of the same key is stale."""
    document = json.dumps(dict(after))
    if before is None:
        try:
            await conn.execute(
                f"INSERT INTO {table.name} ({table.key}, revision, document) "
                "VALUES ($1, $2, $3::text::jsonb)",
                key,
                revision,
                document,
            )
        except asyncpg.UniqueViolationError:
            raise StaleRevision(key, 0, 1, table.kind) from None
        return
    await conn.execute(
        f"UPDATE {table.name} SET revision = $2, document = $3::text::jsonb, updated_at = now() "
        f"WHERE {table.key} = $1",
        key,
        revision,
        document,
    )


async def insert_audit(
    conn: asyncpg.Connection,
    table: Table,
    key: str,
    revision: int,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
    *,
    actor: str,
    role: str,
    reason: str | None,
) -> None:
    await conn.execute(
        f"INSERT INTO {table.audit} ({table.key}, revision, actor, role, reason, before, after) "
        "VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7::text::jsonb)",
        key,
        revision,
        actor,
        role,
        reason,
        None if before is None else json.dumps(dict(before)),
        json.dumps(dict(after)),
    )


async def audit_page(
    conn: asyncpg.Connection,
    table: Table,
    key: str,
    make: Callable[..., T],
    *,
    before: int | None,
    limit: int,
) -> list[T]:
    """The changes of ``key``, newest first, older than the entry ``before`` if given."""
    rows = await conn.fetch(
        f"SELECT id, {table.key}, revision, actor, role, at, reason, before::text, after::text "
        f"FROM {table.audit} WHERE {table.key} = $1 AND ($2::bigint IS NULL OR id < $2) "
        "ORDER BY id DESC LIMIT $3",
        key,
        before,
        limit,
    )
    return [
        make(
            *r[:7],
            json.loads(r[7]) if r[7] is not None else None,
            json.loads(r[8]),
        )
        for r in rows
    ]
