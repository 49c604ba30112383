"""Pure rules of the queue service: no I/O, no framework imports.

A ticket is numbered per line per local day, waits, is called to a counter
(priority first, then issue order, under a fairness guard), may be recalled,
and ends served, no-show or cancelled. A transfer puts it back in another
line's queue at its original place; a no-show may be re-queued the same day.
Every transition returns a ``Change``: the ticket after it plus the facts the
statistics and the event need.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from motcua.services.queue.directory import Center, Line
from motcua.services.queue.errors import Conflict, Invalid, InvalidTransition
from motcua.shared.reference.priority import PRIORITY_REASONS as PRIORITY_REASONS

# No 0/O or 1/I/L: the code is read off a paper ticket and typed on a phone.
LOOKUP_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LOOKUP_LENGTH = 6


class Status(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    SERVED = "served"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


ACTIVE = frozenset({Status.CALLED, Status.SERVING})
"""Statuses in which a ticket occupies a counter (one such ticket per counter)."""


class Kind(StrEnum):
    """What happened to a ticket; each value is the type of the event it publishes."""

    ISSUED = "ticket.issued"
    CALLED = "ticket.called"
    RECALLED = "ticket.recalled"
    NO_SHOW = "ticket.no_show"
    REQUEUED = "ticket.requeued"
    TRANSFERRED = "ticket.transferred"
    SERVICE_STARTED = "ticket.service_started"
    SERVICE_COMPLETED = "ticket.service_completed"
    CANCELLED = "ticket.cancelled"
    ARRIVAL_CONFIRMED = "ticket.arrival_confirmed"


@dataclass(frozen=True)
class Ticket:
    """A queue ticket. ``order_at`` (then ``issue_seq``) is its place in the queue."""

    ticket_id: uuid.UUID
    center_id: str
    local_day: date
    issued_line_code: str
    line_code: str
    seq: int
    number: str
    lookup_code: str
    priority_reason: str | None
    status: Status
    issued_at: datetime
    order_at: datetime
    queued_at: datetime  # when it entered its current line's queue: the start of its wait
    issue_seq: int = 0  # assigned by the store; breaks ties between equal order_at
    counter_id: str | None = None
    call_count: int = 0
    called_at: datetime | None = None
    service_started_at: datetime | None = None
    finished_at: datetime | None = None
    dossier_id: uuid.UUID | None = None
    contact: Mapping[str, Any] | None = None  # the sealed form only, never the clear contact
    appointment_id: uuid.UUID | None = None  # checked in with a booking; order_at = its slot
    remote: bool = False  # taken from a phone: called only once arrival is confirmed
    arrived_at: datetime | None = None

    @property
    def priority(self) -> bool:
        return self.priority_reason is not None

    @property
    def appointment(self) -> bool:
        return self.appointment_id is not None

    @property
    def callable(self) -> bool:
        """A remote ticket waits its turn from home, but is called only once here."""
        return not self.remote or self.arrived_at is not None

    def due(self, now: datetime | None) -> bool:
        """A booked citizen whose slot has begun: called ahead of walk-ins (guard aside)."""
        return self.appointment and now is not None and self.order_at <= now

    @property
    def order_key(self) -> tuple[datetime, int]:
        return (self.order_at, self.issue_seq)


@dataclass(frozen=True)
class Change:
    """One state change: the ticket after it, and what statistics and events record."""

    ticket: Ticket
    kind: Kind
    at: datetime
    line_code: str  # the line the change counts on (the line left, for a transfer)
    counter_id: str | None
    wait_seconds: float | None = None
    service_seconds: float | None = None


def ticket_number(prefix: str, seq: int) -> str:
    """A001 … A999, then A1000: the number widens instead of wrapping."""
    if seq < 1:
        raise ValueError("ticket sequence numbers start at 1")
    return f"{prefix}{seq:03d}"


def new_lookup_code(choice: Callable[[str], str] = secrets.choice) -> str:
    """A short random code printed on the ticket, to read its status from a phone."""
    return "".join(choice(LOOKUP_ALPHABET) for _ in range(LOOKUP_LENGTH))


def issue(
    *,
    ticket_id: uuid.UUID,
    center: Center,
    line: Line,
    seq: int,
    at: datetime,
    lookup_code: str,
    priority_reason: str | None = None,
    contact: Mapping[str, Any] | None = None,
    appointment_id: uuid.UUID | None = None,
    slot_start: datetime | None = None,
    remote: bool = False,
) -> Change:
    """A new waiting ticket. A booked citizen's ticket takes its place in the queue at
    the slot's start (``order_at``), not at the moment of check-in."""
    if priority_reason is not None and priority_reason not in PRIORITY_REASONS:
        raise Invalid("priority_reason", f"unknown priority reason {priority_reason!r}")
    ticket = Ticket(
        ticket_id=ticket_id,
        center_id=center.center_id,
        local_day=center.local_day(at),
        issued_line_code=line.code,
        line_code=line.code,
        seq=seq,
        number=ticket_number(line.prefix, seq),
        lookup_code=lookup_code,
        priority_reason=priority_reason,
        status=Status.WAITING,
        issued_at=at,
        order_at=slot_start if slot_start is not None else at,
        # A booked citizen's wait starts at their slot, not when they came early.
        queued_at=max(at, slot_start) if slot_start is not None else at,
        contact=contact,
        appointment_id=appointment_id,
        remote=remote,
    )
    if remote and priority_reason is not None:
        # Priority is claimed before a clerk's eyes, at the kiosk, never from a phone.
        raise Invalid("priority_reason", "priority can be claimed only at the kiosk")
    return Change(ticket, Kind.ISSUED, at, line.code, None)


