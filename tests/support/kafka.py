"""Small real-broker helpers for tests: read a topic to the end, produce raw bytes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition


@dataclass(frozen=True)
class Msg:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]


async def read_all(bootstrap: str, topic: str, *, timeout: float = 3.0) -> list[Msg]:
    """Every message currently in ``topic`` (all partitions), without a consumer group."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic)
        for _ in range(50):
            if parts:
                break
            await consumer.topics()  # refresh metadata for a just-created topic
            await asyncio.sleep(0.1)
            parts = consumer.partitions_for_topic(topic)
        tps = [TopicPartition(topic, p) for p in sorted(parts or ())]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        out: list[Msg] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout

        async def behind() -> bool:
            return any([await consumer.position(tp) < end[tp] for tp in tps])

        while await behind() and loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
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
        return sorted(out, key=lambda m: (m.partition, m.offset))
    finally:
        await consumer.stop()


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
