"""Outbox, relay, inbox and consumer on the real broker and database.

One probe service runs for the whole module: starting one costs seconds, and every test
here is about what that running service does with the events it is given. Each test
uses dossiers (keys) of its own and reads back only their effects, messages and dead
letters, so the tests do not depend on each other or on their order.
"""

from __future__ import annotations

import asyncio
import gc
import json
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI

from motcua.devtools.bus import Record, produce, read_all
from motcua.devtools.probe import assigned
from motcua.shared.bus import outbox
from motcua.shared.events.topics import DOSSIERS
from motcua.shared.settings import DatabaseSettings, KafkaSettings, ServiceSettings
from tests.integration.bus.conftest import running_probe, runtime_of
from tests.support.fixtures import database_fixture, kafka_fixture
from tests.support.waiting import eventually

probe_database = database_fixture("module")
probe_kafka = kafka_fixture("module")


@pytest.fixture(scope="module")
def probe_settings(probe_database: str, probe_kafka: KafkaSettings) -> ServiceSettings:
    return ServiceSettings(
        db=DatabaseSettings(url=probe_database, pool_min=1, pool_max=5),
        kafka=probe_kafka,
        log_format="console",
    )


@pytest.fixture(scope="module")
async def probe_app(probe_settings: ServiceSettings) -> AsyncIterator[tuple[FastAPI, str]]:
    async with running_probe(probe_settings) as running:
        yield running


@pytest.fixture
def database_url(probe_database: str) -> str:
    """The module's database, the probe service's, for the ``db`` the tests read it with."""
    return probe_database


async def effects(conn: asyncpg.Connection, keys: Iterable[uuid.UUID]) -> list[asyncpg.Record]:
    """The effects of the events about these dossiers, in the order they were applied."""
    return list(
        await conn.fetch(
            """SELECT event_id, key, seq, n FROM probe.effects WHERE key = ANY($1::text[])
               ORDER BY applied_at""",
            [str(k) for k in keys],
        )
    )


def about(messages: list[Record], keys: Iterable[uuid.UUID]) -> list[Record]:
    """The messages keyed by these dossiers (the relay keys a dossier's events by its id)."""
    wanted = {str(k).encode() for k in keys}
    return [m for m in messages if m.key in wanted]


async def test_rolled_back_event_is_never_published_committed_one_exactly_once(
    probe_app: tuple[FastAPI, str], probe_settings: ServiceSettings, db: asyncpg.Connection
) -> None:
    app, _ = probe_app
    runtime = runtime_of(app)
    dossier = uuid.uuid4()
    doomed, kept = assigned(dossier, 1), assigned(dossier, 2)
    async with runtime.pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await outbox.add(conn, doomed)
        await tx.rollback()  # the state change failed
        async with conn.transaction():
            await outbox.add(conn, kept)

    rows = await eventually(
        lambda: effects(db, [dossier]), until=lambda r: len(r) == 1, what="effect"
    )
    assert rows[0]["event_id"] == kept.event_id
    topic = DOSSIERS.topic(probe_settings.kafka.topic_prefix)
    on_bus = about(await read_all(probe_settings.kafka.bootstrap_servers, topic), [dossier])
    ids = [json.loads(m.value)["event_id"] for m in on_bus]
    assert ids == [str(kept.event_id)]
    assert on_bus[0].key == str(dossier).encode()
    left = "SELECT count(*) FROM probe.outbox WHERE key = $1"
    assert await db.fetchval(left, str(dossier)) == 0


async def test_outbox_add_outside_a_transaction_is_refused(
    probe_app: tuple[FastAPI, str],
) -> None:
    runtime = runtime_of(probe_app[0])
    async with runtime.pool.acquire() as conn:
        with pytest.raises(RuntimeError, match="inside the transaction"):
            await outbox.add(conn, assigned(uuid.uuid4(), 1))


async def test_a_started_service_keeps_its_start_up_heap_out_of_the_collector(
    probe_app: tuple[FastAPI, str],
) -> None:
    # Full collections would otherwise walk every module and model on each burst.
    assert gc.get_freeze_count() > 10_000


