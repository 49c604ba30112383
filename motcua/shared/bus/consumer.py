"""Reliable consumption: apply each event once, commit offsets only after effect.

``EventConsumer`` applies the rules every service's subscriber follows. Handlers
subscribe by payload class (``consumer.on(TicketCalled, handler)``), and the type
checker holds each handler to the envelope of that class.

* A fetched batch is applied in **one** transaction: the inbox claims for every
  event and every handler's effect (and any outbox rows it writes) commit
  together. Only then does FastStream acknowledge, i.e. commit the offsets.
* An event already in the inbox is skipped, so redelivery has no second effect.
* A message that is not JSON, too large or invalid goes straight to
  ``<topic>.dlq`` with the error in its headers. Unknown event types are
  recorded and ignored (consumers must tolerate new event types).
* An event is believed only on the topic its owning service writes
  (``motcua.shared.events.topics``): a well-formed ``dossier.resolved`` read from
  ``queue.events`` is a forgery or a misrouted write, and goes straight to the
  DLQ with a reason naming the type and the topic, unapplied.
* If the batch transaction fails because of one bad event, the batch is applied
  again event by event, each with a bounded number of tries and backoff; an event
  that still fails is dead-lettered with its error and the partition flows on.
* If the database (or the DLQ publish) is unavailable, nothing is acknowledged:
  the batch is NACKed, FastStream seeks back, and it is retried after a pause.

All but the inbox live in ``BatchConsumer``, which other kinds of message
(intake's clerk-app commands) share: a subclass supplies the parse step, how a
batch of parsed items is applied, and what else happens to one that is
dead-lettered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

import asyncpg
import structlog
from aiokafka import TopicPartition
from faststream.kafka.fastapi import KafkaMessage, KafkaRouter
from faststream.middlewares import AckPolicy

from motcua.shared.bus import inbox
from motcua.shared.db import is_retryable
from motcua.shared.events.envelope import Envelope, Payload
from motcua.shared.events.registry import MalformedEvent, UnknownEventType, parse_event
from motcua.shared.events.topics import DLQ_SUFFIX, belongs_on, stream_of
from motcua.shared.logging import get_logger
from motcua.shared.metrics import CONSUMED, CONSUMER_LAG, DEAD_LETTERED, HANDLER_SECONDS

log = get_logger(__name__)
# How long one poll waits for a batch to start (see ``subscribe``).
BATCH_WAIT_MS = 25

E = TypeVar("E", bound=Payload)
Handler = Callable[[asyncpg.Connection, Envelope[E]], Awaitable[None]]
"""``handler(conn, event)``, for events whose payload is an ``E``."""
BatchHandler = Callable[[asyncpg.Connection, Sequence[Envelope[E]]], Awaitable[None]]
"""``handler(conn, events)``: a run of consecutive events of one type, in order."""
Publish = Callable[[str, bytes, bytes | None, dict[str, str]], Awaitable[None]]


class Record(Protocol):
    """What we need of a consumed Kafka record (aiokafka's ``ConsumerRecord``)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class Retry(Exception):
    """Raise from a handler when a later try may succeed (never dead-lettered)."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    base_delay: float = 0.05
    max_delay: float = 2.0
    unavailable_pause: float = 1.0

    def delay(self, attempt: int) -> float:
        return float(min(self.base_delay * (4**attempt), self.max_delay))


class Parsed(Protocol):
    """What a parse step makes of one record."""

    record: Record
    error: str | None  # set: dead-letter it at once, untried (malformed input)


ItemT = TypeVar("ItemT", bound=Parsed)


@dataclass
class BatchConsumer(Generic[ItemT]):
    """The bus's delivery rules for one kind of message; a subclass says what a message is.

    * ``parse(record)``: the item to apply, or ``None`` to skip the record. It must not
      raise: a record it cannot read is an item with ``error`` set.
    * ``apply_batch(conn, items)``: apply items inside the batch's open transaction.
    * ``rejected(item, exc)``: the reject hook, called once an item that failed every
      try is in the DLQ (with ``exc``, its last error); nothing by default.
    """

    name: str
    pool: Callable[[], asyncpg.Pool]
    publish: Callable[[], Publish]
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    after_commit: list[Callable[[Sequence[Record]], Awaitable[None] | None]] = field(
        default_factory=list
    )
    subscriber_options: dict[str, Any] = field(default_factory=dict)

    def parse(self, record: Record) -> ItemT | None:
        raise NotImplementedError

    async def apply_batch(self, conn: asyncpg.Connection, items: Sequence[ItemT]) -> None:
        raise NotImplementedError

    async def rejected(self, item: ItemT, exc: Exception) -> None:
        """Called after ``item`` was dead-lettered for failing every try."""

    @property
    def summary(self) -> str:
        """What the subscriber handles, for the AsyncAPI document."""
        return ""

    def subscribe(
        self,
        router: KafkaRouter,
        *topics: str,
        group_id: str,
        max_records: int = 500,
        description: str = "",
        **options: Any,
    ) -> None:
        """Register a FastStream batch subscriber that feeds :meth:`process`."""

        async def consume(body: list[bytes], msg: KafkaMessage) -> None:
            del body  # we decode ourselves: a bad message must not fail the batch
            await self.process(msg.raw_message)
            self._observe_lag(msg.consumer, msg.raw_message)

        router.subscriber(
            *topics,
            group_id=group_id,
            batch=True,
            max_records=max_records,
            # FastStream sleeps this long again after an empty poll, and an event that
            # comes meanwhile waits it out: short keeps an idle consumer quick to answer.
            batch_timeout_ms=BATCH_WAIT_MS,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            decoder=_raw_values,
            **(self.subscriber_options | options),
            title=f"{self.name}:consume",
            description=description or self.summary,
        )(consume)

    async def process(self, records: Sequence[Record]) -> None:
        """Apply one fetched batch. Returns normally only when every record has been
        applied, skipped or dead-lettered."""
        items = [i for i in map(self.parse, records) if i is not None]
        bad = [i for i in items if i.error is not None]
        good = [i for i in items if i.error is None]
        started = time.perf_counter()
        try:
            if good:
                try:
                    await self._apply(good)
                except Exception as exc:
                    if is_retryable(exc):
                        await self._pause(exc)
                        raise
                    log.warning("consumer.batch_failed", consumer=self.name, error=repr(exc))
                    for item in good:
                        await self._apply_alone(item)
            for item in bad:
                await self._dead_letter(item, attempts=1)
        finally:
            HANDLER_SECONDS.labels(consumer=self.name).observe(time.perf_counter() - started)
        for hook in self.after_commit:
            result = hook(records)
            if result is not None:
                await result

    def _observe_lag(self, consumer: Any, records: Sequence[Record]) -> None:
        """Records behind the log end per partition, from the client's last fetch."""
        last: dict[tuple[str, int], int] = {}
        for r in records:
            last[(r.topic, r.partition)] = max(r.offset, last.get((r.topic, r.partition), -1))
        for (topic, partition), offset in last.items():
            highwater = consumer.highwater(TopicPartition(topic, partition))
            if highwater is not None:
                CONSUMER_LAG.labels(self.name, topic, str(partition)).set(
                    max(highwater - offset - 1, 0)
                )

    async def _apply(self, items: Sequence[ItemT]) -> None:
        async with self.pool().acquire() as conn, conn.transaction():
            await self.apply_batch(conn, items)

    async def _apply_alone(self, item: ItemT) -> None:
        last: Exception | None = None
        for attempt in range(self.retry.attempts):
            try:
                await self._apply([item])
                return
            except Retry as exc:
                last = exc
                await asyncio.sleep(self.retry.delay(attempt))
                if attempt == self.retry.attempts - 1:
                    raise
            except Exception as exc:
                if is_retryable(exc):
                    await self._pause(exc)
                    raise
                last = exc
                if attempt < self.retry.attempts - 1:
                    await asyncio.sleep(self.retry.delay(attempt))
        assert last is not None  # at least one try, and each that succeeded returned
        item.error = f"{type(last).__name__}: {last}"
        await self._dead_letter(item, attempts=self.retry.attempts)
        await self.rejected(item, last)

    async def _dead_letter(self, item: ItemT, *, attempts: int) -> None:
        r = item.record
        topic = r.topic + DLQ_SUFFIX
        headers = {
            "x-error": (item.error or "")[:2000],
            "x-original-topic": r.topic,
            "x-original-partition": str(r.partition),
            "x-original-offset": str(r.offset),
            "x-consumer": self.name,
            "x-attempts": str(attempts),
            "x-failed-at": datetime.now(UTC).isoformat(),
        }
        await self.publish()(topic, r.value or b"", r.key, headers)
        DEAD_LETTERED.labels(consumer=self.name, topic=r.topic).inc()
        log.error(
            "consumer.dead_lettered",
            consumer=self.name,
            topic=r.topic,
            partition=r.partition,
            offset=r.offset,
            error=item.error,
        )

    async def _pause(self, exc: BaseException) -> None:
        log.warning("consumer.unavailable", consumer=self.name, error=repr(exc))
        await asyncio.sleep(self.retry.unavailable_pause)


@dataclass
class _Item:
    record: Record
    event: Envelope[Payload] | None = None
    error: str | None = None


@dataclass
class EventConsumer(BatchConsumer[_Item]):
    """Applies events from the bus to one service's database, exactly once in effect."""

    # By event type, derived from the payload class once, at registration: the hot path
    # looks a parsed event's type up in a dict and does nothing else per event.
    handlers: dict[str, Handler[Any]] = field(default_factory=dict)
    batch_handlers: dict[str, BatchHandler[Any]] = field(default_factory=dict)

    def on(self, payload: type[E], handler: Handler[E]) -> None:
        """Apply ``handler(conn, event)`` to each event whose payload is a ``payload``.

        Typed: ``on(TicketCalled, handler)`` takes only a handler of
        ``Envelope[TicketCalled]`` (or of a base it shares, such as ``TicketFacts``), so
        a handler registered for the wrong payload does not type-check."""
        self.handlers[_type_of(payload)] = handler

    def on_batch(self, payload: type[E], handler: BatchHandler[E]) -> None:
        """Apply ``handler(conn, events)`` to events whose payload is a ``payload``: each
        run of consecutive events of that type in a fetched batch arrives in one call, in
        order, so the handler can write them with one ``executemany`` instead of one
        round-trip each."""
        self.batch_handlers[_type_of(payload)] = handler

    @property
    def handled(self) -> set[str]:
        return set(self.handlers) | set(self.batch_handlers)

    @property
    def summary(self) -> str:
        return f"Handles {', '.join(sorted(self.handled)) or 'events'} (see docs/events)"

    def parse(self, record: Record) -> _Item | None:
        """The event; ``None`` for an unknown type (consumers tolerate new types)."""
        try:
            event = parse_event(record.value or b"")
            if not belongs_on(event.event_type, record.topic):
                return _Item(record, error=_misplaced(event.event_type, record.topic))
            return _Item(record, event=event)
        except UnknownEventType as exc:
            log.debug("consumer.unknown_event", consumer=self.name, error=str(exc))
            return None
        except MalformedEvent as exc:
            return _Item(record, error=str(exc))
        except Exception as exc:  # a parser bug must dead-letter the message, not stall us
            log.error("consumer.parser_failed", consumer=self.name, error=repr(exc))
            return _Item(record, error=f"unparseable: {type(exc).__name__}: {exc}")

    async def apply_batch(self, conn: asyncpg.Connection, items: Sequence[_Item]) -> None:
        events = [i.event for i in items if i.event is not None]
        fresh = await inbox.claim(conn, self.name, [e.event_id for e in events])
        run: list[Envelope[Payload]] = []  # consecutive events for one batch handler
        for event in events:
            if event.event_id not in fresh:
                CONSUMED.labels(self.name, event.event_type, "duplicate").inc()
                continue
            fresh.discard(event.event_id)  # a duplicate inside the batch applies once
            if run and run[-1].event_type != event.event_type:
                await self._apply_run(conn, run)
                run = []
            if event.event_type in self.batch_handlers:
                run.append(event)
                continue
            handler = self.handlers.get(event.event_type)
            if handler is not None:
                with structlog.contextvars.bound_contextvars(
                    event_id=str(event.event_id),
                    correlation_id=str(event.correlation_id),
                    center_id=event.center_id,
                ):
                    await handler(conn, event)
            outcome = "applied" if handler else "ignored"
            CONSUMED.labels(self.name, event.event_type, outcome).inc()
        if run:
            await self._apply_run(conn, run)

    async def _apply_run(self, conn: asyncpg.Connection, run: list[Envelope[Payload]]) -> None:
        await self.batch_handlers[run[0].event_type](conn, run)
        CONSUMED.labels(self.name, run[0].event_type, "applied").inc(len(run))


def _type_of(payload: type[Payload]) -> str:
    if not payload.EVENT_TYPE:  # a base such as DossierFacts: no event is ever one
        raise TypeError(f"{payload.__name__} names no event type; register its events")
    return payload.EVENT_TYPE


def _misplaced(event_type: str, topic: str) -> str:
    owner = stream_of(event_type)
    return (
        f"{event_type} does not belong on topic {topic}: only {owner.owner} publishes it, "
        f"on {owner.name}"
    )


async def _raw_values(msg: Any) -> list[bytes]:
    return [r.value or b"" for r in msg.raw_message]


def faststream_publisher(router: KafkaRouter) -> Publish:
    """Publish raw bytes through the router's broker (acks=all), e.g. to a DLQ."""

    async def publish(topic: str, value: bytes, key: bytes | None, headers: dict[str, str]) -> None:
        await router.broker.publish(value, topic=topic, key=key, headers=headers)

    return publish
