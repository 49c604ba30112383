"""What each consumed event triggers: the waiting line it changes, the message it calls for.

| Event                             | Message                                   |
|-----------------------------------|-------------------------------------------|
| a ticket comes close to the front | ``turn_soon`` (once per wait)             |
| ``ticket.called``                 | ``ticket_called``: go to counter X        |
| ``dossier.received``              | ``dossier_received``: code, date, link    |
| ``dossier.supplement_requested``  | ``supplement_requested``: what is missing |
| ``dossier.resolved``              | ``result_ready``                          |
| ``dossier.returned``              | ``dossier_returned``: the rating link     |
| ``deadline.overdue``              | ``deadline_apology``: the new date        |
| ``deadline.updated``              | ``new_appointment``: the date moved       |
| ``deadline.appointment_set``      | ``new_appointment``: the letter's date    |
| ``dossier.financial_obligation_`` | ``financial_obligation``: the amount,     |
| ``notified``                      | what it is for, how to pay                |
| ``dossier.submitted``             | ``dossier_submitted``: code, secret, link |
| ``dossier.not_accepted``          | ``not_accepted``: the clerk's reason      |

A ``deadline.updated`` is emitted once per move of the due instant (its event id is
derived from the dossier and the new instant), and the inbox drops a redelivered copy,
so the citizen hears of each new date once.

"Close" is derived from the queue's events: notify keeps each line's waiting
tickets (priority first, then arrival, as the queue serves them), a per-line
service time learned from completed services, and the open counters. A ticket
that joins a line already close is not messaged (the kiosk just told them).

A dossier's later messages go to the contact given with its receipt. Deadline
events travel on another topic than ``dossier.received``, so one may be consumed
first: its message is then held, and the receipt releases it (``Notifier``).

Queue events change the waiting line one after another, so they are applied one
at a time. Dossier and deadline events are independent of each other: each run
of them in a fetched batch is applied at once (``BatchTrigger``), in a few round
trips whatever its length.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import asyncpg
import structlog

from motcua.services.notify import escalation, personal_data
from motcua.services.notify.domain import (
    Kind,
    SoonState,
    TurnSoonRule,
    WaitingTicket,
    entry_state,
    newly_close,
    updated_service_seconds,
    whole_minutes,
)
from motcua.services.notify.repository import citizens as repo
from motcua.services.notify.repository.citizens import Place
from motcua.services.notify.usecases import Intent, Notifier
from motcua.shared.events import Envelope, Payload
from motcua.shared.events.catalog import (
    CounterClosed,
    CounterOpened,
    DeadlineAppointmentSet,
    DeadlineFacts,
    DeadlineOverdue,
    DeadlineUpdated,
    DossierFacts,
    DossierFinancialObligationNotified,
    DossierNotAccepted,
    DossierReceived,
    DossierResolved,
    DossierReturned,
    DossierSubmitted,
    DossierSupplementRequested,
    TicketCalled,
    TicketFacts,
    TicketIssued,
    TicketServiceCompleted,
)

E = TypeVar("E", bound=Payload)
Trigger = Callable[[Notifier, asyncpg.Connection, Envelope[E]], Awaitable[None]]
"""What one event of payload ``E`` triggers (queue events: one at a time, in order)."""
BatchTrigger = Callable[[Notifier, asyncpg.Connection, Sequence[Envelope[E]]], Awaitable[None]]
"""What a run of events of payload ``E`` triggers, applied together."""

# ---------------------------------------------------------------- the queue


def _rule(n: Notifier) -> TurnSoonRule:
    return TurnSoonRule(n.settings.turn_soon_ahead, n.settings.turn_soon_minutes * 60)


async def _remember(n: Notifier, conn: asyncpg.Connection, event: Envelope[TicketFacts]) -> None:
    d = event.data  # any ticket event may carry the kiosk's contact
    await n.remember_contact(conn, "ticket", d.ticket_id, event.center_id, d.contact)


async def ticket_joined(
    n: Notifier, conn: asyncpg.Connection, event: Envelope[TicketFacts]
) -> None:
    """``ticket.issued``, ``ticket.transferred``, ``ticket.requeued``: a new wait begins."""
    d = event.data
    await _remember(n, conn, event)
    place = Place(event.center_id, d.line_code)
    old = await repo.leave_line(conn, d.ticket_id)  # transferred while still waiting
    entered = d.issued_at if isinstance(d, TicketIssued) else event.occurred_at
    me = WaitingTicket(
        str(d.ticket_id),
        d.number,
        d.priority or d.priority_reason is not None,
        entered,
        SoonState.PENDING,
    )
    line = await repo.waiting_in_line(conn, place.center_id, place.line_code)
    seconds, counters = await repo.service_seconds(conn, place, n.settings.default_service_seconds)
    state = entry_state(me, line, _rule(n), service_seconds=seconds, open_counters=counters)
    await repo.enter_line(conn, d.ticket_id, place, d.number, me.priority, entered, state)
    if old is not None and old != place:
        await _line_moved(n, conn, event, old)


async def ticket_called(
    n: Notifier, conn: asyncpg.Connection, event: Envelope[TicketCalled]
) -> None:
    d = event.data
    await _remember(n, conn, event)
    place = await repo.leave_line(conn, d.ticket_id) or Place(event.center_id, d.line_code)
    context = {"number": d.number, "counter_id": d.counter_id or "", "line_code": d.line_code}
    await n.notify(conn, event, Kind.TICKET_CALLED, "ticket", d.ticket_id, context)
    await _line_moved(n, conn, event, place)


async def ticket_left(n: Notifier, conn: asyncpg.Connection, event: Envelope[TicketFacts]) -> None:
    """No-show, cancelled, service started or completed: no longer waiting."""
    d = event.data
    place = await repo.leave_line(conn, d.ticket_id)
    if place is not None:
        await _line_moved(n, conn, event, place)
    measured = d.service_seconds if isinstance(d, TicketServiceCompleted) else None
    if measured:
        line = Place(event.center_id, d.line_code)
        current, _ = await repo.service_seconds(conn, line, n.settings.default_service_seconds)
        await repo.save_service_seconds(conn, line, updated_service_seconds(current, measured))


async def counter_opened(
    n: Notifier, conn: asyncpg.Connection, event: Envelope[CounterOpened]
) -> None:
    d = event.data
    await repo.open_counter(conn, event.center_id, d.counter_id, list(d.line_codes))
    for line_code in d.line_codes:  # one more counter shortens every wait it serves
        await _line_moved(n, conn, event, Place(event.center_id, line_code))


async def counter_closed(
    n: Notifier, conn: asyncpg.Connection, event: Envelope[CounterClosed]
) -> None:
    await repo.close_counter(conn, event.center_id, event.data.counter_id)


async def _line_moved(
    n: Notifier, conn: asyncpg.Connection, event: Envelope[Payload], place: Place
) -> None:
    """Tell each ticket the change brought close, once."""
    line = await repo.waiting_in_line(conn, place.center_id, place.line_code)
    if not line:
        return
    seconds, counters = await repo.service_seconds(conn, place, n.settings.default_service_seconds)
    close = newly_close(line, _rule(n), service_seconds=seconds, open_counters=counters)
    if not close:
        return
    await repo.mark_soon(conn, [c.ticket.ticket_id for c in close], SoonState.NOTIFIED)
    for c in close:
        context = {
            "number": c.ticket.number,
            "ahead": c.ahead,
            "wait_minutes": whole_minutes(c.wait_seconds),
            "line_code": place.line_code,
        }
        ticket_id = uuid.UUID(c.ticket.ticket_id)
        await n.notify(conn, event, Kind.TURN_SOON, "ticket", ticket_id, context)


# ------------------------------------------------------------ the dossiers


@contextmanager
def _about(event: Envelope[Payload]) -> Iterator[None]:
    """Log lines name the event they are about, as the consumer does for single events."""
    # Bound, then reset by token: ``bound_contextvars`` copies the whole context to
    # restore it, a cost paid for every receipt of a batch.
    tokens = structlog.contextvars.bind_contextvars(
        event_id=str(event.event_id),
        correlation_id=str(event.correlation_id),
        center_id=event.center_id,
    )
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


def _lookup_url(n: Notifier, code: str) -> str:
    return n.settings.lookup_url.replace("{code}", quote(code, safe=""))


async def _with_contact(
    n: Notifier,
    conn: asyncpg.Connection,
    events: Sequence[Envelope[Any]],
    kind: Kind,
    at: Callable[[Envelope[Any]], datetime],
    context_of: Callable[[Envelope[Any]], dict[str, Any]],
) -> None:
    """The dossier events that bring the citizen's contact (sealed, with consent): keep
    the contact, tell the citizen ``kind``, then release the messages held for it.

    A lookup secret is rendered into the message and kept nowhere else: it is left out
    of the stored context (a fallback message opens it again from the source event).
    """
    known, intents = [], []
    for event in events:
        d = event.data
        with _about(event):
            contact = n.open_contact(d.contact, str(d.dossier_id)) if d.contact else None
            private = n.private_of(kind, event) if contact else {}
        known.append(
            repo.ReceivedDossier(d.dossier_id, event.center_id, d.dossier_code, at(event), contact)
        )
        intents.append(Intent(event, kind, "dossier", d.dossier_id, context_of(event), private))
    await repo.save_dossiers(conn, known, n.rest_keys)
    await n.notify_many(conn, intents)
    await n.release_held(conn, [r.dossier_id for r in known])


async def dossiers_received(
    n: Notifier, conn: asyncpg.Connection, events: Sequence[Envelope[DossierReceived]]
) -> None:
    """The code, the appointment and, when intake sent it sealed, the lookup secret."""

    def context(event: Envelope[Any]) -> dict[str, Any]:
        d = event.data
        return {
            "dossier_code": d.dossier_code,
            "procedure_code": d.procedure_code,
            "appointment_at": d.appointment_at.isoformat(),
            "lookup_url": _lookup_url(n, d.dossier_code),
        }

    await _with_contact(
        n, conn, events, Kind.DOSSIER_RECEIVED, lambda e: e.data.received_at, context
    )


async def dossiers_submitted(
    n: Notifier, conn: asyncpg.Connection, events: Sequence[Envelope[DossierSubmitted]]
) -> None:
    """Filed online: the code and the lookup secret, and that a clerk will accept it."""
    await _with_contact(
        n,
        conn,
        events,
        Kind.DOSSIER_SUBMITTED,
        lambda e: e.data.submitted_at,
        lambda e: _tracked(n, e.data.dossier_code, procedure_code=e.data.procedure_code),
    )


async def dossiers_not_accepted(
    n: Notifier, conn: asyncpg.Connection, events: Sequence[Envelope[DossierNotAccepted]]
) -> None:
    """A clerk refused an online submission: the citizen hears the reason. The contact
    came with the submission, and again with this event, in case the submission's was
    lost or predates it; then the purge clock starts, the case being over."""
    await _with_contact(
        n,
        conn,
        events,
        Kind.NOT_ACCEPTED,
        lambda e: e.occurred_at,
        lambda e: _tracked(n, e.data.dossier_code, reason=e.data.reason),
    )
    await personal_data.dossiers_closed(conn, events)


def _tracked(n: Notifier, code: str, **values: Any) -> dict[str, Any]:
    """A dossier message's context: its code, its values, and where to look it up."""
    return {"dossier_code": code, **values, "lookup_url": _lookup_url(n, code)}


