"""Personal data intake keeps: the applicant's name and contact erased a set time after
the dossier closed, counted; lookup hashes of before the pepper keyed in place, the
dossier still found. On a database of its own (a sweep of the package's shared one
would see other tests' rows)."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from motcua.services.intake.app import MIGRATIONS, create_app
from motcua.services.intake.catalog import load_statuses
from motcua.services.intake.domain import Step
from motcua.services.intake.personal_data import pepper_old_hashes
from motcua.services.intake.queries import Queries
from motcua.services.intake.settings import IntakeSettings
from motcua.shared.crypto import BUS, Keyring
from tests.support.retention import migrated, purged

CENTER = "nam-cuong"
STATUSES = load_statuses().statuses


@pytest.fixture
async def pg(db: asyncpg.Connection) -> asyncpg.Connection:
    return await migrated(db, "intake", MIGRATIONS)


async def dossier(
    pg: asyncpg.Connection,
    step: Step,
    changed_days_ago: float,
    *,
    secret_hash: bytes = b"\x00",
    name: str | None = "Nguyễn Thị Hoa",
) -> tuple[uuid.UUID, str]:
    """A dossier last changed (closed, for a closing step) that many days ago."""
    dossier_id, code = uuid.uuid4(), f"NC-{uuid.uuid4().hex[:10].upper()}"
    changed = datetime.now(UTC) - timedelta(days=changed_days_ago)
    await pg.execute(
        """
        INSERT INTO dossiers
            (id, code, center_id, procedure_code, procedure, channel, status,
             time_limit_amount, time_limit_unit, time_limit_rollover, received_at,
             appointment_at, secret_hash, secret_sealed, applicant_name, contact_kind,
             contact_sealed, received_by, correlation_id, updated_at)
        VALUES ($1, $2, $3, 'BIRTH', $4, 'counter', $5, 1, 'working_days', false, $6, $6,
                $7, 'sealed', $8, 'phone', 'k1.sealed-phone', 'clerk-1', $9, $6)
        """,
        dossier_id,
        code,
        CENTER,
        json.dumps({"code": "BIRTH"}),
        STATUSES.code(step),
        changed,
        secret_hash,
        name,
        uuid.uuid4(),
    )
    return dossier_id, code


def purged_count() -> float:
    return purged("intake", "applicant")


async def test_names_and_contacts_go_a_set_time_after_the_dossier_closed(
    pg: asyncpg.Connection,
) -> None:
    settings = IntakeSettings(purge_after_days=90, log_format="console")
    retention = create_app(settings).state.runtime.retention
    assert "applicant" in retention.purges
    expired = [
        await dossier(pg, Step.RESOLVED, 91),
        await dossier(pg, Step.RESULT_RETURNED, 200),
        await dossier(pg, Step.STOPPED, 95),  # withdrawn or stopped
    ]
    kept = [
        await dossier(pg, Step.RESOLVED, 80),  # closed, not long enough
        await dossier(pg, Step.PROCESSING, 300),  # open, however old
        await dossier(pg, Step.SUPPLEMENT_REQUESTED, 300),
    ]
    before = purged_count()

    swept = await retention.sweep_once(pg)

    assert swept is not None
    assert swept["applicant"] == 3
    assert purged_count() - before == 3
    rows = await pg.fetch("SELECT id, applicant_name, contact_sealed, status FROM dossiers")
    by_id = {r["id"]: r for r in rows}
    for dossier_id, _ in expired:
        assert by_id[dossier_id]["applicant_name"] is None
        assert by_id[dossier_id]["contact_sealed"] is None
    for dossier_id, _ in kept:
        assert by_id[dossier_id]["applicant_name"] == "Nguyễn Thị Hoa"
        assert by_id[dossier_id]["contact_sealed"] == "k1.sealed-phone"
    # The record stays: status and history are the center's statistics.
    assert len(rows) == 6
    # Nothing left to erase: the next sweep erases nothing.
    again = await retention.sweep_once(pg)
    assert again is not None
    assert again["applicant"] == 0


async def test_a_dossier_hashed_before_the_pepper_is_found_before_and_after_keying(
    pg: asyncpg.Connection,
) -> None:
    secret = "K7Q2M-9XD4T"
    legacy = hashlib.sha256(b"motcua-lookup-v1:K7Q2M9XD4T").digest()
    _, code = await dossier(pg, Step.PROCESSING, 1, secret_hash=legacy)
    pepper = b"pepper-" * 5
    queries = Queries(contact_keys=Keyring("k1", {"k1": "k"}, BUS), pepper=pepper)

    assert await queries.lookup(pg, code, secret) is not None  # during the transition
    assert await pepper_old_hashes(pg, pepper, batch=1) == 1
    stored = await pg.fetchval("SELECT secret_hash FROM dossiers WHERE code = $1", code)
    assert len(stored) == 33
    assert legacy not in stored  # the dump alone no longer cracks it
    assert await queries.lookup(pg, code, secret) is not None
    assert await queries.lookup(pg, code, "K7Q2M-9XD4A") is None
    assert await pepper_old_hashes(pg, pepper) == 0  # done once
    # Another pepper finds nothing: the hash is keyed.
    other = Queries(contact_keys=Keyring("k1", {"k1": "k"}, BUS), pepper=b"x" * 32)
    assert await other.lookup(pg, code, secret) is None
