"""Flags of the legal clock, planned as a pure function of the computed clock.

The scheduler fires ``approaching`` at each configured threshold of remaining active
working time (``1d``: one regular working day, ``4h``: four working hours, ``80%``: 80 % of
the budget used) and ``overdue`` at ``due_at``; the handlers raise ``set``, ``updated`` and
``closed`` as facts arrive. Each flag is unique per dossier, kind and due instant
(:func:`flag_event_id` derives its event id from exactly that), so a moved ``due_at``
re-arms the flags for the new date, and a flag is never emitted twice for the same one.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal, NamedTuple

from motcua.services.deadlines.domain import ZERO, Clock, Interval
from motcua.services.deadlines.errors import InvalidInput
from motcua.shared.calendar import WorkingCalendar

FLAG_SET = "set"
FLAG_UPDATED = "updated"
FLAG_CLOSED = "closed"
FLAG_OVERDUE = "overdue"
APPROACHING_PREFIX = "approaching:"

_FLAG_NAMESPACE = uuid.UUID("6f1b5c1e-2a7d-4c39-9a52-0d5b0a6e8c11")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_THRESHOLD = re.compile(r"^(\d{1,4})(d|h|%)$")


@dataclass(frozen=True)
class Threshold:
    """A near-late warning point, as remaining active working time.

    ``Nd``: N regular working days left (a regular day is the first weekday's sessions,
    7 h 30 by default); ``Nh``: N working hours left; ``P%``: P % of the budget used.
    """

    amount: int
    unit: Literal["d", "h", "%"]

    @classmethod
    def parse(cls, text: str) -> Threshold:
        m = _THRESHOLD.match(text.strip())
        if m is None:
            raise InvalidInput("threshold", f"expected e.g. '1d', '4h' or '80%', got {text!r}")
        amount, unit = int(m[1]), m[2]
        if amount <= 0 or (unit == "%" and amount >= 100):
            raise InvalidInput("threshold", f"{text!r} is out of range")
        return cls(amount, unit)  # type: ignore[arg-type]

    @property
    def label(self) -> str:
        return f"{self.amount}{self.unit}"

    def remaining(self, budget: timedelta, regular_day: timedelta) -> timedelta:
        if self.unit == "%":
            return budget * (100 - self.amount) // 100
        if self.unit == "h":
            return timedelta(hours=self.amount)
        return regular_day * self.amount


def parse_thresholds(texts: Sequence[str]) -> tuple[Threshold, ...]:
    """Parse and de-duplicate threshold labels, keeping their order."""
    out: dict[str, Threshold] = {}
    for text in texts:
        th = Threshold.parse(text)
        out.setdefault(th.label, th)
    return tuple(out.values())


class PlannedFlag(NamedTuple):
    """A flag the scheduler will emit at ``at`` unless the clock changes first.

    A named tuple: the scheduler builds hundreds per batch, and it is a plain value.
    """

    kind: str
    at: datetime
    working_seconds_left: int = 0
    new_appointment_at: datetime | None = None

    @property
    def threshold(self) -> str | None:
        return self.kind.removeprefix(APPROACHING_PREFIX) if self.is_approaching else None

    @property
    def is_approaching(self) -> bool:
        return self.kind.startswith(APPROACHING_PREFIX)


def regular_day(cal: WorkingCalendar) -> timedelta:
    """Working time of a regular day: the first weekday that has sessions."""
    for sessions in cal.config.weekly_sessions:
        if sessions:
            return sum(
                (
                    datetime.combine(date.min, e) - datetime.combine(date.min, s)
                    for s, e in sessions
                ),
                ZERO,
            )
    return ZERO  # unreachable: a calendar has at least one working weekday


def plan_flags(
    cal: WorkingCalendar,
    clock: Clock,
    thresholds: Sequence[Threshold],
    apology_grace_days: int,
) -> tuple[PlannedFlag, ...]:
    """The scheduler's flags for an open, running clock, in firing order.

    A threshold that would be crossed at or before the clock's start (e.g. "1 day left" on
    a same-day procedure) is skipped: warning at receipt is noise. A paused or closed clock
    plans nothing.
    """
    if not clock.is_open or clock.paused_since is not None:
        return ()
    day = regular_day(cal)
    closed = [iv for iv in clock.pauses if iv.end is not None]
    flags: list[PlannedFlag] = []
    for th in thresholds:
        left = th.remaining(clock.budget, day)
        if left <= ZERO or left >= clock.budget:
            continue
        flags.append(
            PlannedFlag(
                kind=APPROACHING_PREFIX + th.label,
                at=instant_with_remaining(cal, clock.due_at, closed, left),
                working_seconds_left=int(left.total_seconds()),
            )
        )
    flags.append(
        PlannedFlag(
            kind=FLAG_OVERDUE,
            at=clock.due_at,
            new_appointment_at=new_appointment(cal, clock.due_at, apology_grace_days),
        )
    )
    return tuple(sorted(flags, key=lambda f: (f.at, f.kind)))


def instant_with_remaining(
    cal: WorkingCalendar, due: datetime, pauses: Sequence[Interval], remaining: timedelta
) -> datetime:
    """The instant from which exactly ``remaining`` active working time is left before
    ``due``, walking backwards and skipping the (closed) pauses."""
    t, left = due, remaining
    for iv in sorted(pauses, key=lambda i: i.start, reverse=True):
        assert iv.end is not None
        if iv.start >= t:
            continue
        if iv.end >= t:
            t = iv.start
            continue
        segment = cal.working_time_between(iv.end, t)
        if segment >= left:
            return cal.extend(t, -left)
        left -= segment
        t = iv.start
    return cal.extend(t, -left)


def new_appointment(cal: WorkingCalendar, due_at: datetime, grace_days: int) -> datetime:
    """The new appointment of an apology letter: the close of the ``grace_days``-th working
    day after the due day (a date a citizen can plan for)."""
    day = cal.local_date(due_at)
    for _ in range(max(grace_days, 1)):
        day = cal.next_working_day(day)
    return cal.working_sessions(day)[-1][1]


def flag_event_id(dossier_id: uuid.UUID, kind: str, due_at: datetime) -> uuid.UUID:
    """The event id of a flag: one per dossier, kind and due instant, so that even a
    republished flag is recognisably the same event downstream."""
    return uuid.uuid5(_FLAG_NAMESPACE, f"{dossier_id}/{kind}/{_instant(due_at)}")


def apology_letter_id(dossier_id: uuid.UUID, due_at: datetime) -> uuid.UUID:
    """The id of the apology letter for one overdue due date."""
    return uuid.uuid5(_FLAG_NAMESPACE, f"{dossier_id}/apology/{_instant(due_at)}")


def appointment_set_id(letter_id: uuid.UUID, previous: datetime, new: datetime) -> uuid.UUID:
    """The event id of an officer's change of a letter's date: one per change (from one
    date to another), so a retried request tells the citizen once."""
    return uuid.uuid5(
        _FLAG_NAMESPACE, f"{letter_id}/appointment/{_instant(previous)}/{_instant(new)}"
    )


def _instant(t: datetime) -> str:
    # Integer microseconds since the epoch: exact, whatever the datetime's time zone.
    return str((t - _EPOCH) // timedelta(microseconds=1))
