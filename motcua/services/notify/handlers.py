"""Bus subscribers of the notify service: thin wiring from event types to triggers.

Every handler runs inside the consumer's batch transaction, so the messages an
event calls for are recorded (never sent) together with the inbox claim. Queue
events are applied one by one; runs of dossier and deadline events, together.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg

from motcua.services.notify import triggers
from motcua.services.notify.usecases import Notifier
from motcua.shared.events import Envelope
from motcua.shared.events.topics import DEADLINES, DOSSIERS, QUEUE
from motcua.shared.runtime import ServiceRuntime

Trigger = Callable[[Notifier, asyncpg.Connection, Envelope[Any]], Awaitable[None]]

TRIGGERS: dict[str, Trigger] = {
    "ticket.issued": triggers.ticket_joined,
    "ticket.transferred": triggers.ticket_joined,
    "ticket.requeued": triggers.ticket_joined,
    "ticket.called": triggers.ticket_called,
    "ticket.no_show": triggers.ticket_left,
    "ticket.cancelled": triggers.ticket_left,
    "ticket.service_started": triggers.ticket_left,
    "ticket.service_completed": triggers.ticket_left,
    "counter.opened": triggers.counter_opened,
    "counter.closed": triggers.counter_closed,
}

BATCH_TRIGGERS: dict[str, triggers.BatchTrigger] = {
    "dossier.received": triggers.dossiers_received,
    "dossier.supplement_requested": triggers.supplement_requested,
    "dossier.resolved": triggers.dossier_resolved,
    "dossier.returned": triggers.dossier_returned,
    # No message; they start the clock of the personal-data purge. Intake's events,
    # on its topic, like every dossier event here.
    "dossier.withdrawn": triggers.dossier_closed,
    "dossier.stopped": triggers.dossier_closed,
    "deadline.overdue": triggers.deadline_overdue,
}


def register(runtime: ServiceRuntime, notifier: Notifier) -> None:
    """Attach this service's event handlers to the runtime's consumer."""
    for event_type, trigger in TRIGGERS.items():
        runtime.consumer.on(event_type)(_bound(trigger, notifier))
    for event_type, batch in BATCH_TRIGGERS.items():
        runtime.consumer.on_batch(event_type)(_bound_batch(batch, notifier))
    runtime.every(runtime.settings.metrics_sample_seconds, _expiry(notifier), "held-expiry")
    runtime.consumer.subscribe(
        runtime.router,
        runtime.topic(QUEUE),
        runtime.topic(DOSSIERS),
        runtime.topic(DEADLINES),
        group_id=runtime.group(),
        max_records=runtime.settings.consumer_batch,
    )


def _bound(trigger: Trigger, notifier: Notifier) -> Callable[..., Awaitable[None]]:
    async def handle(conn: asyncpg.Connection, event: Envelope[Any]) -> None:
        await trigger(notifier, conn, event)

    handle.__name__ = trigger.__name__
    return handle


def _bound_batch(
    trigger: triggers.BatchTrigger, notifier: Notifier
) -> Callable[..., Awaitable[None]]:
    async def handle(conn: asyncpg.Connection, events: Sequence[Envelope[Any]]) -> None:
        await trigger(notifier, conn, events)

    handle.__name__ = trigger.__name__
    return handle


def _expiry(notifier: Notifier) -> Callable[[asyncpg.Connection], Awaitable[None]]:
    """Held messages whose receipt never came expire, and the gauge of those held is set."""

    async def expire(conn: asyncpg.Connection) -> None:
        await notifier.expire_held(conn)

    return expire
