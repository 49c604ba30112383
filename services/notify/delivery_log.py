"""Read-only SQL of the delivery log: what the staff API and the dev inbox show."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

_PUBLIC_COLUMNS = """
    id, source_event_id, center_id, kind, channel, recipient_ref, language, title, body,
    segments, status, attempts, due_at, last_error, created_at, finished_at
"""


async def list_deliveries(
    conn: asyncpg.Connection,
    center_id: str,
    *,
    source_event_id: uuid.UUID | None = None,
    status: str | None = None,
    kind: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The delivery log of a center, newest first. Never includes an address."""
    rows = await conn.fetch(
        f"""
        SELECT {_PUBLIC_COLUMNS} FROM deliveries
        WHERE center_id = $1
          AND ($2::uuid IS NULL OR source_event_id = $2)
          AND ($3::text IS NULL OR status = $3)
          AND ($4::text IS NULL OR kind = $4)
        ORDER BY created_at DESC, id
        LIMIT $5
        """,
        center_id,
        source_event_id,
        status,
        kind,
        limit,
    )
    return [dict(r) for r in rows]


async def get_delivery(conn: asyncpg.Connection, delivery_id: uuid.UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        f"SELECT {_PUBLIC_COLUMNS} FROM deliveries WHERE id = $1", delivery_id
    )
    return dict(row) if row else None


async def attempts_of(conn: asyncpg.Connection, delivery_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """
        SELECT attempt, channel, outcome, error, segments, started_at, finished_at
        FROM delivery_attempts WHERE delivery_id = $1 ORDER BY id
        """,
        delivery_id,
    )
    return [dict(r) for r in rows]


async def inbox(conn: asyncpg.Connection, limit: int) -> list[dict[str, Any]]:
    """Every rendered message, newest first, with its recipient's address (dev inbox only)."""
    rows = await conn.fetch(
        """
        SELECT d.id, d.center_id, d.kind, d.channel, d.language, d.title, d.body,
               d.segments, d.status, d.attempts, d.created_at, d.finished_at, c.address
        FROM deliveries d
        LEFT JOIN contacts c ON c.subject_kind = d.subject_kind AND c.subject_id = d.subject_id
                            AND c.kind = d.contact_kind
        ORDER BY d.created_at DESC, d.id
        LIMIT $1
        """,
        limit,
    )
    return [dict(r) for r in rows]
