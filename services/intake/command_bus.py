"""Consuming clerk-app commands from ``intake.commands`` with the bus's guarantees.

``shared.bus.consumer.EventConsumer`` parses *events*; commands differ in two
ways that matter: a bad command is answered (one ``command.rejected`` event)
rather than only dead-lettered, and idempotency is keyed on ``command_id``. The
rest follows the same rules:

* A fetched batch is applied in **one** transaction: each command's idempotency
  claim, its effect (state, history, outbox events) or its rejection commit
  together, and only then are the offsets committed (NACK on error).
* Each command runs in a savepoint, so a refused command leaves no partial
  effect, and the partition flows on.
* A command seen before (applied or rejected) is skipped: no second effect, no
  second rejection. A message without a readable ``command_id`` is keyed by its
  partition and offset, so its redelivery is recognised too.
* An unexpected failure retries the command alone a bounded number of times,
  then dead-letters it to ``intake.commands.dlq`` and rejects it; an unavailable
  database NACKs the batch for a later retry instead.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
from faststream.kafka.fastapi import KafkaMessage, KafkaRouter
from faststream.middlewares import AckPolicy

from services.intake import repository
from services.intake.domain import IntakeError
from services.intake.usecases import dossier_id_for
from shared.bus import outbox
from shared.bus.consumer import Publish, Record, RetryPolicy
from shared.db import RETRYABLE
from shared.events.catalog import CommandRejected
from shared.events.commands import Command, CommandError, ReceiveDossier, parse_command
from shared.events.envelope import new_event
from shared.events.topics import DLQ_SUFFIX
from shared.logging import get_logger
from shared.metrics import CONSUMED, DEAD_LETTERED, HANDLER_SECONDS

log = get_logger(__name__)

Apply = Callable[[asyncpg.Connection, Command[Any], datetime], Awaitable[None]]
"""``apply(conn, command, now)``: the use case; raises ``IntakeError`` to refuse."""


@dataclass
class _Item:
    """One consumed message and what could be made of it."""

    record: Record
    command_id: str
    command: Command[Any] | None = None
    rejection: str | None = None
    command_type: str | None = None
    center_id: str | None = None
    dossier_id: uuid.UUID | None = None

    @property
    def key(self) -> str:
        return f"bus:{self.command_id}"


@dataclass
class CommandConsumer:
    """Applies clerk-app commands to intake's database, each id at most once."""

    name: str
    pool: Callable[[], asyncpg.Pool]
    publish: Callable[[], Publish]
    apply: Apply
    producer: str = "intake"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def subscribe(
        self,
        router: KafkaRouter,
        topic: str,
        *,
        group_id: str,
        max_records: int = 500,
        **options: Any,
    ) -> None:
        """Register a FastStream batch subscriber that feeds :meth:`process`."""

        async def consume(body: list[bytes], msg: KafkaMessage) -> None:
            del body  # decoded here: a bad command must not fail the whole batch
            await self.process(msg.raw_message)

        router.subscriber(
            topic,
            group_id=group_id,
            batch=True,
            max_records=max_records,
            batch_timeout_ms=100,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            decoder=_raw_values,
            **options,
            title=f"{self.name}:consume",
            description="Clerk-app commands (JSON Schema: docs/events/command.*.json). "
            "Each is applied once by command_id; a refused one yields command.rejected.",
        )(consume)

    async def process(self, records: Sequence[Record]) -> None:
        """Apply one fetched batch; returns once every command is applied, skipped
        as a duplicate, or rejected."""
        items = [_parse(r) for r in records]
        started = time.perf_counter()
        try:
            try:
                await self._apply(items)
            except RETRYABLE as exc:
                await self._pause(exc)
                raise
            except Exception as exc:
                log.warning("commands.batch_failed", consumer=self.name, error=repr(exc))
                for item in items:
                    await self._apply_alone(item)
        finally:
            HANDLER_SECONDS.labels(consumer=self.name).observe(time.perf_counter() - started)

    async def _apply(self, items: Sequence[_Item]) -> None:
        async with self.pool().acquire() as conn, conn.transaction():
            now = self.clock()
            for item in items:
                await self._one(conn, item, now)

    async def _one(self, conn: asyncpg.Connection, item: _Item, now: datetime) -> None:
        kind = item.command_type or "unknown"
        fresh = await repository.claim_command(
            conn,
            item.key,
            command_type=item.command_type,
            center_id=item.center_id,
            dossier_id=item.dossier_id,
        )
        if not fresh:
            CONSUMED.labels(self.name, kind, "duplicate").inc()
            return
        reason = item.rejection
        if reason is None and item.command is not None:
            try:
                async with conn.transaction():  # a savepoint: a refusal leaves nothing behind
                    await self.apply(conn, item.command, now)
                CONSUMED.labels(self.name, kind, "applied").inc()
                return
            except IntakeError as exc:
                reason = exc.message
        await self._reject(conn, item, reason or "not a command")

    async def _reject(self, conn: asyncpg.Connection, item: _Item, reason: str) -> None:
        reason = reason[:2000]
        await repository.mark_rejected(conn, item.key, reason)
        cause = item.command.command_id if item.command else None
        correlation = item.command.correlation_id if item.command else None
        event = new_event(
            CommandRejected(
                command_id=item.command_id,
                command_type=item.command_type,
                reason=reason,
                dossier_id=item.dossier_id,
            ),
            center_id=item.center_id or "unknown",
            producer=self.producer,
            correlation_id=correlation or cause,
            causation_id=cause,
        )
        await outbox.add(conn, event)
        CONSUMED.labels(self.name, item.command_type or "unknown", "rejected").inc()
        log.info(
            "command.rejected",
            command_id=item.command_id,
            command_type=item.command_type,
            reason=reason,
        )

    async def _apply_alone(self, item: _Item) -> None:
        last: Exception | None = None
        for attempt in range(self.retry.attempts):
            try:
                await self._apply([item])
                return
            except RETRYABLE as exc:
                await self._pause(exc)
                raise
            except Exception as exc:
                last = exc
                if attempt < self.retry.attempts - 1:
                    await asyncio.sleep(self.retry.delay(attempt))
        error = f"{type(last).__name__}: {last}"
        await self._dead_letter(item, error)
        # Answer the clerk app too; the command id is then settled like any rejection.
        item.command, item.rejection = None, f"could not be applied ({type(last).__name__})"
        await self._apply([item])

    async def _dead_letter(self, item: _Item, error: str) -> None:
        r = item.record
        headers = {
            "x-error": error[:2000],
            "x-original-topic": r.topic,
            "x-original-partition": str(r.partition),
            "x-original-offset": str(r.offset),
            "x-consumer": self.name,
            "x-attempts": str(self.retry.attempts),
            "x-failed-at": datetime.now(UTC).isoformat(),
        }
        await self.publish()(r.topic + DLQ_SUFFIX, r.value or b"", r.key, headers)
        DEAD_LETTERED.labels(consumer=self.name, topic=r.topic).inc()
        log.error(
            "commands.dead_lettered",
            consumer=self.name,
            topic=r.topic,
            partition=r.partition,
            offset=r.offset,
            error=error,
        )

    async def _pause(self, exc: BaseException) -> None:
        log.warning("commands.unavailable", consumer=self.name, error=repr(exc))
        await asyncio.sleep(self.retry.unavailable_pause)


def _parse(record: Record) -> _Item:
    try:
        command = parse_command(record.value or b"")
    except CommandError as exc:
        where = f"{record.topic}@{record.partition}:{record.offset}"[-128:]
        return _Item(
            record,
            command_id=exc.command_id or where,
            rejection=exc.reason if exc.command_id else f"{exc.reason} (no command_id)",
            command_type=exc.command_type,
            center_id=exc.center_id,
            dossier_id=exc.dossier_id,
        )
    return _Item(
        record,
        command_id=str(command.command_id),
        command=command,
        command_type=command.command_type,
        center_id=command.center_id,
        dossier_id=dossier_id_for(command)
        if isinstance(command, ReceiveDossier)
        else command.dossier_id,
    )


async def _raw_values(msg: Any) -> list[bytes]:
    return [r.value or b"" for r in msg.raw_message]
