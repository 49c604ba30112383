"""Documents go with the dossier's personal data, after the legal keeping period: the
attachments of closed dossiers past it, then every blob no dossier names. Content a
kept dossier still holds stays, and the signed result records (no personal data) stay."""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from motcua.services.intake.app import MIGRATIONS, create_app
from motcua.services.intake.domain import Step
from motcua.services.intake.settings import IntakeSettings
from tests.integration.intake.test_personal_data import dossier
from tests.support.retention import migrated, purged


@pytest.fixture
async def pg(db: asyncpg.Connection) -> asyncpg.Connection:
    return await migrated(db, "intake", MIGRATIONS)


async def blob(pg: asyncpg.Connection, *, stored_hours_ago: float = 2) -> bytes:
    """A stored blob of two chunk rows; its hash."""
    data = b"%PDF-" + os.urandom(1000)
    sha, location = hashlib.sha256(data).digest(), uuid.uuid4()
    await pg.execute(
        "INSERT INTO document_blobs (sha256, size, media_type, backend, location, stored_at) "
        "VALUES ($1, $2, 'application/pdf', 'postgres', $3, $4)",
        sha,
        len(data),
        str(location),
        datetime.now(UTC) - timedelta(hours=stored_hours_ago),
    )
    await pg.executemany(
        "INSERT INTO document_chunks (location, seq, data) VALUES ($1, $2, $3)",
        [(location, 0, data[:500]), (location, 1, data[500:])],
    )
    return sha


async def attach(pg: asyncpg.Connection, dossier_id: uuid.UUID, sha: bytes) -> None:
    await pg.execute(
        "INSERT INTO dossier_documents (dossier_id, kind, component, sha256, size, media_type, "
        "file_name, attached_by, digitised, attached_at) "
        "VALUES ($1, 'component', 1, $2, 1005, 'application/pdf', 'a.pdf', 'clerk-1', true, "
        "now())",
        dossier_id,
        sha,
    )


async def test_documents_go_with_the_dossier_after_the_keeping_period(
    pg: asyncpg.Connection,
) -> None:
    retention = create_app(IntakeSettings(purge_after_days=90, log_format="console")).state
    sweeps = retention.runtime.retention
    assert "documents" in sweeps.purges
    expired, _ = await dossier(pg, Step.RESOLVED, 91)
    kept, _ = await dossier(pg, Step.PROCESSING, 300)  # open, however old
    only_expired, shared, only_kept = await blob(pg), await blob(pg), await blob(pg)
    for sha in (only_expired, shared):
        await attach(pg, expired, sha)
    for sha in (shared, only_kept):
        await attach(pg, kept, sha)
    unattached_old = await blob(pg)  # an upload whose attach never happened
    in_flight = await blob(pg, stored_hours_ago=0)  # being attached right now
    await pg.execute(
        "INSERT INTO result_records (id, dossier_id, center_id, dossier_code, issued_on, "
        "result_sha256, key_id, record, signature) "
        "VALUES ($1, $2, 'nam-cuong', 'NC-1', '2026-01-02', $3, 'k', '\\x00', $4)",
        uuid.uuid4(),
        expired,
        only_expired,
        b"\x01" * 64,
    )
    before = purged("intake", "documents")

    swept = await sweeps.sweep_once(pg)

    assert swept is not None
    assert swept["documents"] == 2
    assert purged("intake", "documents") - before == 2
    left = {r["sha256"] for r in await pg.fetch("SELECT sha256 FROM document_blobs")}
    assert left == {shared, only_kept, in_flight}
    assert not await pg.fetchval(
        "SELECT count(*) FROM dossier_documents WHERE dossier_id = $1", expired
    )
    assert await pg.fetchval("SELECT count(*) FROM dossier_documents WHERE dossier_id = $1", kept)
    chunks = await pg.fetchval("SELECT count(*) FROM document_chunks")
    assert chunks == 2 * len(left)  # the purged blobs' rows went with them
    assert await pg.fetchval("SELECT count(*) FROM result_records") == 1
    assert unattached_old not in left
    again = await sweeps.sweep_once(pg)
    assert again is not None
    assert again["documents"] == 0
