"""Pure rules of the notify service: no I/O, no framework imports.

What is sent for which event lives in ``usecases``; here are the decisions that
need no database: which channels to try and in what order, when quiet hours hold
a message back, which messages wait for their dossier's receipt, when a waiting
ticket is "close", how long to wait before a retry, and how fast a channel may go.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

ContactKind = Literal["phone", "email"]


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    WEBHOOK = "webhook"
    DEV_INBOX = "dev_inbox"
    NONE = "none"  # no channel could take the message: recorded, never sent


class Kind(StrEnum):
    """One kind of message, one template per language."""

    TURN_SOON = "turn_soon"
    TICKET_CALLED = "ticket_called"
    DOSSIER_RECEIVED = "dossier_received"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    RESULT_READY = "result_ready"
    DOSSIER_RETURNED = "dossier_returned"
    DEADLINE_APOLOGY = "deadline_apology"
    # Appointments booked at the queue (``reminders.py``).
    APPOINTMENT_BOOKED = "appointment_booked"
    APPOINTMENT_RESCHEDULED = "appointment_rescheduled"
    APPOINTMENT_REMINDER = "appointment_reminder"
    FINANCIAL_OBLIGATION = "financial_obligation"
    NEW_APPOINTMENT = "new_appointment"
    NOT_ACCEPTED = "not_accepted"
    DOSSIER_SUBMITTED = "dossier_submitted"
    # To the center's staff, up the escalation ladder (``escalation.py``).
    STAFF_APPROACHING = "staff_deadline_approaching"
    STAFF_AT_RISK = "staff_deadline_at_risk"
    STAFF_OVERDUE = "staff_deadline_overdue"
    STAFF_STILL_OPEN = "staff_deadline_still_open"


# Messages to staff: quiet hours hold them on every channel, not only SMS (a work
# e-mail at night rings a phone as well).
STAFF_KINDS: frozenset[Kind] = frozenset(
    {Kind.STAFF_APPROACHING, Kind.STAFF_AT_RISK, Kind.STAFF_OVERDUE, Kind.STAFF_STILL_OPEN}
)

# A queue message is useless once its moment has passed, so quiet hours never hold it.
URGENT: frozenset[Kind] = frozenset({Kind.TURN_SOON, Kind.TICKET_CALLED})

# Which contact kinds each channel can reach, preferred first.
REACHES: Mapping[Channel, tuple[ContactKind, ...]] = {
    Channel.SMS: ("phone",),
    Channel.EMAIL: ("email",),
    Channel.WEBHOOK: ("phone", "email"),
    Channel.DEV_INBOX: ("phone", "email"),
}


APPOINTMENT_KINDS: frozenset[Kind] = frozenset(
    {Kind.APPOINTMENT_BOOKED, Kind.APPOINTMENT_RESCHEDULED, Kind.APPOINTMENT_REMINDER}
)
"""Messages about a booking at the queue: no dossier, so none waits for a receipt."""


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"


# ------------------------------------------------------------------ channels


@dataclass(frozen=True)
class Step:
    """One channel to try, with the kind of contact it will use."""

    channel: Channel
    contact_kind: ContactKind


def plan_channels(
    contacts: Iterable[ContactKind],
    configured: Iterable[Channel],
    order: Sequence[Channel],
) -> list[Step]:
    """The channels to try, in fallback order, for the contacts a citizen gave.

    With no channel configured at all the dev inbox takes everything. An empty plan
    means no channel can reach this citizen: the message is recorded, not sent.
    """
    have = list(dict.fromkeys(contacts))
    if not have:
        return []
    usable = set(configured) - {Channel.DEV_INBOX, Channel.NONE}
    if not usable:
        return [Step(Channel.DEV_INBOX, have[0])]
    plan: list[Step] = []
    for channel in dict.fromkeys(order):
        if channel not in usable:
            continue
        kind = next((k for k in REACHES.get(channel, ()) if k in have), None)
        if kind is not None:
            plan.append(Step(channel, kind))
    return plan


# --------------------------------------------------------------- quiet hours


@dataclass(frozen=True)
class QuietHours:
    """A nightly window, in local time, with no non-urgent SMS. ``start == end``: none."""

    start: time
    end: time
    timezone: str = "Asia/Ho_Chi_Minh"

    def contains(self, at: datetime) -> bool:
        if self.start == self.end:
            return False
        local = at.astimezone(ZoneInfo(self.timezone)).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # the window spans midnight

    def release_at(self, at: datetime) -> datetime:
        """The first instant at or after ``at`` outside the window (``at`` if outside)."""
        if not self.contains(at):
            return at
        tz = ZoneInfo(self.timezone)
        local = at.astimezone(tz)
        end = datetime.combine(local.date(), self.end, tzinfo=tz)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=tz)
        return end.astimezone(at.tzinfo)


def send_not_before(at: datetime, *, channel: Channel, kind: Kind, quiet: QuietHours) -> datetime:
    """When a message may go out: non-urgent SMS, and every message to staff, wait for
    the end of quiet hours (deferred, never dropped)."""
    if kind in STAFF_KINDS:
        return quiet.release_at(at)
    if channel != Channel.SMS or kind in URGENT:
        return at
    return quiet.release_at(at)


# ------------------------------------------------- waiting for the receipt

# Messages about a dossier go to the contact given with its receipt. Consumed before
# that ``dossier.received`` (deadline events travel on another topic, so nothing orders
# the two), they wait for it: the receipt releases them, or they expire.
AFTER_RECEIPT: frozenset[Kind] = frozenset(
    {
        Kind.SUPPLEMENT_REQUESTED,
        Kind.RESULT_READY,
        Kind.DOSSIER_RETURNED,
        Kind.DEADLINE_APOLOGY,
        Kind.FINANCIAL_OBLIGATION,
        Kind.NEW_APPOINTMENT,
    }
)


def waits_for_receipt(kind: Kind, *, received: bool) -> bool:
    """Does a message wait, because its dossier's receipt (and contact) is unknown yet?"""
    return kind in AFTER_RECEIPT and not received


