"""Reading and writing the bus directly: whole topics, consumer-group lag, raw produces."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from motcua.shared.events.topics import STREAMS
from motcua.shared.settings import KafkaSettings

# Consumer groups of the services, by the topics (streams) they read.
GROUPS: dict[str, tuple[str, ...]] = {
    "motcua-intake": ("queue.events",),
    "motcua-intake-commands": ("intake.commands",),
    "motcua-deadlines": ("dossier.events",),
    "motcua-notify": ("queue.events", "dossier.events", "deadline.events"),
}


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]


async def stop(consumer: AIOKafkaConsumer) -> None:
    """Stop a consumer, even one that failed straight after starting: a consumer without a
    group starts a task that, cancelled before its first step, makes ``stop`` raise
    CancelledError in place of the error that brought us here. One step of the loop lets
    it start."""
    await asyncio.sleep(0)
    await consumer.stop()


def topics(kafka: KafkaSettings, *, dlq: bool = True) -> list[str]:
    names = [s.topic(kafka.topic_prefix) for s in STREAMS]
    if dlq:
        names += [s.dlq(kafka.topic_prefix) for s in STREAMS]
    return names


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    for _ in range(50):
        # Ask the broker afresh: a client's own metadata covers only the topics it has
        # subscribed to on Apache Kafka (Tansu answers with every topic), and
        # ``consumer.topics()`` does not update it.
        parts = (await consumer._client.fetch_all_metadata()).partitions_for_topic(topic)
        if parts:
            return [TopicPartition(topic, p) for p in sorted(parts)]
        await asyncio.sleep(0.1)
    return []


async def read_topic(kafka: KafkaSettings, topic: str, *, timeout: float = 30.0) -> list[Record]:
    """Every record currently in ``topic``, read without a consumer group."""
    return (await read_topics(kafka, [topic], timeout=timeout))[topic]


async def read_topics(
    kafka: KafkaSettings, names: list[str], *, timeout: float = 30.0
) -> dict[str, list[Record]]:
    """Every record currently in each topic, with one consumer and no group."""
    out: dict[str, list[Record]] = {name: [] for name in names}
    consumer = AIOKafkaConsumer(**kafka.client_options(), enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [tp for name in names for tp in await _partitions(consumer, name)]
        if not tps:
            return out
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        pending = {tp for tp in tps if end[tp] > 0}
        extra = 0
        while loop.time() < deadline:
            # Past the reported end, poll a little more: the embedded broker sometimes
            # reports a partition's end one record short of its last record.
            batch = await consumer.getmany(timeout_ms=300 if pending else 200, max_records=5000)
            for tp, records in batch.items():
                out[tp.topic].extend(
                    Record(
                        tp.topic,
                        tp.partition,
                        r.offset,
                        r.key,
                        r.value or b"",
                        {k: v.decode(errors="replace") for k, v in r.headers},
                    )
                    for r in records
                )
            if not pending:
                extra += 1
                if not batch or extra > 3:
                    return out
            pending = {tp for tp in pending if await consumer.position(tp) < end[tp]}
        raise TimeoutError(f"could not read {', '.join(names)} to the end in {timeout:.0f}s")
    finally:
        await stop(consumer)


async def lag(kafka: KafkaSettings) -> dict[str, tuple[int, int]]:
    """Per consumer group: records not yet committed, and records committed beyond the
    reported log end (which only a misbehaving broker shows). Committed offsets are read
    before the end offsets, so a record arriving meanwhile cannot look like the latter."""
    committed: dict[str, dict[TopicPartition, int]] = {}
    parts: dict[str, list[TopicPartition]] = {}
    for group, streams in GROUPS.items():
        # A consumer that names the group (and never joins it) reads its offsets.
        consumer = AIOKafkaConsumer(
            **kafka.client_options(), group_id=kafka.topic_prefix + group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            committed[group] = {}
            for stream in streams:
                parts[stream] = await _partitions(consumer, kafka.topic_prefix + stream)
                for tp in parts[stream]:
                    committed[group][tp] = await consumer.committed(tp) or 0
        finally:
            await stop(consumer)
    reader = AIOKafkaConsumer(**kafka.client_options(), enable_auto_commit=False)
    await reader.start()
    try:
        end = await reader.end_offsets([tp for tps in parts.values() for tp in tps])
    finally:
        await stop(reader)
    out: dict[str, tuple[int, int]] = {}
    for group, streams in GROUPS.items():
        behind = ahead = 0
        for stream in streams:
            for tp in parts[stream]:
                behind += max(0, end[tp] - committed[group][tp])
                ahead += max(0, committed[group][tp] - end[tp])
        out[group] = (behind, ahead)
    return out


@dataclass(frozen=True)
class Sent:
    topic: str
    partition: int
    offset: int


async def produce(
    kafka: KafkaSettings, messages: list[tuple[str, bytes | None, bytes | None, int | None]]
) -> list[Sent]:
    """Send ``(topic, value, key, partition)`` messages in order, each acknowledged
    (acks=all) before the next, and say where each landed."""
    producer = AIOKafkaProducer(
        **kafka.client_options(),
        acks="all",
        enable_idempotence=False,
        max_request_size=4 * 1024 * 1024,
    )
    try:
        await producer.start()
        out = []
        for topic, value, key, partition in messages:
            meta = await producer.send_and_wait(topic, value, key=key, partition=partition)
            out.append(Sent(meta.topic, meta.partition, meta.offset))
        return out
    finally:
        await producer.stop()
