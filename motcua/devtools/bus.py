"""Reading and writing the bus directly, as tests, benchmarks and chaos runs do: whole
topics without a consumer group, consumer-group lag, raw produces."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from motcua.shared.bus.kafka import grants_producer_ids
from motcua.shared.events.topics import STREAMS
from motcua.shared.settings import KafkaSettings

QUIET = 0.5
"""Seconds without a new record, past the reported end, after which ``read_all`` is done
with a topic of the embedded Tansu broker. Apache Kafka's end offsets are trusted as they
are."""

# Consumer groups of the services, by the topics (streams) they read.
GROUPS: dict[str, tuple[str, ...]] = {
    "motcua-intake": ("queue.events",),
    "motcua-intake-commands": ("intake.commands",),
    "motcua-deadlines": (
        "dossier.events",
        "notification.events",
        "queue.events",
        "deadline.events",
    ),
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


def _record(tp: TopicPartition, r: Any) -> Record:
    return Record(
        tp.topic,
        tp.partition,
        r.offset,
        r.key,
        r.value or b"",
        {k: v.decode(errors="replace") for k, v in r.headers},
    )


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


async def _partitions(
    consumer: AIOKafkaConsumer, topic: str, *, wait: float = 5.0
) -> list[TopicPartition]:
    """The partitions of ``topic``, waiting up to ``wait`` seconds for a just-created one;
    none if it does not appear."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + wait
    while True:
        # Ask the broker afresh: a client's own metadata covers only the topics it has
        # subscribed to on Apache Kafka (Tansu answers with every topic), and
        # ``consumer.topics()`` does not update it.
        parts = (await consumer._client.fetch_all_metadata()).partitions_for_topic(topic)
        if parts:
            return [TopicPartition(topic, p) for p in sorted(parts)]
        if loop.time() >= give_up:
            return []
        await asyncio.sleep(0.1)


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
                out[tp.topic].extend(_record(tp, r) for r in records)
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


async def send(
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


# ------------------------------------------------- by bootstrap address, for tests


async def quiet_for(bootstrap: str) -> float:
    """How long ``read_all`` reads on past the reported end offsets of the broker at
    ``bootstrap``.

    The embedded Tansu broker sometimes reports an end one record short of the last
    record, so a reader waits ``QUIET`` for more there; Apache Kafka reports the true end
    (0). The broker says which it is: Tansu refuses the idempotent producer."""
    return 0.0 if await grants_producer_ids(KafkaSettings(bootstrap_servers=bootstrap)) else QUIET


async def read_all(
    bootstrap: str, topic: str, *, timeout: float = 10.0, quiet: float | None = None
) -> list[Record]:
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
        tps = await _partitions(consumer, topic, wait=min(timeout, 5.0))
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        return await drain(consumer, ends, deadline=deadline, quiet=quiet)
    finally:
        await stop(consumer)


async def drain(
    consumer: AIOKafkaConsumer,
    ends: dict[TopicPartition, int],
    *,
    deadline: float,
    quiet: float = QUIET,
) -> list[Record]:
    """Fetch from the assigned partitions' positions until each has reached its offset in
    ``ends`` and no record has arrived for ``quiet`` seconds; sorted by partition, offset."""
    loop = asyncio.get_running_loop()
    out: list[Record] = []
    last_record = loop.time()
    while True:
        batch = await consumer.getmany(timeout_ms=100)
        for tp, records in batch.items():
            out.extend(_record(tp, r) for r in records)
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
    """Send ``values`` to ``topic`` in order, each acknowledged (acks=all)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        for v in values:
            await producer.send_and_wait(topic, v, key=key, partition=partition)
    finally:
        await producer.stop()
