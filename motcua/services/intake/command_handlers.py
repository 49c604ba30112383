"""Consuming clerk-app commands from ``intake.commands`` with the bus's guarantees.

``CommandConsumer`` is a ``motcua.shared.bus.consumer.BatchConsumer``: batches, NACK on an
unavailable database, bounded retries and the DLQ follow the same rules as for
events. Commands differ in two ways that matter: a bad command is answered (one
``command.rejected`` event) rather than only dead-lettered, and idempotency is
keyed on ``command_id``. So:

* A fetched batch is applied in **one** transaction: each command's idempotency
  claim, its effect (state, history, outbox events) or its rejection commit
  together, and only then are the offsets committed (NACK on error).
* Each command runs in a savepoint, so a refused command leaves no partial
  effect, and the partition flows on.
* A command must prove its author: it carries the clerk's token, verified here
  (``authenticate``) before anything else. One without a valid token (none,
  forged, expired) is rejected and never claims its ``command_id``: it is keyed
  by its partition and offset instead, so a forger cannot use up the id of a
  genuine command. An authentic one then passes the use case's
  ``Intake.authorize``, the very check of the HTTP path (center, author,
  backdating by admins only).
* A command seen before (applied or rejected) is skipped: no second effect, no
  second rejection. A message without a readable ``command_id`` is keyed by its
  partition and offset, so its redelivery is recognised too.
* An unexpected failure retries the command alone a bounded number of times,
  then dead-letters it to ``intake.commands.dlq`` and rejects it (the reject
  hook); an unavailable database NACKs the batch for a later retry instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg

from motcua.services.intake.errors import IntakeError
from motcua.services.intake.repository import dossiers
from motcua.services.intake.usecases import dossier_id_for
from motcua.shared.auth import AuthError, Principal
from motcua.shared.bus import outbox
from motcua.shared.bus.consumer import BatchConsumer, Record
from motcua.shared.events.catalog import CommandRejected
from motcua.shared.events.commands import Command, CommandError, ReceiveDossier, parse_command
from motcua.shared.events.envelope import new_event
from motcua.shared.logging import get_logger
from motcua.shared.metrics import CONSUMED

log = get_logger(__name__)

C = TypeVar("C", bound=Command[Any])
CommandHandler = Callable[[asyncpg.Connection, C, Principal, datetime], Awaitable[None]]
"""``handler(conn, command, author, now)``: the use case; raises ``IntakeError`` to refuse."""
Authenticate = Callable[[str], Principal]
"""The holder of a clerk token (``motcua.shared.auth.verify_token``); raises ``AuthError``."""


@dataclass
class _Item:
    """One consumed message and what could be made of it."""

    record: Record
    command_id: str
    command: Command[Any] | None = None
    author: Principal | None = None
    rejection: str | None = None
    command_type: str | None = None
    center_id: str | None = None
    dossier_id: uuid.UUID | None = None
    error: str | None = None  # why it was dead-lettered; a bad command is rejected instead
    by_offset: bool = False  # unproven author: settle this message, never its command_id

    @property
    def key(self) -> str:
        if self.by_offset:
            r = self.record
            return f"bus:{f'{r.topic}@{r.partition}:{r.offset}'[-128:]}"
        return f"bus:{self.command_id}"


@dataclass(kw_only=True)
class CommandConsumer(BatchConsumer[_Item]):
    """Applies clerk-app commands to intake's database, each id at most once."""

    authenticate: Authenticate
    producer: str = "intake"
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # By command type, derived from the command class once, at registration.
    handlers: dict[str, CommandHandler[Any]] = field(default_factory=dict)

    def on(self, command: type[C], handler: CommandHandler[C]) -> None:
        """Apply commands of this class with ``handler``; typed like the event consumer's
        ``on``, so ``on(ReceiveDossier, handler)`` takes only a handler of a
        ``ReceiveDossier`` (or of a command type it is)."""
        self.handlers[command.COMMAND_TYPE] = handler

    @property
    def summary(self) -> str:
        return (
            "Clerk-app commands (JSON Schema: docs/events/command.*.json). "
            "Each carries its author's clerk token (field token) and is applied once by "
            "command_id; an unsigned or refused one yields command.rejected. Written by "
            "clerk apps only (Kafka ACL); read by intake only."
        )

    def parse(self, record: Record) -> _Item:
        """The command, or what can be read of a bad one so that it can be answered."""
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
                # A clerk's faulty command settles its id; a stranger's cannot claim one.
                by_offset=self._author(exc.token) is None,
            )
        item = _Item(
            record,
            command_id=str(command.command_id),
            command=command,
            command_type=command.command_type,
            center_id=command.center_id,
            dossier_id=dossier_id_for(command)
            if isinstance(command, ReceiveDossier)
            else command.dossier_id,
        )
        try:
            if command.token is None:
                raise AuthError("the command carries no clerk token")
            item.author = self.authenticate(command.token)
        except AuthError as exc:
            item.command, item.by_offset = None, True
            item.rejection = f"unauthenticated: {exc}"
        return item

    def _author(self, token: str | None) -> Principal | None:
        try:
            return self.authenticate(token) if token else None
        except AuthError:
            return None

    async def apply_batch(self, conn: asyncpg.Connection, items: Sequence[_Item]) -> None:
        now = self.clock()
        for item in items:
            await self._one(conn, item, now)

    async def rejected(self, item: _Item, exc: Exception) -> None:
        """Dead-lettered: answer the clerk app too; the id is then settled like any rejection."""
        item.command, item.rejection = None, f"could not be applied ({type(exc).__name__})"
        await self._apply([item])

    async def _one(self, conn: asyncpg.Connection, item: _Item, now: datetime) -> None:
        kind = item.command_type or "unknown"
        fresh = await dossiers.claim_command(
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
        if reason is None and item.command is not None and item.author is not None:
            handler = self.handlers.get(item.command.COMMAND_TYPE)
            if handler is None:  # a known command no handler was registered for
                reason = f"{kind} is not applied here"
            else:
                try:
                    async with conn.transaction():  # a savepoint: a refusal leaves nothing
                        await handler(conn, item.command, item.author, now)
                    CONSUMED.labels(self.name, kind, "applied").inc()
                    return
                except IntakeError as exc:
                    reason = exc.message
        await self._reject(conn, item, reason or "not a command")

    async def _reject(self, conn: asyncpg.Connection, item: _Item, reason: str) -> None:
        reason = reason[:2000]
        await dossiers.mark_rejected(conn, item.key, reason)
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
