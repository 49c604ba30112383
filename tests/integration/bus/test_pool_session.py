"""The pool's release rules, on the real database.

Pools skip asyncpg's reset query on release (request work keeps no session state);
work that takes session advisory locks or LISTENs runs in ``motcua.shared.db.session``,
which clears that state, or closes the connection when it cannot.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from motcua.shared.bus.kafka import open_producer
from motcua.shared.bus.outbox import OutboxRelay
from motcua.shared.db import UNAVAILABLE, create_pool, is_unavailable, session
from motcua.shared.settings import DatabaseSettings, KafkaSettings
from tests.support.waiting import eventually

LOCK = 715_517


@pytest.fixture
async def one_connection(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """One connection, so every acquire gets the session the last one released."""
    async with await create_pool(DatabaseSettings(url=database_url), min_size=1, max_size=1) as p:
        yield p


async def _lock_is_free(db: asyncpg.Connection) -> bool:
    if await db.fetchval("SELECT pg_try_advisory_lock($1)", LOCK):
        await db.execute("SELECT pg_advisory_unlock($1)", LOCK)
        return True
    return False


async def _holding_the_lock(
    pool: asyncpg.Pool, then: Callable[[asyncpg.Connection], Awaitable[None]]
) -> None:
    async with session(pool) as conn:
        await conn.fetchval("SELECT pg_advisory_lock($1)", LOCK)
        await then(conn)


async def test_a_plain_release_keeps_the_session_as_it_is(one_connection: asyncpg.Pool) -> None:
    """The shortcut itself: no reset round trip, so session settings survive release."""
    async with one_connection.acquire() as conn:
        await conn.execute("SELECT set_config('application_name', 'kept', false)")
    async with one_connection.acquire() as conn:
        assert await conn.fetchval("SHOW application_name") == "kept"


async def test_a_plain_release_still_rolls_back_an_open_transaction(
    one_connection: asyncpg.Pool,
) -> None:
    async with one_connection.acquire() as conn:
        await conn.execute("CREATE TEMP TABLE t (x int)")
        tx = conn.transaction()
        await tx.start()
        await conn.execute("INSERT INTO t VALUES (1)")
    async with one_connection.acquire() as conn:
        assert not await conn.fetchval("SELECT pg_current_xact_id_if_assigned() IS NOT NULL")
        assert await conn.fetchval("SELECT count(*) FROM t") == 0


@pytest.mark.filterwarnings("ignore:.*active notification listener")
async def test_a_session_clears_its_locks_listens_and_settings(
    one_connection: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    async with session(one_connection) as conn:
        assert await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK)
        await conn.add_listener("somewhere", lambda *_: None)
        await conn.execute("SELECT set_config('application_name', 'stale', false)")
        assert not await _lock_is_free(db)
    assert await _lock_is_free(db)
    async with one_connection.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM pg_listening_channels()") == 0
        assert await conn.fetchval("SHOW application_name") != "stale"


async def test_a_session_clears_its_state_when_its_work_fails(
    one_connection: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    async def fail(_: asyncpg.Connection) -> None:
        raise RuntimeError("work failed")

    with pytest.raises(RuntimeError, match="work failed"):
        await _holding_the_lock(one_connection, fail)
    assert await _lock_is_free(db)


async def test_a_session_that_cannot_be_cleared_is_closed_and_the_pool_recovers(
    one_connection: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    async def lose_the_connection(conn: asyncpg.Connection) -> None:
        await db.execute("SELECT pg_terminate_backend($1)", conn.get_server_pid())
        await asyncio.sleep(0.1)

    with pytest.raises(UNAVAILABLE) as caught:
        await _holding_the_lock(one_connection, lose_the_connection)
    assert is_unavailable(caught.value), repr(caught.value)
    assert await _lock_is_free(db)
    assert await one_connection.fetchval("SELECT 1") == 1


class _FailsToLetGo(OutboxRelay):
    """A relay whose way out fails before its own unlock (a second cancellation, say)."""

    async def _wake_up(self, conn: asyncpg.Connection) -> None:
        if self._stopping:
            raise RuntimeError("lost on the way out")
        await super()._wake_up(conn)


async def test_a_relay_that_fails_on_its_way_out_leaves_no_lock_behind(
    pool: asyncpg.Pool, db: asyncpg.Connection, kafka_settings: KafkaSettings
) -> None:
    """A leader lock left on an idle pooled connection would stop every relay for good."""
    for kind in (_FailsToLetGo, OutboxRelay):
        relay = kind(
            pool,
            "svc",
            lambda: open_producer(kafka_settings),
            topic_prefix=kafka_settings.topic_prefix,
            poll_interval=0.05,
        )
        task = asyncio.create_task(relay.run())
        await eventually(lambda r=relay: _leads(r), what="the relay leads")  # type: ignore[misc]
        await relay.stop()
        await asyncio.wait_for(task, 10)
    held = await db.fetchval(
        """SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"""
    )
    assert held == 0


async def _leads(relay: OutboxRelay) -> bool:
    return relay.is_leader
