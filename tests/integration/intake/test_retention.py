"""Retention of intake's command keys and served tickets, on a database of their own
(the package's running app shares one, and a sweep there would see other tests' rows)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from motcua.services.intake.app import MIGRATIONS, create_app
from motcua.services.intake.repository import dossiers
from motcua.services.intake.retention import UnclaimedTickets, expire_commands
from motcua.services.intake.settings import IntakeSettings
from tests.support.retention import migrated

HORIZON = timedelta(days=30)
CENTER = "nam-cuong"


@pytest.fixture
async def pg(db: asyncpg.Connection) -> asyncpg.Connection:
    return await migrated(db, "intake", MIGRATIONS)


async def command(pg: asyncpg.Connection, age_days: float = 0) -> str:
    key = f"bus:{uuid.uuid4()}"
    async with pg.transaction():
        claimed = await dossiers.claim_command(
            pg, key, command_type="ReceiveDossier", center_id=CENTER, dossier_id=uuid.uuid4()
        )
        await pg.execute(
            "UPDATE processed_commands SET processed_at = now() - $2::interval "
            "WHERE command_key = $1",
            key,
            timedelta(days=age_days),
        )
    assert claimed
    return key


async def known_commands(pg: asyncpg.Connection, keys: list[str]) -> set[str]:
    rows = await pg.fetch(
        "SELECT command_key FROM processed_commands WHERE command_key = ANY($1)", keys
    )
    return {r["command_key"] for r in rows}


async def test_old_command_keys_go_recent_ones_stay_and_still_refuse_a_replay(
    pg: asyncpg.Connection,
) -> None:
    old = [await command(pg, age_days=40) for _ in range(5)]
    recent = [await command(pg, age_days=1) for _ in range(2)]

    assert await expire_commands(pg, HORIZON, 2) == 5

    assert await known_commands(pg, old + recent) == set(recent)
    async with pg.transaction():
        again = await dossiers.claim_command(
            pg, recent[0], command_type="ReceiveDossier", center_id=CENTER, dossier_id=None
        )
    assert not again  # the replayed command has no second effect


async def served(pg: asyncpg.Connection, age_days: float) -> uuid.UUID:
    ticket = uuid.uuid4()
    await dossiers.upsert_served_ticket(
        pg,
        dossiers.ServedTicket(
            ticket_id=ticket,
            center_id=CENTER,
            number="A001",
            line_code="TP",
            counter_id="3",
            dossier_id=None,
            completed_at=datetime.now(UTC) - timedelta(days=age_days),
            event_id=uuid.uuid4(),
        ),
    )
    return ticket


async def dossier_naming(pg: asyncpg.Connection, ticket: uuid.UUID) -> None:
    """A dossier received with this ticket (only the columns the table requires)."""
    now = datetime.now(UTC)
    await pg.execute(
        """
        INSERT INTO dossiers
            (id, code, center_id, procedure_code, procedure, channel, status,
             time_limit_amount, time_limit_unit, time_limit_rollover, received_at,
             appointment_at, secret_hash, secret_sealed, received_by, correlation_id,
             updated_at, ticket_id)
        VALUES ($1, $2, $3, 'BIRTH', $4, 'counter', 2, 1, 'working_days', false, $5, $5,
                '\\x00', 'sealed', 'clerk-1', $6, $5, $7)
        """,
        uuid.uuid4(),
        f"NC-{uuid.uuid4().hex[:10]}",
        CENTER,
        json.dumps({"code": "BIRTH"}),
        now,
        uuid.uuid4(),
        ticket,
    )


async def known_tickets(pg: asyncpg.Connection) -> set[uuid.UUID]:
    return {r["ticket_id"] for r in await pg.fetch("SELECT ticket_id FROM served_tickets")}


async def test_expired_tickets_no_dossier_names_go_in_bounded_steps(
    pg: asyncpg.Connection,
) -> None:
    unclaimed = [await served(pg, age_days=35 + i) for i in range(5)]
    claimed = await served(pg, age_days=50)
    await dossier_naming(pg, claimed)
    recent = await served(pg, age_days=2)
    sweep = UnclaimedTickets()

    seen, deleted = await sweep.step(pg, HORIZON, 2)
    assert (seen, deleted) == (2, 1)  # the two oldest: the claimed one stays
    assert unclaimed[-1] not in await known_tickets(pg)
    assert await sweep.expire(pg, HORIZON, 2) == 4

    assert await known_tickets(pg) == {claimed, recent}


async def test_the_walk_resumes_after_the_last_ticket_it_looked_at(
    pg: asyncpg.Connection,
) -> None:
    claimed = await served(pg, age_days=50)
    await dossier_naming(pg, claimed)
    sweep = UnclaimedTickets()
    assert await sweep.expire(pg, HORIZON, 10) == 0

    # The next sweep does not look at the kept ticket again, yet finds a newly expired one.
    assert await sweep.step(pg, HORIZON, 10) == (0, 0)
    newly_expired = await served(pg, age_days=31)
    assert await sweep.expire(pg, HORIZON, 10) == 1
    assert await known_tickets(pg) == {claimed}
    # A new process walks from the start once.
    assert await UnclaimedTickets().step(pg, HORIZON, 10) == (1, 0)
    assert newly_expired not in await known_tickets(pg)


def test_the_intake_service_registers_its_tables() -> None:
    runtime = create_app(IntakeSettings(log_format="console")).state.runtime
    assert set(runtime.retention.sweeps) == {
        "inbox",
        "outbox_journal",  # every service's, from the runtime
        "processed_commands",
        "served_tickets",
    }
