"""How the outbox relay is woken, on the real database and broker.

Writers notify only while the relay sleeps (see ``motcua.shared.bus.outbox``). Each relay
here sleeps for an hour when it finds nothing, so a committed row that failed to
wake it would stay unpublished and the test would fail waiting for it.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from motcua.devtools.bus import read_all
from motcua.devtools.probe import assigned
from motcua.shared.bus import outbox
from motcua.shared.bus.kafka import open_producer
from motcua.shared.bus.outbox import OutboxRelay
from motcua.shared.events.topics import DOSSIERS
from motcua.shared.settings import KafkaSettings
from tests.support.waiting import eventually

HOUR = 3600.0


@asynccontextmanager
async def running(
    pool: asyncpg.Pool, kafka: KafkaSettings, **options: float
) -> AsyncIterator[OutboxRelay]:
    relay = OutboxRelay(
        pool,
        "svc",
        lambda: open_producer(kafka),
        topic_prefix=kafka.topic_prefix,
        **({"poll_interval": HOUR, "busy_interval": 0.001, "linger": 0.0} | options),
    )
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: _true(relay.is_leader), what="the relay leads")
        yield relay
    finally:
        await relay.stop()
        await asyncio.wait_for(task, 30)


async def _true(value: bool) -> bool:
    return value


async def asleep(pool: asyncpg.Pool) -> bool:
    """Does the relay hold its asleep lock (exclusive, on the outbox's identity)?"""
    return bool(
        await pool.fetchval(
            """SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND granted
               AND classid = 'outbox'::regclass::oid AND objid = 0 AND mode = 'ExclusiveLock')"""
        )
    )


async def backlog(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM outbox"))


async def write(pool: asyncpg.Pool) -> uuid.UUID:
    event = assigned(uuid.uuid4(), 1)
    async with pool.acquire() as conn, conn.transaction():
        await outbox.add(conn, event)
    return event.event_id


async def test_a_write_wakes_the_sleeping_relay(
    pool: asyncpg.Pool, kafka_settings: KafkaSettings
) -> None:
    async with running(pool, kafka_settings) as relay:
        for n in range(1, 4):  # each time the relay has gone back to sleep
            await eventually(lambda: asleep(pool), what="the relay asleep")
            await write(pool)
            await eventually(lambda: backlog(pool), until=lambda b: b == 0, what="published")
            assert relay.published == n


async def test_the_relay_cannot_fall_asleep_on_a_writer_that_saw_it_awake(
    pool: asyncpg.Pool, kafka_settings: KafkaSettings
) -> None:
    """No relay holds the asleep lock, so the writer stays silent; the relay, started
    meanwhile, keeps polling until the writer's transaction is over."""
    async with pool.acquire() as writer:
        tx = writer.transaction()
        await tx.start()
        await outbox.add(writer, assigned(uuid.uuid4(), 1))
        async with running(pool, kafka_settings) as relay:
            await asyncio.sleep(0.2)  # many a poll and a try to fall asleep
            assert not await asleep(pool)
            await tx.commit()
            await eventually(lambda: backlog(pool), until=lambda b: b == 0, what="published")
            assert relay.published == 1
            await eventually(lambda: asleep(pool), what="the relay asleep once it is over")


async def test_writers_do_not_notify_while_the_relay_is_awake(
    pool: asyncpg.Pool, kafka_settings: KafkaSettings, database_url: str
) -> None:
    listener = await asyncpg.connect(database_url)
    heard: list[str] = []
    await listener.add_listener("svc_outbox", lambda *args: heard.append(args[2]))
    try:
        async with running(pool, kafka_settings, linger=HOUR) as relay:  # never sleeps
            for _ in range(20):
                await write(pool)
            await eventually(lambda: backlog(pool), until=lambda b: b == 0, what="published")
            assert relay.published == 20
        await listener.fetchval("SELECT 1")  # anything pending has been delivered by now
        assert heard == []
        async with running(pool, kafka_settings):
            await eventually(lambda: asleep(pool), what="the relay asleep")
            await write(pool)
            await eventually(lambda: backlog(pool), until=lambda b: b == 0, what="published")
        await eventually(lambda: _true(len(heard) == 1), what="one notification")
    finally:
        await listener.close()


async def test_racing_writers_are_all_published_once_and_rollbacks_never(
    pool: asyncpg.Pool, kafka_settings: KafkaSettings, database_url: str
) -> None:
    """Rounds of writers that commit or roll back at random moments while the relay
    keeps falling asleep and waking: after every round the outbox drains without the
    hour's poll, and every committed event reaches the broker once."""
    rng = random.Random(7)
    committed: list[str] = []
    rolled_back: list[str] = []

    async def write_one(conn: asyncpg.Connection, seq: int) -> None:
        await asyncio.sleep(rng.random() * 0.003)
        event = assigned(uuid.uuid4(), seq)
        tx = conn.transaction()
        await tx.start()
        await outbox.add(conn, event)
        await asyncio.sleep(rng.random() * 0.003)
        if rng.random() < 0.1:
            await tx.rollback()
            rolled_back.append(str(event.event_id))
        else:
            await tx.commit()
            committed.append(str(event.event_id))

    async with (
        asyncpg.create_pool(
            database_url, min_size=4, max_size=4, server_settings={"search_path": "svc"}
        ) as writers,
        running(pool, kafka_settings),
    ):
        conns = [await writers.acquire() for _ in range(4)]
        try:
            for seq in range(100):
                await asyncio.gather(*(write_one(c, seq) for c in conns))
                await eventually(
                    lambda: backlog(pool),
                    until=lambda b: b == 0,
                    interval=0.002,
                    what=f"round {seq} published",
                )
        finally:
            for c in conns:
                await writers.release(c)
    on_bus = await read_all(
        kafka_settings.bootstrap_servers, DOSSIERS.topic(kafka_settings.topic_prefix)
    )
    ids = [json.loads(m.value)["event_id"] for m in on_bus]
    assert sorted(ids) == sorted(committed)
    assert not set(ids) & set(rolled_back)