def _supplement(n: Notifier, event: Envelope[DossierSupplementRequested]) -> dict[str, Any]:
    d = event.data
    return _tracked(n, d.dossier_code, reason=d.reason, missing_documents=list(d.missing_documents))


def _resolved(n: Notifier, event: Envelope[DossierResolved]) -> dict[str, Any]:
    d = event.data
    return _tracked(n, d.dossier_code, outcome=d.outcome, reason=d.reason)


def _returned(n: Notifier, event: Envelope[DossierReturned]) -> dict[str, Any]:
    d = event.data
    return {"dossier_code": d.dossier_code, "feedback_url": n.feedback_url(d.dossier_id)}


def _overdue(n: Notifier, event: Envelope[DeadlineOverdue]) -> dict[str, Any]:
    """The apology letter's new date; the contact is the one given with the dossier."""
    d = event.data
    return _tracked(
        n,
        d.dossier_code,
        due_at=d.due_at.isoformat(),
        new_appointment_at=d.new_appointment_at.isoformat(),
    )


def _financial(n: Notifier, event: Envelope[DossierFinancialObligationNotified]) -> dict[str, Any]:
    """The amount, what it is for and how to pay; the template words what intake left out."""
    d = event.data
    return _tracked(
        n, d.dossier_code, amount_vnd=d.amount_vnd, purpose=d.purpose, how_to_pay=d.how_to_pay
    )


