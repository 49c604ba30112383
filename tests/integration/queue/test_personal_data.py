"""The queue's personal data: a finished ticket's contact and priority reason erased a
set time after it finished, counted; the ticket stays. On a database of its own."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from motcua.services.queue.app import MIGRATIONS, create_app
from motcua.services.queue.settings import QueueSettings
from tests.support.retention import migrated
from tests.support.retention import purged as purged_rows


@pytest.fixture
async def pg(db: asyncpg.Connection) -> asyncpg.Connection:
    return await migrated(db, "queue", MIGRATIONS)


async def ticket(pg: asyncpg.Connection, status: str, changed_days_ago: float) -> uuid.UUID:
    ticket_id = uuid.uuid4()
    at = datetime.now(UTC) - timedelta(days=changed_days_ago)
    await pg.execute(
        """
        INSERT INTO tickets
            (ticket_id, center_id, local_day, issued_line_code, line_code, seq, number,
             lookup_code, priority_reason, status, issued_at, order_at, queued_at, contact,
             updated_at)
        VALUES ($1, 'c-1', $2, 'A', 'A', $3, 'A001', $4, 'pregnancy', $5, $6, $6, $6, $7, $6)
        """,
        ticket_id,
        at.date(),
        uuid.uuid4().int % 10**9,
        uuid.uuid4().hex,
        status,
        at,
        json.dumps({"kind": "phone", "sealed": "x", "key_id": "k1", "language": "vi"}),
    )
    return ticket_id


def purged() -> float:
    return purged_rows("queue", "ticket_details")


async def test_a_finished_tickets_contact_and_reason_go_after_the_horizon(
    pg: asyncpg.Connection,
) -> None:
    retention = create_app(QueueSettings(purge_after_days=7)).state.runtime.retention
    expired = [await ticket(pg, s, 8) for s in ("served", "no_show", "cancelled")]
    kept = [await ticket(pg, "served", 6), await ticket(pg, "waiting", 30)]
    before = purged()

    swept = await retention.sweep_once(pg)

    assert swept is not None
    assert swept["ticket_details"] == 3
    assert purged() - before == 3
    rows = {
        r["ticket_id"]: r
        for r in await pg.fetch("SELECT ticket_id, contact, priority_reason FROM tickets")
    }
    assert len(rows) == 5  # the tickets stay, for the statistics
    for t in expired:
        assert (rows[t]["contact"], rows[t]["priority_reason"]) == (None, None)
    for t in kept:
        assert rows[t]["contact"] is not None
        assert rows[t]["priority_reason"] == "pregnancy"


async def booking(pg: asyncpg.Connection, status: str, changed_days_ago: float) -> uuid.UUID:
    appointment_id = uuid.uuid4()
    at = datetime.now(UTC) - timedelta(days=changed_days_ago)
    await pg.execute(
        """
        INSERT INTO appointments
            (appointment_id, center_id, line_code, local_day, slot_start, slot_end, code,
             status, booked_at, contact, updated_at)
        VALUES ($1, 'c-1', 'A', $2, $3, $3, $4, $5, $3, $6, $3)
        """,
        appointment_id,
        at.date(),
        at,
        uuid.uuid4().hex[:8],
        status,
        json.dumps({"kind": "phone", "sealed": "x", "key_id": "k1", "language": "vi"}),
    )
    return appointment_id


async def test_an_ended_bookings_contact_goes_after_the_horizon(pg: asyncpg.Connection) -> None:
    retention = create_app(QueueSettings(purge_after_days=7)).state.runtime.retention
    expired = [await booking(pg, s, 8) for s in ("checked_in", "no_show", "cancelled")]
    kept = [await booking(pg, "checked_in", 6), await booking(pg, "booked", 30)]

    swept = await retention.sweep_once(pg)

    assert swept is not None
    assert swept["booking_details"] == 3
    rows = {
        r["appointment_id"]: r["contact"]
        for r in await pg.fetch("SELECT appointment_id, contact FROM appointments")
    }
    assert len(rows) == 5  # the bookings stay, for the statistics
    assert all(rows[a] is None for a in expired)
    assert all(rows[a] is not None for a in kept)
