"""The legal clock of a dossier, as a pure function of the facts. No I/O, no framework imports.

The facts of a clock are its receipt (instant and time-limit snapshot), the pause marks
(supplement requested / provided, financial obligation notified / fulfilled), the formal
extensions and the closures (resolved, withdrawn, stopped), each at its **business time**
(the event's ``occurred_at``, or ``received_at`` for the receipt). The clock is recomputed
from the whole set of facts every time one arrives, so the order in which events are
processed never matters: a ``supplement_provided`` processed before its
``supplement_requested`` gives the same clock once both are known.

How ``due_at`` is computed (:func:`compute_clock`):

1. ``base_due_at`` = the calendar's due instant for the receipt and the limit.
2. Formal extensions granted before the closure move it, in the order granted: working hours
   by that much working time, working days to the same position in the working day that many
   working days later (:func:`shift_working_days`). The result is the end of the **budget**:
   the active working time the office has is ``working_time_between(started_at, budget_end)``.
3. Pauses: per channel, a start opens a pause and the next end (in business time) closes it;
   an end with nothing open, or a second start while open, changes nothing. The union of the
   channels' intervals is the time the clock stood still. ``due_at`` is ``budget_end``
   extended by the working time of the *closed* pauses (clipped to the clock's start). While a
   pause is open the clock is paused; :func:`due_as_of` tells the due instant at a given time.
4. The first closure (by business time) stops the clock; facts after it are ignored, and a
   pause still open at the closure ends there.

Outcome of a resolution at ``resolved_at``: ``late`` if after ``due_at`` (with the working
time late, possibly zero when resolved outside office hours), ``on_time`` if on the due
working day (same local date), otherwise ``early``.

Overdue at instant ``t``: ``t`` is after the due instant as of ``t``. A pause that began
after the due instant does not cure the lateness: the due instant moves only by the paused
time, which the lateness already exceeds.

Flags are planned from the clock in :mod:`motcua.services.deadlines.flags`.

A ``deadline.closed`` is the final word on a dossier: if a resolution arrives late but
happened before ``due_at``, a ``deadline.overdue`` may already have been emitted (on
processing time); the ``deadline.closed`` that follows carries the true outcome (``on_time``
or ``early``), which is also what the statistics count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from motcua.services.deadlines.errors import InvalidInput
from motcua.shared.calendar import TimeLimit, TimeUnit, WorkingCalendar

ZERO = timedelta(0)


class PauseChannel(StrEnum):
    """Why the clock stands still; the two channels pause independently."""

    SUPPLEMENT = "supplement"
    FINANCIAL = "financial"


class ClosureKind(StrEnum):
    RESOLVED = "resolved"
    WITHDRAWN = "withdrawn"
    STOPPED = "stopped"


class Outcome(StrEnum):
    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


UpdateReason = Literal["pause", "extension", "correction"]


@dataclass(frozen=True)
class PauseMark:
    """One end of a pause: ``starts`` for requested/notified, not for provided/fulfilled."""

    channel: PauseChannel
    starts: bool
    at: datetime


@dataclass(frozen=True)
class Extension:
    """A formal extension of the time limit, granted at business time ``granted_at``."""

    amount: int
    unit: TimeUnit
    granted_at: datetime
    reason: str = ""


@dataclass(frozen=True)
class Closure:
    kind: ClosureKind
    at: datetime


@dataclass(frozen=True)
class ClockFacts:
    """Everything known about one dossier's clock, in any order."""

    received_at: datetime
    limit: TimeLimit
    pause_marks: tuple[PauseMark, ...] = ()
    extensions: tuple[Extension, ...] = ()
    closures: tuple[Closure, ...] = ()

    def known_at(self, t: datetime) -> ClockFacts:
        """The facts whose business time is at or before ``t`` (the receipt is kept)."""
        return replace(
            self,
            pause_marks=tuple(m for m in self.pause_marks if m.at <= t),
            extensions=tuple(e for e in self.extensions if e.granted_at <= t),
            closures=tuple(c for c in self.closures if c.at <= t),
        )

    @property
    def adjusted(self) -> bool:
        """Whether anything besides the receipt and closures shapes ``due_at``."""
        return bool(self.pause_marks or self.extensions)