@dataclass(frozen=True)
class CounterState:
    """A counter's live state: open or not, the lines it serves, its priority streak."""

    center_id: str
    counter_id: str
    is_open: bool
    line_codes: tuple[str, ...]
    clerk_id: str | None
    opened_at: datetime | None
    priority_streak: int


# ------------------------------------------------------------------ transitions

_ALLOWED: dict[str, frozenset[Status]] = {
    "call": frozenset({Status.WAITING}),
    "recall": frozenset({Status.CALLED}),
    "mark no-show": frozenset({Status.CALLED}),
    "start": frozenset({Status.CALLED}),
    "finish": frozenset({Status.CALLED, Status.SERVING}),
    "transfer": frozenset({Status.CALLED, Status.SERVING}),
    "cancel": frozenset({Status.WAITING, Status.CALLED}),
    "re-queue": frozenset({Status.NO_SHOW}),
    "confirm arrival": frozenset({Status.WAITING}),
    "expire": frozenset({Status.WAITING}),
}


def allowed_statuses(action: str) -> frozenset[Status]:
    return _ALLOWED[action]


def _require(ticket: Ticket, action: str, counter_id: str | None = None) -> None:
    if ticket.status not in _ALLOWED[action]:
        raise InvalidTransition(action, ticket.number, ticket.status, _ALLOWED[action])
    if counter_id is not None and ticket.counter_id != counter_id:
        raise Conflict(
            f"cannot {action} ticket {ticket.number}: it is at counter {ticket.counter_id!r}, "
            f"not {counter_id!r}"
        )


def _seconds(a: datetime, b: datetime) -> float:
    return max((b - a).total_seconds(), 0.0)


def call(ticket: Ticket, counter_id: str, at: datetime) -> Change:
    """First call of a waiting ticket; its wait is measured from entering this queue."""
    _require(ticket, "call")
    called = replace(
        ticket, status=Status.CALLED, counter_id=counter_id, call_count=1, called_at=at
    )
    wait = _seconds(ticket.queued_at, at)
    return Change(called, Kind.CALLED, at, ticket.line_code, counter_id, wait_seconds=wait)


