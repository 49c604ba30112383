"""Small real-broker helpers for tests: read a topic to the end, produce raw bytes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from motcua.shared.bus.kafka import grants_producer_ids
from motcua.shared.settings import KafkaSettings

QUIET = 0.5
"""Seconds without a new record, past the reported end, after which a topic is read from
the embedded Tansu broker. Apache Kafka's end offsets are trusted as they are."""


async def quiet_for(bootstrap: str) -> float:
    """How long to read on past the reported end offsets of the broker at ``bootstrap``.

    The embedded Tansu broker sometimes reports an end one record short of the last
    record, so a reader waits ``QUIET`` for more there; Apache Kafka reports the true end
    (0). The broker says which it is: Tansu refuses the idempotent producer."""
    return 0.0 if await grants_producer_ids(KafkaSettings(bootstrap_servers=bootstrap)) else QUIET


@dataclass(frozen=True)
class Msg:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]


async def read_all(
    bootstrap: str, topic: str, *, timeout: float = 10.0, quiet: float | None = None
) -> list[Msg]:
    """Every message in ``topic`` (all partitions), without a consumer group.

    Reads to the end offsets the broker reports, then on until nothing new has come for
    ``quiet`` seconds (by default as the broker needs, ``quiet_for``). A topic without
    partitions (not created yet) reads as empty; not reaching the reported end within
    ``timeout`` raises ``TimeoutError``.
    """
    if quiet is None:
        quiet = await quiet_for(bootstrap)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic)
        give_up = min(deadline, loop.time() + 5)
        while not parts and loop.time() < give_up:
            # A just-created topic: ask the broker afresh (the consumer's own view is
            # limited to what it subscribed to, and ``topics()`` does not update it).
            parts = (await consumer._client.fetch_all_metadata()).partitions_for_topic(topic)
            if not parts:
                await asyncio.sleep(0.1)
        tps = [TopicPartition(topic, p) for p in sorted(parts or ())]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        return await drain(consumer, ends, deadline=deadline, quiet=quiet)
    finally:
        await consumer.stop()


async def drain(
    consumer: AIOKafkaConsumer,
    ends: dict[TopicPartition, int],
    *,
    deadline: float,
    quiet: float = QUIET,
) -> list[Msg]:
    """Fetch from the assigned partitions' positions until each has reached its offset in
    ``ends`` and no record has arrived for ``quiet`` seconds; sorted by partition, offset."""
    loop = asyncio.get_running_loop()
    out: list[Msg] = []
    last_record = loop.time()
    while True:
        batch = await consumer.getmany(timeout_ms=100)
        for tp, records in batch.items():
            out.extend(
                Msg(
                    tp.topic,
                    tp.partition,
                    r.offset,
                    r.key,
                    r.value or b"",
                    {k: v.decode() for k, v in r.headers},
                )
                for r in records
            )
            last_record = loop.time() if records else last_record
        behind = [tp for tp, end in ends.items() if await consumer.position(tp) < end]
        if not behind and loop.time() - last_record >= quiet:
            return sorted(out, key=lambda m: (m.partition, m.offset))
        if loop.time() > deadline:
            if behind:
                raise TimeoutError(f"{behind} not read to the reported end offsets {ends}")
            return sorted(out, key=lambda m: (m.partition, m.offset))


async def produce(
    bootstrap: str,
    topic: str,
    values: list[bytes],
    *,
    key: bytes | None = None,
    partition: int | None = None,
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        for v in values:
            await producer.send_and_wait(topic, v, key=key, partition=partition)
    finally:
        await producer.stop()