@dataclass(frozen=True)
class Interval:
    """A pause ``[start, end)``; ``end`` is None while the pause is still open."""

    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class Clock:
    """The computed clock; see the module docstring for each instant's definition."""

    started_at: datetime
    base_due_at: datetime
    budget_end: datetime
    due_at: datetime
    budget: timedelta
    pauses: tuple[Interval, ...] = ()
    paused: timedelta = ZERO
    closure: Closure | None = None
    outcome: Outcome | None = None
    late_by: timedelta = ZERO
    extensions: tuple[Extension, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.closure is None

    @property
    def paused_since(self) -> datetime | None:
        """Start of the pause still open (None when running or closed)."""
        if self.pauses and self.pauses[-1].end is None:
            return self.pauses[-1].start
        return None


def compute_clock(cal: WorkingCalendar, facts: ClockFacts) -> Clock:
    """The clock as a pure function of the facts; see the module docstring."""
    closure = min(facts.closures, key=lambda c: c.at, default=None)
    until = closure.at if closure else None
    started = cal.effective_start(facts.received_at, rollover=facts.limit.rollover)
    base = cal.due_at(facts.received_at, facts.limit)

    granted = sorted(
        (e for e in facts.extensions if until is None or e.granted_at <= until),
        key=lambda e: e.granted_at,
    )
    budget_end = base
    for ext in granted:
        budget_end = _apply_extension(cal, budget_end, ext)

    pauses = pause_intervals(facts.pause_marks, until)
    paused = sum(
        (_clipped_working_time(cal, iv, started) for iv in pauses if iv.end is not None), ZERO
    )
    due = cal.extend(budget_end, paused)

    outcome, late_by = None, ZERO
    if closure is not None and closure.kind is ClosureKind.RESOLVED:
        outcome, late_by = judge(cal, due, closure.at)
    return Clock(
        started_at=started,
        base_due_at=base,
        budget_end=budget_end,
        due_at=due,
        budget=max(cal.working_time_between(started, budget_end), ZERO),
        pauses=tuple(pauses),
        paused=paused,
        closure=closure,
        outcome=outcome,
        late_by=late_by,
        extensions=tuple(granted),
    )


def judge(
    cal: WorkingCalendar, due_at: datetime, resolved_at: datetime
) -> tuple[Outcome, timedelta]:
    """Outcome of a resolution at ``resolved_at`` against ``due_at``, with the working time late."""
    if resolved_at > due_at:
        return Outcome.LATE, cal.working_time_between(due_at, resolved_at)
    if cal.local_date(resolved_at) == cal.local_date(due_at):
        return Outcome.ON_TIME, ZERO
    return Outcome.EARLY, ZERO


def pause_intervals(marks: Iterable[PauseMark], until: datetime | None = None) -> list[Interval]:
    """The union of every channel's pauses, in order; marks after ``until`` are ignored and a
    pause open at ``until`` ends there. The last interval may be open (``end`` None)."""
    raw: list[Interval] = []
    for channel in PauseChannel:
        # At equal instants an end sorts before a start: "provided, requested again" at the
        # same moment is one continuous pause.
        ordered = sorted((m for m in marks if m.channel is channel), key=lambda m: (m.at, m.starts))
        opened: datetime | None = None
        for mark in ordered:
            if until is not None and mark.at > until:
                break
            if mark.starts:
                opened = opened or mark.at
            elif opened is not None:
                if mark.at > opened:
                    raw.append(Interval(opened, mark.at))
                opened = None
        if opened is not None and (until is None or until > opened):
            raw.append(Interval(opened, until))
    return _union(raw)


def _union(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for iv in sorted(intervals, key=lambda i: i.start):
        if merged and (merged[-1].end is None or iv.start <= merged[-1].end):
            last = merged[-1]
            end = None if last.end is None or iv.end is None else max(last.end, iv.end)
            merged[-1] = Interval(last.start, end)
        else:
            merged.append(iv)
    return merged


def _clipped_working_time(cal: WorkingCalendar, iv: Interval, started: datetime) -> timedelta:
    assert iv.end is not None
    start = max(iv.start, started)
    return cal.working_time_between(start, iv.end) if iv.end > start else ZERO


def _apply_extension(cal: WorkingCalendar, t: datetime, ext: Extension) -> datetime:
    if ext.unit is TimeUnit.WORKING_HOURS:
        return cal.extend(t, timedelta(hours=ext.amount))
    return shift_working_days(cal, t, ext.amount)


def shift_working_days(cal: WorkingCalendar, t: datetime, n: int) -> datetime:
    """The same position in the working day, ``n`` working days later.

    The position is the working time since the day's opening (a 17:00 due stays at the
    day's close; 09:30 stays 2 h into the day), clamped to the target day's close when that
    day is shorter. An instant on a day off counts from the next working day's opening.
    """
    if n < 0:
        raise InvalidInput("amount", "a shift in working days must be >= 0")
    day = cal.local_date(t)
    sessions = cal.working_sessions(day)
    if sessions and t > sessions[0][0]:
        offset = cal.working_time_between(sessions[0][0], t)
    else:
        offset = ZERO
        if not sessions:
            day = cal.next_working_day(day)
    for _ in range(n):
        day = cal.next_working_day(day)
    target = cal.working_sessions(day)
    return min(cal.extend(target[0][0], offset), target[-1][1])


def due_as_of(cal: WorkingCalendar, clock: Clock, t: datetime) -> datetime:
    """The due instant as it stands at ``t``: an open pause extends it up to ``t``."""
    return due_with_open_pause(cal, clock.due_at, clock.started_at, clock.paused_since, t)


def due_with_open_pause(
    cal: WorkingCalendar,
    due_at: datetime,
    started_at: datetime,
    paused_since: datetime | None,
    t: datetime,
) -> datetime:
    """``due_at`` (closed pauses included) extended by the open pause's working time up to
    ``t``. Extending is additive, so this equals recomputing with the pause closed at ``t``."""
    if paused_since is None:
        return due_at
    start = max(paused_since, started_at)
    return cal.extend(due_at, cal.working_time_between(start, t) if t > start else ZERO)


def working_time_left(cal: WorkingCalendar, due: datetime, t: datetime) -> timedelta:
    """Signed working time from ``t`` to ``due``: negative (time late) once ``t`` is past it."""
    return cal.working_time_between(t, due)