def recall(ticket: Ticket, counter_id: str, at: datetime, max_calls: int) -> Change:
    """Call again; once ``max_calls`` calls went unanswered, the ticket becomes a no-show."""
    _require(ticket, "recall", counter_id)
    if ticket.call_count >= max_calls:
        return mark_no_show(ticket, counter_id, at)
    recalled = replace(ticket, call_count=ticket.call_count + 1, called_at=at)
    return Change(recalled, Kind.RECALLED, at, ticket.line_code, counter_id)


def mark_no_show(ticket: Ticket, counter_id: str, at: datetime) -> Change:
    _require(ticket, "mark no-show", counter_id)
    gone = replace(ticket, status=Status.NO_SHOW, finished_at=at)
    return Change(gone, Kind.NO_SHOW, at, ticket.line_code, counter_id)


def start(ticket: Ticket, counter_id: str, at: datetime) -> Change:
    _require(ticket, "start", counter_id)
    serving = replace(ticket, status=Status.SERVING, service_started_at=at)
    return Change(serving, Kind.SERVICE_STARTED, at, ticket.line_code, counter_id)


def finish(
    ticket: Ticket, counter_id: str, at: datetime, dossier_id: uuid.UUID | None = None
) -> Change:
    """Service done; without an explicit start, service is timed from the call."""
    _require(ticket, "finish", counter_id)
    began = ticket.service_started_at or ticket.called_at or at
    done = replace(ticket, status=Status.SERVED, finished_at=at, dossier_id=dossier_id)
    return Change(
        done,
        Kind.SERVICE_COMPLETED,
        at,
        ticket.line_code,
        counter_id,
        service_seconds=_seconds(began, at),
    )


def transfer(ticket: Ticket, counter_id: str, to: Line, at: datetime) -> Change:
    """Move to another line's queue, keeping the original issue time as its place."""
    _require(ticket, "transfer", counter_id)
    if to.code == ticket.line_code:
        raise Invalid("line_code", f"ticket {ticket.number} is already on line {to.code!r}")
    moved = _back_in_queue(ticket, at, order_at=ticket.order_at, line_code=to.code)
    return Change(moved, Kind.TRANSFERRED, at, ticket.line_code, counter_id)


def cancel(ticket: Ticket, at: datetime) -> Change:
    _require(ticket, "cancel")
    gone = replace(ticket, status=Status.CANCELLED, finished_at=at)
    return Change(gone, Kind.CANCELLED, at, ticket.line_code, ticket.counter_id)


def confirm_arrival(ticket: Ticket, at: datetime) -> Change:
    """A remote citizen is here: from now on the ticket can be called at its place."""
    if not ticket.remote:
        raise Invalid("lookup_code", f"ticket {ticket.number} was taken here, not remotely")
    _require(ticket, "confirm arrival")
    here = replace(ticket, arrived_at=at)
    return Change(here, Kind.ARRIVAL_CONFIRMED, at, ticket.line_code, None)


def expire_unconfirmed(ticket: Ticket, at: datetime) -> Change:
    """A remote ticket skipped for too long without its citizen: a no-show."""
    _require(ticket, "expire")
    gone = replace(ticket, status=Status.NO_SHOW, finished_at=at)
    return Change(gone, Kind.NO_SHOW, at, ticket.line_code, None)


def requeue(ticket: Ticket, at: datetime, today: date) -> Change:
    """A no-show whose citizen came back today rejoins at the back of its line's queue.

    The back, not its old place: the citizen missed their turn, and putting them
    ahead again would delay everyone who stayed.
    """
    _require(ticket, "re-queue")
    if ticket.local_day != today:
        raise Conflict(
            f"ticket {ticket.number} is from {ticket.local_day.isoformat()}; "
            "a no-show can be re-queued only on the day it was issued"
        )
    back = _back_in_queue(ticket, at, order_at=at, line_code=ticket.line_code)
    return Change(back, Kind.REQUEUED, at, ticket.line_code, None)