# ------------------------------------------------------------ "your turn soon"


class SoonState(StrEnum):
    PENDING = "pending"  # not yet close to the counter
    NOTIFIED = "notified"  # told once; never again for this wait
    CLOSE_ON_ENTRY = "close_on_entry"  # already close when it joined: the kiosk told them


@dataclass(frozen=True)
class WaitingTicket:
    ticket_id: str
    number: str
    priority: bool
    entered_at: datetime
    state: SoonState


@dataclass(frozen=True)
class TurnSoonRule:
    """Close means at most ``max_ahead`` tickets ahead, or an estimated wait under
    ``max_wait_seconds``."""

    max_ahead: int
    max_wait_seconds: float

    def is_close(self, ahead: int, wait_seconds: float) -> bool:
        return ahead <= self.max_ahead or wait_seconds < self.max_wait_seconds


def queue_order(waiting: Iterable[WaitingTicket]) -> list[WaitingTicket]:
    """The line as the queue serves it: priority tickets first, then by arrival."""
    return sorted(waiting, key=lambda t: (not t.priority, t.entered_at, t.number))


def estimated_wait_seconds(ahead: int, service_seconds: float, open_counters: int) -> float:
    return ahead * service_seconds / max(open_counters, 1)


@dataclass(frozen=True)
class Close:
    ticket: WaitingTicket
    ahead: int
    wait_seconds: float


def newly_close(
    waiting: Iterable[WaitingTicket],
    rule: TurnSoonRule,
    *,
    service_seconds: float,
    open_counters: int,
) -> list[Close]:
    """Tickets that the last change brought close to the counter and were not told yet."""
    out = []
    for ahead, ticket in enumerate(queue_order(waiting)):
        wait = estimated_wait_seconds(ahead, service_seconds, open_counters)
        if ticket.state == SoonState.PENDING and rule.is_close(ahead, wait):
            out.append(Close(ticket, ahead, wait))
    return out