async def test_same_event_delivered_twice_has_one_effect(
    probe_app: tuple[FastAPI, str], probe_settings: ServiceSettings, db: asyncpg.Connection
) -> None:
    event = assigned(uuid.uuid4(), 7)
    topic = DOSSIERS.topic(probe_settings.kafka.topic_prefix)
    marker = assigned(event.data.dossier_id, 8)
    # Twice in one batch, once more later, then a marker that proves the rest was consumed.
    await produce(probe_settings.kafka.bootstrap_servers, topic, [event.to_bytes()] * 2, key=b"k")
    await produce(probe_settings.kafka.bootstrap_servers, topic, [event.to_bytes()], key=b"k")
    await produce(probe_settings.kafka.bootstrap_servers, topic, [marker.to_bytes()], key=b"k")
    rows = await eventually(
        lambda: effects(db, [event.data.dossier_id]),
        until=lambda r: len(r) == 2,
        what="two effects",
    )
    assert [(r["event_id"], r["n"]) for r in rows] == [(event.event_id, 1), (marker.event_id, 1)]


@pytest.mark.parametrize(
    ("bad", "error_fragment"),
    [
        (b"this is not json", "not JSON"),
        (b'{"event_type": "dossier.assigned", "center_id": "c1"}', "Field required"),
        (None, "cannot be assigned"),  # valid event, handler always fails: a poison message
    ],
)
async def test_bad_message_goes_to_dlq_and_the_partition_flows_on(
    probe_app: tuple[FastAPI, str],
    probe_settings: ServiceSettings,
    db: asyncpg.Connection,
    bad: bytes | None,
    error_fragment: str,
) -> None:
    dossier = uuid.uuid4()
    before, after = assigned(dossier, 1), assigned(dossier, 3)
    poison = bad if bad is not None else assigned(dossier, 2, assignee="poison").to_bytes()
    topic = DOSSIERS.topic(probe_settings.kafka.topic_prefix)
    await produce(
        probe_settings.kafka.bootstrap_servers,
        topic,
        [before.to_bytes(), poison, after.to_bytes()],
        partition=0,
    )
    rows = await eventually(
        lambda: effects(db, [dossier]), until=lambda r: len(r) == 2, what="both good events"
    )
    assert [r["seq"] for r in rows] == [1, 3]

    # The module's earlier tests wrote to this partition too: the poison came right after
    # this test's first event, wherever that landed.
    sent = await read_all(probe_settings.kafka.bootstrap_servers, topic)
    (first,) = [m for m in sent if m.partition == 0 and m.value == before.to_bytes()]
    dlq = DOSSIERS.dlq(probe_settings.kafka.topic_prefix)

    async def dead_letters() -> list[Record]:
        letters = await read_all(probe_settings.kafka.bootstrap_servers, dlq)
        return [m for m in letters if m.value == poison]

    dead = await eventually(dead_letters, what="dead letter")
    assert len(dead) == 1
    h = dead[0].headers
    assert error_fragment in h["x-error"]
    assert (h["x-original-topic"], h["x-original-partition"], h["x-original-offset"]) == (
        topic,
        "0",
        str(first.offset + 1),
    )
    assert h["x-consumer"] == "probe"


async def test_unknown_event_types_are_skipped_not_dead_lettered(
    probe_app: tuple[FastAPI, str], probe_settings: ServiceSettings, db: asyncpg.Connection
) -> None:
    topic = DOSSIERS.topic(probe_settings.kafka.topic_prefix)
    future = {
        "event_id": str(uuid.uuid4()),
        "event_type": "dossier.teleported",
        "center_id": "c1",
        "producer": "tomorrow",
        "data": {},
    }
    marker = assigned(uuid.uuid4(), 1)
    unknown = json.dumps(future).encode()
    await produce(
        probe_settings.kafka.bootstrap_servers,
        topic,
        [unknown, marker.to_bytes()],
        partition=0,
    )
    await eventually(
        lambda: effects(db, [marker.data.dossier_id]), until=lambda r: len(r) == 1, what="marker"
    )
    dlq = DOSSIERS.dlq(probe_settings.kafka.topic_prefix)
    # Other tests' poison may be there; this event must not be.
    dead = await read_all(probe_settings.kafka.bootstrap_servers, dlq)
    assert [m for m in dead if m.value == unknown] == []


