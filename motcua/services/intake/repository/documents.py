"""Explicit SQL of stored documents: what a dossier holds, and signed result records."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

import asyncpg

Kind = Literal["component", "result"]


@dataclass(frozen=True)
class Attached:
    dossier_id: uuid.UUID
    kind: Kind
    component: int
    sha256: bytes
    size: int
    media_type: str
    file_name: str
    attached_by: str
    digitised: bool
    attached_at: datetime
    reused_from: uuid.UUID | None = None  # the earlier dossier of a component reused


@dataclass(frozen=True)
class ResultRecord:
    id: uuid.UUID
    dossier_id: uuid.UUID
    center_id: str
    dossier_code: str
    issued_on: date
    result_sha256: bytes
    key_id: str
    record: bytes
    signature: bytes


async def attach(conn: asyncpg.Connection, a: Attached) -> bool:
    """Record ``a``; False when the dossier already holds this content for this
    component (the same file twice is recorded once)."""
    done = await conn.fetchval(
        """
        INSERT INTO dossier_documents (dossier_id, kind, component, sha256, size, media_type,
            file_name, attached_by, digitised, attached_at, reused_from)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
        ON CONFLICT DO NOTHING RETURNING true
        """,
        a.dossier_id,
        a.kind,
        a.component,
        a.sha256,
        a.size,
        a.media_type,
        a.file_name,
        a.attached_by,
        a.digitised,
        a.attached_at,
        a.reused_from,
    )
    return bool(done)


async def bytes_held(conn: asyncpg.Connection, dossier_id: uuid.UUID) -> int:
    """The bytes of documents a dossier holds, each content counted once."""
    total: int = await conn.fetchval(
        "SELECT COALESCE(sum(size), 0) FROM "
        "(SELECT DISTINCT sha256, size FROM dossier_documents WHERE dossier_id = $1) d",
        dossier_id,
    )
    return total


async def list_for(conn: asyncpg.Connection, dossier_id: uuid.UUID) -> list[Attached]:
    rows = await conn.fetch(
        "SELECT * FROM dossier_documents WHERE dossier_id = $1 "
        "ORDER BY kind, component, attached_at",
        dossier_id,
    )
    return [Attached(**dict(r)) for r in rows]


async def find(conn: asyncpg.Connection, dossier_id: uuid.UUID, sha256: bytes) -> Attached | None:
    row = await conn.fetchrow(
        "SELECT * FROM dossier_documents WHERE dossier_id = $1 AND sha256 = $2 LIMIT 1",
        dossier_id,
        sha256,
    )
    return Attached(**dict(row)) if row else None


async def insert_result_record(conn: asyncpg.Connection, r: ResultRecord) -> None:
    await conn.execute(
        """
        INSERT INTO result_records (id, dossier_id, center_id, dossier_code, issued_on,
            result_sha256, key_id, record, signature)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        """,
        r.id,
        r.dossier_id,
        r.center_id,
        r.dossier_code,
        r.issued_on,
        r.result_sha256,
        r.key_id,
        r.record,
        r.signature,
    )


_RECORD_COLUMNS = (
    "id, dossier_id, center_id, dossier_code, issued_on, result_sha256, key_id, record, signature"
)


async def result_record(conn: asyncpg.Connection, record_id: uuid.UUID) -> ResultRecord | None:
    row = await conn.fetchrow(
        f"SELECT {_RECORD_COLUMNS} FROM result_records WHERE id = $1", record_id
    )
    return ResultRecord(**dict(row)) if row else None


async def records_of_hash(conn: asyncpg.Connection, sha256: bytes) -> list[ResultRecord]:
    rows = await conn.fetch(
        f"SELECT {_RECORD_COLUMNS} FROM result_records WHERE result_sha256 = $1 ORDER BY signed_at",
        sha256,
    )
    return [ResultRecord(**dict(r)) for r in rows]


async def records_of_dossier(conn: asyncpg.Connection, dossier_id: uuid.UUID) -> list[ResultRecord]:
    rows = await conn.fetch(
        f"SELECT {_RECORD_COLUMNS} FROM result_records WHERE dossier_id = $1 ORDER BY signed_at",
        dossier_id,
    )
    return [ResultRecord(**dict(r)) for r in rows]


@dataclass(frozen=True)
class Digitisation:
    """A center's documents over a period, for the national scorecard."""

    dossiers_with_files: int
    components_stored: int
    components_digitised: int
    results_stored: int
    components_reused: int  # attached by reference to an earlier dossier's file


async def digitisation(
    conn: asyncpg.Connection, center_id: str, since: datetime, until: datetime
) -> Digitisation:
    row = await conn.fetchrow(
        """
        SELECT count(DISTINCT x.dossier_id) AS dossiers_with_files,
               count(*) FILTER (WHERE x.kind = 'component') AS components_stored,
               count(*) FILTER (WHERE x.kind = 'component' AND x.digitised)
                   AS components_digitised,
               count(*) FILTER (WHERE x.kind = 'result') AS results_stored,
               count(*) FILTER (WHERE x.kind = 'component' AND x.reused_from IS NOT NULL)
                   AS components_reused
        FROM dossier_documents x JOIN dossiers d ON d.id = x.dossier_id
        WHERE d.center_id = $1 AND x.attached_at >= $2 AND x.attached_at < $3
        """,
        center_id,
        since,
        until,
    )
    return Digitisation(**dict(row))