def _date_moved(
    n: Notifier, code: str, due: datetime, previous: datetime, reason: str
) -> dict[str, Any]:
    """The new date the citizen holds, the one it replaces, and why it moved."""
    return _tracked(
        n, code, due_at=due.isoformat(), previous_due_at=previous.isoformat(), reason=reason
    )


def _new_date(n: Notifier, event: Envelope[DeadlineUpdated]) -> dict[str, Any]:
    d = event.data
    return _date_moved(n, d.dossier_code, d.due_at, d.previous_due_at, d.reason)


def _letter_date(n: Notifier, event: Envelope[DeadlineAppointmentSet]) -> dict[str, Any]:
    """The officer changed the apology letter's date: the same message as a moved clock."""
    d = event.data
    return _date_moved(
        n, d.dossier_code, d.new_appointment_at, d.previous_appointment_at, "apology"
    )


D = TypeVar("D", bound=DossierFacts | DeadlineFacts)  # the events about one dossier


def _dossier_message(
    kind: Kind, context_of: Callable[[Notifier, Envelope[D]], dict[str, Any]]
) -> BatchTrigger[D]:
    async def trigger(n: Notifier, conn: asyncpg.Connection, events: Sequence[Envelope[D]]) -> None:
        intents = [Intent(e, kind, "dossier", e.data.dossier_id, context_of(n, e)) for e in events]
        await n.notify_many(conn, intents)

    trigger.__name__ = kind.value
    return trigger