def entry_state(
    ticket: WaitingTicket,
    line: Iterable[WaitingTicket],
    rule: TurnSoonRule,
    *,
    service_seconds: float,
    open_counters: int,
) -> SoonState:
    """A ticket that joins the line already close is not told again by message."""
    order = queue_order([*[t for t in line if t.ticket_id != ticket.ticket_id], ticket])
    ahead = order.index(ticket)
    wait = estimated_wait_seconds(ahead, service_seconds, open_counters)
    return SoonState.CLOSE_ON_ENTRY if rule.is_close(ahead, wait) else SoonState.PENDING


def updated_service_seconds(current: float, measured: float, weight: float = 0.2) -> float:
    """Exponential moving average of a line's service time."""
    return (1 - weight) * current + weight * measured


# -------------------------------------------------------------------- retries


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: float
    max_seconds: float

    def delay(self, attempt: int, jitter: float) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random.

        ``attempt`` counts from 1; ``jitter`` is a uniform draw in [0, 1).
        """
        ceiling = min(self.max_seconds, self.base_seconds * 2.0 ** (attempt - 1))
        return ceiling / 2 + ceiling / 2 * jitter

    def gives_up(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


class Verdict(StrEnum):
    SEND = "send"
    SUPPRESS = "suppress"  # opted out since it was recorded: honoured at once
    DEFER = "defer"  # quiet hours began since it was recorded
    GIVE_UP = "give_up"


def before_send(
    *,
    opted_out: bool,
    has_address: bool,
    attempts: int,
    policy: RetryPolicy,
    release_at: datetime,
    now: datetime,
) -> Verdict:
    """What to do with a claimed delivery before trying it."""
    if opted_out:
        return Verdict.SUPPRESS
    if not has_address or policy.gives_up(attempts):
        return Verdict.GIVE_UP
    if release_at > now:
        return Verdict.DEFER
    return Verdict.SEND


def after_failure(attempts: int, policy: RetryPolicy, *, permanent: bool) -> Verdict:
    """After a failed try (``attempts`` counts it): try again later, or give up."""
    return Verdict.GIVE_UP if permanent or policy.gives_up(attempts) else Verdict.SEND


# ---------------------------------------------------------------- rate limits


def burst_of(rate: float) -> float:
    """Messages that may go at once after a quiet spell: a tenth of a second's worth."""
    return max(1.0, rate / 10)


@dataclass
class TokenBucket:
    """A channel's rate limit: ``rate`` messages per second, bursts up to ``burst``.

    ``reserve(now)`` takes a token and says how long to wait before using it, so
    concurrent senders queue up fairly without polling.
    """

    rate: float
    burst: float = 0.0
    _tokens: float = field(default=0.0, repr=False)
    _at: float | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError("a rate limit must be positive")
        self.burst = self.burst or burst_of(self.rate)
        self._tokens = self.burst

    def reserve(self, now: float) -> float:
        if self._at is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


# -------------------------------------------------------------------- opt-out

# Whole replies only: "Huy" alone is a keyword, "Huy đây" is a citizen named Huy.
OPT_OUT_KEYWORDS = frozenset({"TU CHOI", "TUCHOI", "STOP", "HUY", "HUY DK", "UNSUBSCRIBE"})


def _fold(text: str) -> str:
    """Upper case, no diacritics (đ included), single spaces: 'từ  chối' -> 'TU CHOI'."""
    text = text.replace("đ", "d").replace("Đ", "D")
    plain = "".join(
        c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn"
    )
    return " ".join(plain.upper().split())


def is_opt_out(reply: str) -> bool:
    """Does an SMS reply ask to stop messages? ("TU CHOI", "Từ chối", "STOP", ...)"""
    return _fold(reply).strip(" .!") in OPT_OUT_KEYWORDS


def whole_minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))
