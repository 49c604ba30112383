"""Explicit SQL of the messages held for their dossier's receipt.

A message about a dossier consumed before that dossier's ``dossier.received`` is
kept here, with its context and source event, until the receipt releases it (in
the receipt's transaction) or it expires. No contact is kept with it.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

# Two-key advisory locks live apart from the one-key ones (the migrations' lock).
_DOSSIER_LOCK = 0x6E6F7469  # "noti"


def _lock_key(dossier_id: uuid.UUID) -> int:
    """A dossier's second lock key: a signed 32-bit hash (a collision only serialises)."""
    return zlib.crc32(dossier_id.bytes) - (1 << 31)


async def lock_dossiers(conn: asyncpg.Connection, dossier_ids: Iterable[uuid.UUID]) -> None:
    """Lock these dossiers until the transaction ends.

    A message is held after finding no receipt; a receipt releases what it finds
    held. Without this lock, taken by both, each could miss the other's uncommitted
    write and the message would stay held though its receipt is recorded. Keys are
    taken in order; a deadlock between replicas is retried by the consumer.
    """
    keys = sorted({_lock_key(d) for d in dossier_ids})
    await conn.execute(
        "SELECT pg_advisory_xact_lock($1, k) FROM unnest($2::int[]) AS k",
        _DOSSIER_LOCK,
        keys,
    )


async def unreceived(
    conn: asyncpg.Connection, dossier_ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """The dossiers among these whose ``dossier.received`` notify has not recorded."""
    rows = await conn.fetch(
        """
        SELECT d FROM unnest($1::uuid[]) AS d
        WHERE NOT EXISTS (SELECT 1 FROM dossiers WHERE dossier_id = d)
        """,
        list(dossier_ids),
    )
    return {r["d"] for r in rows}


@dataclass(frozen=True)
class HeldMessage:
    event_id: uuid.UUID
    kind: str
    dossier_id: uuid.UUID
    center_id: str
    context: dict[str, Any]
    payload: bytes  # the source event
    held_at: datetime
    expires_at: datetime


async def hold(conn: asyncpg.Connection, held: Sequence[HeldMessage]) -> None:
    """Keep messages until their dossier's receipt; a message held already stays as is."""
    await conn.executemany(
        """
        INSERT INTO held_messages
            (event_id, kind, dossier_id, center_id, context, payload, held_at, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (event_id, kind) DO NOTHING
        """,
        [
            (
                h.event_id,
                h.kind,
                h.dossier_id,
                h.center_id,
                h.context,
                h.payload,
                h.held_at,
                h.expires_at,
            )
            for h in held
        ],
    )


_HELD_COLUMNS = "event_id, kind, dossier_id, center_id, context, payload, held_at, expires_at"


def _held(r: asyncpg.Record) -> HeldMessage:
    return HeldMessage(
        r["event_id"],
        r["kind"],
        r["dossier_id"],
        r["center_id"],
        r["context"],
        r["payload"],
        r["held_at"],
        r["expires_at"],
    )


async def release_held(
    conn: asyncpg.Connection, dossier_ids: Collection[uuid.UUID]
) -> list[HeldMessage]:
    """Take out the messages held for these dossiers, oldest first."""
    rows = await conn.fetch(
        f"""
        DELETE FROM held_messages WHERE dossier_id = ANY($1::uuid[])
        RETURNING {_HELD_COLUMNS}
        """,
        list(dossier_ids),
    )
    return sorted(map(_held, rows), key=lambda h: h.held_at)


async def drop_expired_held(
    conn: asyncpg.Connection, now: datetime, limit: int
) -> list[HeldMessage]:
    """Delete up to ``limit`` held messages expired at ``now`` (none a receipt is taking)."""
    rows = await conn.fetch(
        f"""
        DELETE FROM held_messages WHERE (event_id, kind) IN (
            SELECT event_id, kind FROM held_messages WHERE expires_at <= $1
            ORDER BY expires_at LIMIT $2
            FOR UPDATE SKIP LOCKED
        )
        RETURNING {_HELD_COLUMNS}
        """,
        now,
        limit,
    )
    return list(map(_held, rows))


async def count_held(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM held_messages"))
