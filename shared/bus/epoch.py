"""The bus epoch: does the broker still hold what the relays published to it?

The embedded Tansu broker keeps its log in memory, and a Kafka cluster can be lost
and rebuilt; either way the broker answers as before (Tansu's cluster id is always
``tansu_cluster``) while every event it held is gone. So the bus carries a marker
of its own: the single-partition, compacted topic ``<prefix>motcua.bus-epoch``.
Its first record names the epoch. Whoever finds the topic empty writes a record
with a fresh epoch id and then reads the first record back, so two relays racing
on an empty topic agree on whichever record landed first. Every record has a key
of its own, so compaction never removes offset 0.

A relay stores the epoch it last published under (in its schema's
``outbox_relay`` row). When the broker names another one, the broker lost its
log since, and the relay publishes its journal again (``shared.bus.outbox``).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.logging import get_logger
from shared.settings import KafkaSettings

log = get_logger(__name__)

TOPIC = "motcua.bus-epoch"


class EpochUnknown(RuntimeError):
    """The broker's epoch could not be read (it is down, or the marker did not come)."""


@dataclass(frozen=True)
class Epoch:
    id: str
    written_at: float  # the marker record's timestamp, in seconds since 1970 (UTC)


class EpochMarker:
    """Reads (and, on an empty bus, writes) the broker's epoch. One per relay; it keeps
    a small reader consumer open between checks and drops it after any failure."""

    def __init__(self, settings: KafkaSettings, *, timeout: float = 5.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self.topic = settings.topic_prefix + TOPIC
        self._reader: AIOKafkaConsumer | None = None

    async def read(self, producer: AIOKafkaProducer) -> Epoch:
        """The broker's epoch; on an empty marker topic, write one first with ``producer``."""
        try:
            reader = await self._open()
            first = await self._first(reader, wait=False)
            if first is None:
                fresh = uuid.uuid4().hex
                await producer.send_and_wait(
                    self.topic, value=fresh.encode(), key=uuid.uuid4().bytes, partition=0
                )
                first = await self._first(reader, wait=True)
                if first is not None and first.id == fresh:
                    log.info("bus.epoch_started", topic=self.topic, epoch=fresh)
            if first is None:
                raise EpochUnknown(f"{self.topic}: the marker did not come back")
            return first
        except Exception:
            await self.close()
            raise

    async def close(self) -> None:
        if self._reader is not None:
            reader, self._reader = self._reader, None
            with contextlib.suppress(Exception):  # a dead broker may refuse the goodbye
                await reader.stop()

    async def _open(self) -> AIOKafkaConsumer:
        if self._reader is not None:
            return self._reader
        await self._ensure_topic()
        reader = AIOKafkaConsumer(
            **self.settings.client_options(),
            enable_auto_commit=False,
            # The marker is one tiny record: wait no longer than needed for it.
            fetch_max_wait_ms=50,
        )
        try:
            await reader.start()
        except BaseException:
            with contextlib.suppress(Exception):
                await reader.stop()
            raise
        reader.assign([TopicPartition(self.topic, 0)])
        self._reader = reader
        return reader

    async def _ensure_topic(self) -> None:
        admin = AIOKafkaAdminClient(**self.settings.client_options())
        await admin.start()
        try:
            if self.topic in set(await admin.list_topics()):
                return
            brokers = len((await admin.describe_cluster())["brokers"])
            topic = NewTopic(
                self.topic,
                1,
                max(1, min(3, brokers)),
                topic_configs={"cleanup.policy": "compact"},
            )
            with contextlib.suppress(TopicAlreadyExistsError):  # another relay was first
                await admin.create_topics([topic])
        finally:
            await admin.close()

    async def _first(self, reader: AIOKafkaConsumer, *, wait: bool) -> Epoch | None:
        """The topic's first record; ``None`` if it is empty (and ``wait`` is false)."""
        tp = TopicPartition(self.topic, 0)
        start = (await reader.beginning_offsets([tp]))[tp]
        if not wait:
            end = (await reader.end_offsets([tp]))[tp]
            if end <= start:
                # Tansu may report an end one short of a lone record; then a second
                # marker is written, and the first still names the epoch.
                return None
        reader.seek(tp, start)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while loop.time() < deadline:
            batch = await reader.getmany(tp, timeout_ms=100, max_records=1)
            for record in batch.get(tp, []):
                return Epoch(bytes(record.value or b"").decode(), record.timestamp / 1000)
        if wait:
            return None
        raise EpochUnknown(f"{self.topic}: offsets {start}..{end} reported, nothing read")
