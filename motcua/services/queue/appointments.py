"""Appointments: bookable slots cut from real capacity, and the rules of a booking.

Pure: no I/O, no framework. A slot is ``[start, start + slot length)`` inside one
office session of a working day of the center's working calendar (the shared
kernel: holidays, make-up days, morning and afternoon hours), so no slot straddles
lunch or closing time. A slot of a line holds as many bookings as the counters
reserved for appointments on that line, but never more than the counters that
serve the line at all: the rest of the counters stay for walk-ins. A line also has
a daily cap, so that a morning of bookings cannot swallow the whole day.

Refusals name the field and carry a message key (``appointment_error.<key>`` in the
queue's language catalogs), so the citizen reads them in their own language.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from motcua.services.queue.directory import Center, Line
from motcua.services.queue.errors import Refused, Taken
from motcua.shared.calendar import CalendarError, WorkingCalendar

# No 0/O or 1/I/L: the code is read off an SMS or a printout and typed at a kiosk.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8


@dataclass(frozen=True)
class BookingRules:
    """How one center lets citizens book (queue settings, per-center overrides)."""

    slot_minutes: int = 15
    reserved_counters: int = 1  # per line; the line's other counters serve walk-ins
    opens_days_ahead: int = 14  # booking opens this many days before a slot
    closes_minutes_before: int = 30  # and closes this long before it starts
    daily_cap_per_line: int = 40
    check_in_early_minutes: int = 30  # the kiosk takes the code this early
    check_in_late_minutes: int = 15  # and this late; after that, a no-show

    @property
    def slot_length(self) -> timedelta:
        return timedelta(minutes=self.slot_minutes)


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


@dataclass(frozen=True)
class Appointment:
    """A citizen's booking of one slot on one line."""

    appointment_id: uuid.UUID
    center_id: str
    line_code: str
    slot_start: datetime
    slot_end: datetime
    code: str
    status: AppointmentStatus
    booked_at: datetime
    contact: Mapping[str, Any] | None = None  # the sealed form only
    ticket_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Slot:
    """A bookable slot of a line and how many of its places are taken."""

    start: datetime
    end: datetime
    capacity: int
    booked: int = 0

    @property
    def free(self) -> int:
        return max(self.capacity - self.booked, 0)