supplement_requested = _dossier_message(Kind.SUPPLEMENT_REQUESTED, _supplement)


def _closing(trigger: BatchTrigger[D]) -> BatchTrigger[D]:
    """The trigger, then the purge clock of the dossiers its events close."""

    async def closing(n: Notifier, conn: asyncpg.Connection, events: Sequence[Envelope[D]]) -> None:
        await trigger(n, conn, events)
        await personal_data.dossiers_closed(conn, events)
        await escalation.dossiers_closed(conn, events)

    closing.__name__ = trigger.__name__
    return closing


async def dossier_closed(
    n: Notifier, conn: asyncpg.Connection, events: Sequence[Envelope[DossierFacts]]
) -> None:
    """Withdrawn or stopped: no message, but the purge clock starts."""
    await personal_data.dossiers_closed(conn, events)
    await escalation.dossiers_closed(conn, events)


dossier_resolved = _closing(_dossier_message(Kind.RESULT_READY, _resolved))
dossier_returned = _closing(_dossier_message(Kind.DOSSIER_RETURNED, _returned))
deadline_overdue = _dossier_message(Kind.DEADLINE_APOLOGY, _overdue)
financial_obligation = _dossier_message(Kind.FINANCIAL_OBLIGATION, _financial)
new_appointment = _dossier_message(Kind.NEW_APPOINTMENT, _new_date)
letter_date = _dossier_message(Kind.NEW_APPOINTMENT, _letter_date)
