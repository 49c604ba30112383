"""What the services find out from the broker itself, not from a setting."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from motcua.devtools import probe
from motcua.devtools.backends import Servers
from motcua.devtools.bus import QUIET, produce, quiet_for, read_all
from motcua.shared.bus.kafka import fetch_wait_ms, open_producer, takes_idempotence
from motcua.shared.events.topics import DOSSIERS
from motcua.shared.settings import KafkaSettings, ServiceSettings
from tests.integration.bus.conftest import effects, runtime_of
from tests.support.serving import serve
from tests.support.waiting import eventually


async def test_the_broker_says_whether_it_grants_the_idempotent_producer(
    test_servers: Servers, kafka_settings: KafkaSettings
) -> None:
    """Apache Kafka grants a producer id; the embedded Tansu broker refuses it. Nobody
    tells the process which broker it talks to."""
    assert kafka_settings.idempotence == "auto"
    assert await takes_idempotence(kafka_settings) is (test_servers.broker == "kafka")


async def test_a_producer_opened_on_either_broker_delivers_with_acks_all(
    test_servers: Servers, kafka_settings: KafkaSettings
) -> None:
    topic = f"{kafka_settings.topic_prefix}probe"
    producer = await open_producer(kafka_settings)
    try:
        assert (producer._txn_manager is not None) is (test_servers.broker == "kafka")
        for i in range(5):
            await producer.send_and_wait(topic, f"m{i}".encode(), key=b"k")
    finally:
        await producer.stop()
    got = await read_all(kafka_settings.bootstrap_servers, topic)
    assert [m.value for m in got] == [f"m{i}".encode() for i in range(5)]


async def test_the_broker_says_how_long_a_consumer_fetch_may_wait(
    test_servers: Servers, kafka_settings: KafkaSettings
) -> None:
    """Tansu answers a waiting fetch late, so its consumers wait 100 ms; Kafka answers as
    soon as an event comes, so 500 ms costs nothing. The broker says which it is; a set
    wait overrides either."""
    assert kafka_settings.fetch_max_wait_ms is None
    assert "fetch_max_wait_ms" not in kafka_settings.consumer_options()
    expected = 500 if test_servers.broker == "kafka" else 100
    assert await fetch_wait_ms(kafka_settings) == expected
    chosen = kafka_settings.model_copy(update={"fetch_max_wait_ms": 250})
    assert await fetch_wait_ms(chosen) == 250


async def test_kafka_answers_a_long_waiting_fetch_as_soon_as_an_event_comes(
    test_servers: Servers, kafka_settings: KafkaSettings
) -> None:
    """Why Kafka needs no short fetch wait: a consumer allowed to wait 30 s at the broker
    still gets an event produced while it waits well before the 30 s are up (the
    polling deadline is shorter than the wait)."""
    if test_servers.broker != "kafka":
        pytest.skip("Tansu answers a waiting fetch late: its consumers wait 100 ms")
    topic = DOSSIERS.topic(kafka_settings.topic_prefix)
    tp = TopicPartition(topic, 0)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka_settings.bootstrap_servers,
        enable_auto_commit=False,
        fetch_max_wait_ms=30_000,
    )
    await consumer.start()
    try:
        consumer.assign([tp])
        await consumer.seek_to_end(tp)
        await consumer.position(tp)  # the fetch now waits at the broker from here
        got: list[bytes] = []

        async def fetch() -> list[bytes]:
            batch = await consumer.getmany(tp, timeout_ms=100)
            got.extend(r.value or b"" for r in batch.get(tp, []))
            return got

        await fetch()  # the first fetch is in flight, waiting for data
        await produce(kafka_settings.bootstrap_servers, topic, [b"now"], partition=0)
        assert await eventually(fetch, until=lambda g: g == [b"now"], timeout=15) == [b"now"]
    finally:
        await consumer.stop()


async def test_the_reader_trusts_kafka_end_offsets_and_waits_past_tansu_ones(
    test_servers: Servers, kafka_settings: KafkaSettings
) -> None:
    expected = 0.0 if test_servers.broker == "kafka" else QUIET
    assert await quiet_for(kafka_settings.bootstrap_servers) == expected


async def test_kafka_topics_read_exactly_to_the_reported_end_offsets(
    test_servers: Servers, kafka_settings: KafkaSettings
) -> None:
    """Why the reader needs no quiet period on Kafka: read right after each produce, with
    none, every record is there, on every partition, every time."""
    if test_servers.broker != "kafka":
        pytest.skip("Tansu may report an end one record short: its reader waits QUIET")
    topic = DOSSIERS.topic(kafka_settings.topic_prefix)
    bootstrap = kafka_settings.bootstrap_servers
    sent: list[bytes] = []
    for round_ in range(8):
        values = [f"r{round_}k{k}".encode() for k in range(12)]
        for k, value in enumerate(values):
            await produce(bootstrap, topic, [value], key=f"k{k}".encode())
        sent.extend(values)
        read = await read_all(bootstrap, topic, quiet=0)
        assert sorted(m.value for m in read) == sorted(sent)
        assert len({m.partition for m in read}) > 1


@pytest.mark.parametrize("set_wait", [None, 30_000], ids=["asked", "set-30s"])
async def test_a_service_takes_its_fetch_wait_from_the_broker_unless_set(
    test_servers: Servers,
    make_settings: Callable[..., Any],
    db: asyncpg.Connection,
    set_wait: int | None,
) -> None:
    """The service's consumers wait what the broker calls for (nobody tells the process
    which broker it is), or what ``MOTCUA_KAFKA_FETCH_MAX_WAIT_MS`` says. On Kafka, even
    a 30 s wait delivers an event well within the polling deadline."""
    settings: ServiceSettings = make_settings(ServiceSettings)
    settings.kafka.fetch_max_wait_ms = set_wait
    if set_wait and test_servers.broker != "kafka":
        pytest.skip("Tansu answers a waiting fetch late: its consumers wait 100 ms")
    app = probe.create_app(settings)
    async with serve(app):
        subscribers = runtime_of(app).router.broker.subscribers
        expected = set_wait or (500 if test_servers.broker == "kafka" else 100)
        assert {s.consumer._fetch_max_wait_ms for s in subscribers} == {expected}  # type: ignore[attr-defined]
        event = probe.assigned(uuid.uuid4(), 1)
        topic = DOSSIERS.topic(settings.kafka.topic_prefix)
        await produce(settings.kafka.bootstrap_servers, topic, [event.to_bytes()], partition=0)
        rows = await eventually(lambda: effects(db), until=lambda r: len(r) == 1, timeout=15)
    assert rows[0]["event_id"] == event.event_id