def new_code(choice: Callable[[str], str] = secrets.choice) -> str:
    """The booking's code: typed at the kiosk or read from the confirmation's QR."""
    return "".join(choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    """What a citizen types, as stored: upper case, without spaces or dashes."""
    return code.strip().upper().replace(" ", "").replace("-", "")


def capacity(center: Center, line: Line, rules: BookingRules) -> int:
    """Bookings one slot of ``line`` holds: the reserved counters, at most those serving it."""
    serving = sum(1 for c in center.counters.values() if line.code in c.line_codes)
    return max(min(rules.reserved_counters, serving), 0)


def slot_starts(calendar: WorkingCalendar, day: date, rules: BookingRules) -> Iterator[datetime]:
    """The starts (UTC) of the slots of local ``day``: whole slots inside each session."""
    length = rules.slot_length
    for session_start, session_end in calendar.working_sessions(day):
        start = session_start
        while start + length <= session_end:
            yield start
            start += length


def binding_cap_span(
    calendar: WorkingCalendar, day: date, capacity: int, rules: BookingRules
) -> tuple[datetime, datetime] | None:
    """The first and last slot starts of ``day`` when the line's daily cap can bind that
    day (it is below all the day's places); ``None`` when it cannot, and bookings need
    not count the day at all."""
    starts = list(slot_starts(calendar, day, rules))
    if not starts or rules.daily_cap_per_line >= len(starts) * capacity:
        return None
    return starts[0], starts[-1]


def open_days(calendar: WorkingCalendar, now: datetime, rules: BookingRules) -> list[date]:
    """The local days on which booking is open now, today included."""
    today = calendar.local_date(now)
    last = calendar.local_date(now + timedelta(days=rules.opens_days_ahead))
    days = []
    day = today
    while day <= last and calendar.covers(day):
        if calendar.is_working_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def bookable(start: datetime, now: datetime, rules: BookingRules) -> bool:
    """Whether booking is open for a slot starting at ``start`` (never once it began)."""
    return (
        now < start
        and now + timedelta(minutes=rules.closes_minutes_before) <= start
        and start <= now + timedelta(days=rules.opens_days_ahead)
    )


def check_slot(
    calendar: WorkingCalendar,
    center: Center,
    line: Line,
    start: datetime,
    now: datetime,
    rules: BookingRules,
) -> tuple[datetime, datetime, date]:
    """The slot ``start`` names, as (start, end, local day), or why it cannot be booked."""
    if start.tzinfo is None:
        raise Refused("slot_start", "slot_naive")
    if start <= now:
        raise Refused("slot_start", "slot_in_past")
    if not calendar.covers(start) or start > now + timedelta(days=rules.opens_days_ahead):
        raise Refused("slot_start", "slot_too_far", days=rules.opens_days_ahead)
    try:
        day = calendar.local_date(start)
        working = calendar.is_working_day(day)
    except CalendarError:
        raise Refused("slot_start", "slot_too_far", days=rules.opens_days_ahead) from None
    if not working:
        raise Refused("slot_start", "slot_day_off", day=day.isoformat())
    if start not in set(slot_starts(calendar, day, rules)):
        raise Refused("slot_start", "slot_outside_hours", minutes=rules.slot_minutes)
    if start < now + timedelta(minutes=rules.closes_minutes_before):
        raise Refused("slot_start", "booking_closed", minutes=rules.closes_minutes_before)
    if capacity(center, line, rules) == 0:
        raise Refused("line_code", "line_not_bookable", line=line.code)
    return start, start + rules.slot_length, day


def book(
    *,
    appointment_id: uuid.UUID,
    center: Center,
    line: Line,
    slot: tuple[datetime, datetime],
    code: str,
    at: datetime,
    contact: Mapping[str, Any] | None = None,
) -> Appointment:
    return Appointment(
        appointment_id=appointment_id,
        center_id=center.center_id,
        line_code=line.code,
        slot_start=slot[0],
        slot_end=slot[1],
        code=code,
        status=AppointmentStatus.BOOKED,
        booked_at=at,
        contact=contact,
    )


def _require_booked(appointment: Appointment, action: Literal["reschedule", "cancel"]) -> None:
    if appointment.status != AppointmentStatus.BOOKED:
        raise Taken("code", f"cannot_{action}", status=appointment.status.value)


def reschedule(appointment: Appointment, slot: tuple[datetime, datetime]) -> Appointment:
    """The same booking (same code) moved to another slot of its line."""
    _require_booked(appointment, "reschedule")
    if slot[0] == appointment.slot_start:
        raise Refused("slot_start", "same_slot")
    return replace(appointment, slot_start=slot[0], slot_end=slot[1])


def cancel(appointment: Appointment) -> Appointment:
    """A cancelled booking frees its place in the slot (the store gives it back)."""
    _require_booked(appointment, "cancel")
    return replace(appointment, status=AppointmentStatus.CANCELLED)


def check_in(
    appointment: Appointment, ticket_id: uuid.UUID, now: datetime, rules: BookingRules
) -> Appointment:
    """The kiosk takes the code within the window around the slot, once."""
    check_in_open(appointment, now, rules)
    return replace(appointment, status=AppointmentStatus.CHECKED_IN, ticket_id=ticket_id)


def check_in_open(appointment: Appointment, now: datetime, rules: BookingRules) -> None:
    """Why the kiosk cannot take this booking's code now, if it cannot."""
    match appointment.status:
        case AppointmentStatus.CHECKED_IN:
            raise Taken("code", "code_used")
        case AppointmentStatus.CANCELLED:
            raise Taken("code", "cannot_check_in", status=appointment.status.value)
        case AppointmentStatus.NO_SHOW:
            raise Taken("code", "check_in_closed", minutes=rules.check_in_late_minutes)
    opens = appointment.slot_start - timedelta(minutes=rules.check_in_early_minutes)
    if now < opens:
        raise Refused("code", "check_in_too_early", minutes=rules.check_in_early_minutes)
    if now > check_in_closes(appointment, rules):
        raise Taken("code", "check_in_closed", minutes=rules.check_in_late_minutes)


def check_in_closes(appointment: Appointment, rules: BookingRules) -> datetime:
    return appointment.slot_start + timedelta(minutes=rules.check_in_late_minutes)


def no_show(appointment: Appointment, now: datetime, rules: BookingRules) -> Appointment | None:
    """A booking not checked in by the end of its window is a no-show; else ``None``."""
    if appointment.status != AppointmentStatus.BOOKED:
        return None
    if now <= check_in_closes(appointment, rules):
        return None
    return replace(appointment, status=AppointmentStatus.NO_SHOW)
