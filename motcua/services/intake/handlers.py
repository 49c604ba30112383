"""Bus subscribers of the intake service: parse, apply the use case, write through the outbox.

* ``center.configured`` from the registry stream (``motcua.shared.centers.follow``):
  each center's name, dossier-code prefix and calendar, a newer revision only.
* ``ticket.service_completed`` from the queue stream, through the shared
  ``EventConsumer`` (inbox-deduplicated, one transaction per batch): remembers
  the served ticket and links it to its dossier, whichever arrives first.
* ``deadline.set`` and ``deadline.updated`` from the deadline stream (written by the
  deadlines service only, by ACL; no one else may call it), through the same
  consumer: the dossier's appointment date follows its legal clock
  (``clock.follow_clock``), so a pause, a resumption or an extension reaches the
  lookup, the dossier view and a reprinted receipt.
* ``staff.configured`` from notify's ``staff.events`` (written by notify only, by ACL): the
  center's staff directory, a newer revision only, so that a dossier is assigned to an
  active member (``staff.check_assignee``).
* Clerk-app commands from ``intake.commands``, through :class:`CommandConsumer`
  (idempotent by command id; a refused command yields ``command.rejected``). Who
  may call it: clerk apps holding a clerk token, which each command carries and
  which is verified with the deployment's auth secret, as on the HTTP API.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from motcua.services.intake.clock import follow_clock
from motcua.services.intake.command_handlers import CommandConsumer
from motcua.services.intake.staff import follow_staff
from motcua.services.intake.usecases import Intake
from motcua.shared.auth import Principal, verify_for
from motcua.shared.bus.consumer import faststream_publisher
from motcua.shared.centers import follow
from motcua.shared.events.catalog import (
    DeadlineSet,
    DeadlineUpdated,
    StaffConfigured,
    TicketServiceCompleted,
)
from motcua.shared.events.commands import ALL_COMMANDS, Command, CommandData
from motcua.shared.events.envelope import Envelope
from motcua.shared.events.topics import DEADLINES, INTAKE_COMMANDS, QUEUE, REGISTRY, STAFF
from motcua.shared.procedures import follow_procedures
from motcua.shared.runtime import ServiceRuntime


def register(runtime: ServiceRuntime, intake: Intake) -> CommandConsumer:
    """Attach this service's subscribers to the runtime; returns the command consumer."""

    async def on_ticket_served(
        conn: asyncpg.Connection, event: Envelope[TicketServiceCompleted]
    ) -> None:
        await intake.record_served_ticket(conn, event)

    runtime.consumer.on(TicketServiceCompleted, on_ticket_served)

    runtime.consumer.on(DeadlineSet, follow_clock)
    runtime.consumer.on(DeadlineUpdated, follow_clock)
    # The center registry: names, codes and calendars, followed without a restart.
    follow(runtime, intake.centers)
    # The procedure catalog too: a changed time limit or a retired procedure holds for
    # the next receipt, without a restart.
    follow_procedures(runtime, intake.procedures)
    # Notify's staff directory: an assignee must be an active member (``staff.py``).
    runtime.consumer.on(StaffConfigured, follow_staff)
    runtime.consume(QUEUE, DEADLINES, REGISTRY, STAFF)

    async def apply(
        conn: asyncpg.Connection, command: Command[CommandData], author: Principal, now: datetime
    ) -> None:
        # One use case takes every command: it authorizes, then receives or acts.
        await intake.execute(conn, command, author=author, now=now)

    def authenticate(token: str) -> Principal:
        return verify_for(runtime.settings, token)

    commands = CommandConsumer(
        name=f"{runtime.name}-commands",
        pool=lambda: runtime.pool,
        publish=lambda: faststream_publisher(runtime.router),
        authenticate=authenticate,
        producer=runtime.name,
    )
    for kind in ALL_COMMANDS:
        commands.on(kind, apply)
    commands.subscribe(
        runtime.router,
        runtime.topic(INTAKE_COMMANDS),
        group_id=runtime.group("-commands"),
        max_records=runtime.settings.consumer_batch,
        # Same group timing as the shared consumer (quick joins on the embedded broker).
        **runtime.consumer.subscriber_options,
    )
    return commands
