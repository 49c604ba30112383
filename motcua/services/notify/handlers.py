"""Bus subscribers of the notify service: thin wiring from payload classes to triggers.

Every handler runs inside the consumer's batch transaction, so the messages an
event calls for are recorded (never sent) together with the inbox claim. Queue
events are applied one by one; runs of dossier and deadline events, together.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import asyncpg

from motcua.services.notify import escalation, reminders, triggers
from motcua.services.notify.usecases import Notifier
from motcua.shared.bus.consumer import BatchHandler, Handler
from motcua.shared.events import Envelope, Payload
from motcua.shared.events.catalog import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentCheckedIn,
    AppointmentNoShow,
    AppointmentRescheduled,
    CounterClosed,
    CounterOpened,
    DeadlineAppointmentSet,
    DeadlineApproaching,
    DeadlineAtRisk,
    DeadlineOverdue,
    DeadlineUpdated,
    DossierAssigned,
    DossierFinancialObligationNotified,
    DossierNotAccepted,
    DossierReceived,
    DossierResolved,
    DossierReturned,
    DossierStopped,
    DossierSubmitted,
    DossierSupplementRequested,
    DossierWithdrawn,
    TicketCalled,
    TicketCancelled,
    TicketIssued,
    TicketNoShow,
    TicketRequeued,
    TicketServiceCompleted,
    TicketServiceStarted,
    TicketTransferred,
)
from motcua.shared.events.topics import DEADLINES, DOSSIERS, QUEUE
from motcua.shared.runtime import ServiceRuntime

E = TypeVar("E", bound=Payload)


def register(runtime: ServiceRuntime, notifier: Notifier) -> None:
    """Attach this service's event handlers to the runtime's consumer."""
    on, on_batch = runtime.consumer.on, runtime.consumer.on_batch
    for joined in (TicketIssued, TicketTransferred, TicketRequeued):
        on(joined, _bound(triggers.ticket_joined, notifier))
    on(TicketCalled, _bound(triggers.ticket_called, notifier))
    for left in (TicketNoShow, TicketCancelled, TicketServiceStarted, TicketServiceCompleted):
        on(left, _bound(triggers.ticket_left, notifier))
    on(CounterOpened, _bound(triggers.counter_opened, notifier))
    on(CounterClosed, _bound(triggers.counter_closed, notifier))

    on_batch(DossierReceived, _bound_batch(triggers.dossiers_received, notifier))
    on_batch(DossierSupplementRequested, _bound_batch(triggers.supplement_requested, notifier))
    on_batch(DossierResolved, _bound_batch(triggers.dossier_resolved, notifier))
    on_batch(DossierReturned, _bound_batch(triggers.dossier_returned, notifier))
    on_batch(DossierSubmitted, _bound_batch(triggers.dossiers_submitted, notifier))
    on_batch(DossierNotAccepted, _bound_batch(triggers.dossiers_not_accepted, notifier))
    # No message; they start the clock of the personal-data purge. Intake's events,
    # on its topic, like every dossier event here.
    for closed in (DossierWithdrawn, DossierStopped):
        on_batch(closed, _bound_batch(triggers.dossier_closed, notifier))
    # Deadlines reach the staff up the center's escalation ladder (``escalation.py``);
    # an overdue one also tells the citizen the apology letter's new date.
    on_batch(DossierAssigned, _bound_batch(escalation.dossiers_assigned, notifier))
    on_batch(DeadlineApproaching, _bound_batch(escalation.escalate, notifier))
    on_batch(DeadlineAtRisk, _bound_batch(escalation.escalate, notifier))
    on_batch(DeadlineOverdue, _bound_batch(_overdue, notifier))
    on_batch(
        DossierFinancialObligationNotified, _bound_batch(triggers.financial_obligation, notifier)
    )
    on_batch(DeadlineUpdated, _bound_batch(triggers.new_appointment, notifier))
    on_batch(DeadlineAppointmentSet, _bound_batch(triggers.letter_date, notifier))

    # Appointments booked at the queue: a confirmation, then a reminder the day before.
    for booked in (AppointmentBooked, AppointmentRescheduled):
        on(booked, _bound(reminders.appointment_booked, notifier))
    for ended in (AppointmentCheckedIn, AppointmentCancelled, AppointmentNoShow):
        on(ended, _bound(reminders.appointment_ended, notifier))

    runtime.every(runtime.settings.metrics_sample_seconds, _expiry(notifier), "held-expiry")
    runtime.every(
        notifier.settings.appointment_reminder_sweep_seconds,
        _reminders(notifier),
        "appointment-reminders",
    )
    runtime.every(
        notifier.settings.escalation_sweep_seconds,
        _still_open(notifier),
        "overdue-still-open",
    )
    runtime.consume(QUEUE, DOSSIERS, DEADLINES)


async def _overdue(
    n: Notifier, conn: asyncpg.Connection, events: Sequence[Envelope[DeadlineOverdue]]
) -> None:
    """The citizen's apology, then the staff up the ladder: one handler per payload."""
    await triggers.deadline_overdue(n, conn, events)
    await escalation.escalate(n, conn, events)


def _bound(trigger: triggers.Trigger[E], notifier: Notifier) -> Handler[E]:
    async def handle(conn: asyncpg.Connection, event: Envelope[E]) -> None:
        await trigger(notifier, conn, event)

    handle.__name__ = trigger.__name__
    return handle


def _bound_batch(trigger: triggers.BatchTrigger[E], notifier: Notifier) -> BatchHandler[E]:
    async def handle(conn: asyncpg.Connection, events: Sequence[Envelope[E]]) -> None:
        await trigger(notifier, conn, events)

    handle.__name__ = trigger.__name__
    return handle


def _expiry(notifier: Notifier) -> Callable[[asyncpg.Connection], Awaitable[None]]:
    """Held messages whose receipt never came expire, and the gauge of those held is set."""

    async def expire(conn: asyncpg.Connection) -> None:
        await notifier.expire_held(conn)

    return expire


def _reminders(notifier: Notifier) -> Callable[[asyncpg.Connection], Awaitable[None]]:
    """Reminders of booked appointments that fell due are recorded for sending."""

    async def send(conn: asyncpg.Connection) -> None:
        await reminders.send_due(notifier, conn)

    return send


def _still_open(notifier: Notifier) -> Callable[[asyncpg.Connection], Awaitable[None]]:
    """Overdue dossiers still open after the center's hours reach the leader again."""

    async def send(conn: asyncpg.Connection) -> None:
        await escalation.still_open_due(notifier, conn)

    return send