def _back_in_queue(ticket: Ticket, at: datetime, *, order_at: datetime, line_code: str) -> Ticket:
    return replace(
        ticket,
        status=Status.WAITING,
        line_code=line_code,
        order_at=order_at,
        queued_at=at,
        counter_id=None,
        call_count=0,
        called_at=None,
        service_started_at=None,
        finished_at=None,
    )


# ------------------------------------------------------------ calling order


@dataclass(frozen=True)
class Selection:
    """The ticket a counter calls next, and the counter's priority streak after the call."""

    ticket: Ticket
    streak: int
    guard_applied: bool = False


def select_next(
    waiting: Iterable[Ticket],
    *,
    streak: int,
    max_priority_in_row: int,
    now: datetime | None = None,
) -> Selection | None:
    """Preferred tickets first, in queue order, under the fairness guard.

    Three classes. Preferred: priority tickets and, from ``now`` on, booked citizens
    whose slot has begun (``Ticket.due``); among them the earliest place goes first (a
    booking's place is its slot's start). Walk-ins: every other ticket without a
    booking, in queue order. Early: booked citizens who checked in before their slot;
    they are called only when nobody else waits, so an idle counter need not idle.

    ``streak`` counts the counter's consecutive calls that picked a preferred ticket
    while a walk-in was waiting (passed over). Once it reaches ``max_priority_in_row``,
    the oldest walk-in goes next: neither priority nor appointments can starve
    walk-ins. A remote ticket whose citizen has not confirmed arrival is skipped.
    Only the head of each class matters, so a store may pass just the heads of
    priority, walk-in and booked tickets that can be called.
    """
    if max_priority_in_row < 1:
        raise ValueError("the fairness guard must allow at least one priority call in a row")
    head_preferred: Ticket | None = None
    head_normal: Ticket | None = None
    head_early: Ticket | None = None
    for t in waiting:
        if not t.callable:
            continue  # a remote citizen not here yet is skipped, not waited for
        if t.priority or t.due(now):
            if head_preferred is None or t.order_key < head_preferred.order_key:
                head_preferred = t
        elif t.appointment:
            if head_early is None or t.order_key < head_early.order_key:
                head_early = t
        elif head_normal is None or t.order_key < head_normal.order_key:
            head_normal = t
    if head_preferred is not None and (head_normal is None or streak < max_priority_in_row):
        return Selection(head_preferred, streak + 1 if head_normal is not None else 0)
    if head_normal is not None:
        return Selection(head_normal, 0, guard_applied=head_preferred is not None)
    if head_early is not None:
        return Selection(head_early, 0)
    return None


def is_ahead(other: Ticket, ticket: Ticket) -> bool:
    """Is ``other`` called before ``ticket`` on their line (guard aside)?"""
    if other.ticket_id == ticket.ticket_id or other.line_code != ticket.line_code:
        return False
    if other.priority != ticket.priority:
        return other.priority
    return other.order_key < ticket.order_key


def queue_position(ticket: Ticket, waiting: Iterable[Ticket]) -> int:
    """1-based place among its line's waiting tickets: priority ones first, then issue order."""
    return 1 + sum(1 for other in waiting if is_ahead(other, ticket))


# --------------------------------------------------------------- waiting time


def mean_service_seconds(recent: Sequence[float], default_seconds: float) -> float:
    """Moving average of the line's recent service times; the line's default without history."""
    samples = [s for s in recent if s >= 0]
    return sum(samples) / len(samples) if samples else float(default_seconds)


def estimate_wait_seconds(
    position: int, open_counters: int, recent: Sequence[float], default_seconds: float
) -> int:
    """position / open counters serving the line × mean recent service time.

    With no counter open yet (before opening time) one counter is assumed, so
    the kiosk still prints a sensible figure.
    """
    if position < 0:
        raise ValueError("position must not be negative")
    counters = max(open_counters, 1)
    return round(position / counters * mean_service_seconds(recent, default_seconds))
