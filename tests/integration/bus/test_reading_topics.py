"""The tests' topic reader returns every record, even when the broker reports an end
offset one record short of the last one (as the embedded broker sometimes does)."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition

from motcua.devtools.bus import drain, produce, read_all
from motcua.shared.events.topics import DOSSIERS
from motcua.shared.settings import KafkaSettings
from tests.support.waiting import eventually


async def test_every_record_is_read_to_the_end(kafka_settings: KafkaSettings) -> None:
    topic = DOSSIERS.topic(kafka_settings.topic_prefix)
    values = [f"record {i}".encode() for i in range(7)]
    await produce(kafka_settings.bootstrap_servers, topic, values, key=b"k", partition=0)
    read = await read_all(kafka_settings.bootstrap_servers, topic)
    assert [m.value for m in read] == values
    assert [m.offset for m in read] == list(range(7))


async def test_a_record_past_a_reported_end_one_short_is_read_too(
    kafka_settings: KafkaSettings,
) -> None:
    topic = DOSSIERS.topic(kafka_settings.topic_prefix)
    bootstrap = kafka_settings.bootstrap_servers
    await produce(bootstrap, topic, [b"first", b"second"], partition=0)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        loop = asyncio.get_running_loop()
        reading = asyncio.create_task(
            # The end as reported before the last record could be seen.
            drain(consumer, {tp: 2}, deadline=loop.time() + 20, quiet=3)
        )
        await eventually(lambda: consumer.position(tp), until=lambda p: p >= 2)
        await produce(bootstrap, topic, [b"last"], partition=0)
        read = await reading
    finally:
        await consumer.stop()
    assert [m.value for m in read] == [b"first", b"second", b"last"]


async def test_a_topic_not_created_reads_as_empty(kafka_settings: KafkaSettings) -> None:
    missing = f"{kafka_settings.topic_prefix}never.created"
    assert await read_all(kafka_settings.bootstrap_servers, missing, timeout=1) == []
