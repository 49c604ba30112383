"""The breach forecast: the chance that an open dossier finishes late. Pure: no I/O.

The model is meant to be explained to a center's leader in one sentence:

    Of the finished dossiers of the same procedure at the same center that had already
    taken as long as this one, how many needed more work than this one has time left,
    once that work is slowed down by the pile in front of it?

Its inputs, all in *active working seconds* (the legal clock's own measure, pauses left out):

* ``elapsed``: the working time the dossier has used so far;
* ``left``: the working time left before its due instant;
* ``durations``: the working time to resolution of recent finished dossiers of the same
  procedure at the same center (learnt from the events deadlines already consumes);
* ``pressure``: the open backlog in front of the dossier (its assignee's open dossiers, or,
  unassigned, its line's open dossiers per staff member on duty) against the usual
  per-staff backlog of that line. The center holds no staff directory yet, so *staff on
  duty* is a proxy: the distinct assignees of the line's dossiers in the last N working days.

The chance is a conditional, smoothed count over the history::

    survivors = [d for d in durations if d > elapsed]    # past cases at least this slow
    late      = [d for d in survivors if (d - elapsed) * factor > left]
    p         = (len(late) + 0.5) / (len(survivors) + 1)

``factor`` is the backlog ratio, clamped to ``[MIN_FACTOR, MAX_FACTOR]`` so that one odd
day cannot turn the forecast into a coin that always lands the same way. The ``+0.5 / +1``
(a Jeffreys-like prior) keeps a dossier slower than every past case at even odds instead of
certainty either way, and keeps a small history from claiming 0 or 1.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

FLAG_AT_RISK = "at_risk"
"""The flag kind of ``deadline.at_risk`` in the ``flags`` table (one per dossier and due)."""

MIN_FACTOR = 0.5
MAX_FACTOR = 4.0
BACKLOG_NOTABLE = 1.25
"""A backlog ratio from which the backlog, not the history, is named as the reason."""


class Reason(StrEnum):
    """Why the dossier is where it is on the list, for the leader reading it."""

    OVERDUE = "overdue"  # no working time left: the overdue flag has it
    BACKLOG = "backlog"  # the pile in front of it is notably above usual
    SLOW = "slow"  # it has already taken longer than most finished cases
    TIME = "time"  # the usual remaining work does not fit in the time left
    NO_HISTORY = "no_history"  # too few finished cases to say anything


@dataclass(frozen=True)
class Pressure:
    """The backlog in front of one dossier and the usual one, as open dossiers per staff
    member. ``usual`` is None until the center has a history of samples."""

    backlog: float | None
    usual: float | None

    @property
    def factor(self) -> float:
        """How much slower than usual the remaining work goes (1 when unknown)."""
        if self.backlog is None or self.usual is None or self.usual <= 0:
            return 1.0
        return min(max(self.backlog / self.usual, MIN_FACTOR), MAX_FACTOR)


NO_PRESSURE = Pressure(None, None)


def backlog_in_front(assignee_open: int | None, line_open: int, line_staff: int) -> float | None:
    """Open dossiers per staff member in front of one dossier.

    An assigned dossier waits behind its assignee's open dossiers; an unassigned one
    behind its line's, shared by the line's staff on duty. With no staff known (a new
    center, a line nobody has worked on lately) there is no figure: None, not a
    division by zero.
    """
    if assignee_open is not None:
        return float(assignee_open)
    if line_staff <= 0:
        return None
    return line_open / line_staff


def day_sample(backlogs: Sequence[float | None]) -> float | None:
    """One day's sample of a line's backlog: the mean of the backlog in front of each of its
    open dossiers. Measured per dossier, as the forecast reads it (a busy officer's pile is
    in front of many dossiers), so that today's backlog and the usual one compare like with
    like. None when no dossier's backlog is known."""
    known = [b for b in backlogs if b is not None]
    return sum(known) / len(known) if known else None


@dataclass(frozen=True)
class Risk:
    """A forecast: ``probability`` of finishing late, and the reason to show beside it."""

    probability: float
    reason: Reason
    working_seconds_left: int
    elapsed_seconds: int
    factor: float
    samples: int


def breach_probability(
    durations: Sequence[int], elapsed: int, left: int, factor: float = 1.0
) -> float:
    """The smoothed share of past cases, at least as slow as this one so far, whose
    remaining work scaled by ``factor`` exceeds ``left`` (``durations`` sorted ascending)."""
    # (d - elapsed) * factor > left  <=>  d > elapsed + left / factor  (factor > 0), so
    # both counts are binary searches: a sweep forecasts every open dossier of a province.
    survivors = len(durations) - bisect_right(durations, elapsed)
    needed = elapsed + max(left, 0) / factor
    late = min(len(durations) - bisect_right(durations, needed), survivors)
    return (late + 0.5) / (survivors + 1)


def assess(
    durations: Sequence[int],
    *,
    elapsed: int,
    left: int,
    pressure: Pressure = NO_PRESSURE,
    min_samples: int = 5,
) -> Risk:
    """The forecast of one open, running dossier (``durations`` sorted ascending)."""
    factor = pressure.factor
    if left <= 0:
        probability, reason = 1.0, Reason.OVERDUE
    elif len(durations) < min_samples:
        probability, reason = 0.0, Reason.NO_HISTORY
    else:
        probability = round(breach_probability(durations, elapsed, left, factor), 4)
        if factor >= BACKLOG_NOTABLE:
            reason = Reason.BACKLOG
        elif elapsed > durations[len(durations) // 2]:
            reason = Reason.SLOW
        else:
            reason = Reason.TIME
    return Risk(probability, reason, left, elapsed, factor, len(durations))


def median(values: Sequence[float]) -> float | None:
    """The median, None for no values (the usual backlog before any sample)."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