async def test_per_key_order_holds_for_many_interleaved_keys(
    probe_app: tuple[FastAPI, str], db: asyncpg.Connection
) -> None:
    runtime = runtime_of(probe_app[0])
    keys = [uuid.uuid4() for _ in range(8)]
    async with runtime.pool.acquire() as conn:
        for seq in range(50):
            async with conn.transaction():
                await outbox.add(conn, *(assigned(k, seq) for k in keys))
    rows = await eventually(
        lambda: effects(db, keys), until=lambda r: len(r) == 400, timeout=60, what="400 effects"
    )
    by_key: dict[str, list[int]] = {}
    for r in rows:
        by_key.setdefault(r["key"], []).append(r["seq"])
    assert all(seqs == list(range(50)) for seqs in by_key.values())


async def _count(conn: asyncpg.Connection, keys: list[uuid.UUID]) -> Any:
    return await conn.fetchval(
        "SELECT count(*) FROM probe.effects WHERE key = ANY($1::text[])", [str(k) for k in keys]
    )


async def test_concurrent_relays_publish_each_row_once(
    probe_app: tuple[FastAPI, str], probe_settings: ServiceSettings, db: asyncpg.Connection
) -> None:
    """A second replica's relay stands by on the advisory lock instead of double-publishing."""
    from motcua.shared.bus.kafka import open_producer
    from motcua.shared.bus.outbox import OutboxRelay

    runtime = runtime_of(probe_app[0])
    rival = OutboxRelay(
        runtime.pool,
        "probe",
        lambda: open_producer(probe_settings.kafka),
        topic_prefix=probe_settings.kafka.topic_prefix,
    )
    task = asyncio.create_task(rival.run())
    keys = [uuid.uuid4() for _ in range(100)]
    try:
        async with runtime.pool.acquire() as conn:
            for seq, key in enumerate(keys):
                async with conn.transaction():
                    await outbox.add(conn, assigned(key, seq))
        await eventually(lambda: _count(db, keys), until=lambda n: n == 100, what="100 effects")
        topic = DOSSIERS.topic(probe_settings.kafka.topic_prefix)
        on_bus = about(await read_all(probe_settings.kafka.bootstrap_servers, topic), keys)
        assert len(on_bus) == 100
        assert not (rival.is_leader and runtime.relay is not None and runtime.relay.is_leader)
    finally:
        await rival.stop()
        await asyncio.wait_for(task, 10)


async def test_metrics_expose_published_consumed_lag_backlog_and_latency(
    probe_app: tuple[FastAPI, str], db: asyncpg.Connection
) -> None:
    import httpx

    app, url = probe_app
    runtime = runtime_of(app)
    keys = [uuid.uuid4() for _ in range(5)]
    async with runtime.pool.acquire() as conn, conn.transaction():
        await outbox.add(conn, *(assigned(k, seq) for seq, k in enumerate(keys)))
    await eventually(lambda: effects(db, keys), until=lambda r: len(r) == 5, what="effects")
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{url}/metrics")).text
    published = 'motcua_events_published_total{event_type="dossier.assigned",schema="probe"}'
    consumed = (
        'motcua_events_consumed_total{consumer="probe",event_type="dossier.assigned",'
        'outcome="applied"}'
    )
    for series in (published, consumed):
        line = next(x for x in text.splitlines() if x.startswith(series))
        assert float(line.rsplit(" ", 1)[1]) >= 5
    for name in (
        'motcua_consumer_lag{consumer="probe"',
        'motcua_outbox_backlog{schema="probe"}',
        'motcua_outbox_oldest_age_seconds{schema="probe"}',
        'motcua_handler_seconds_count{consumer="probe"}',
    ):
        assert any(x.startswith(name) for x in text.splitlines()), name
