"""Daily queue statistics per line and per counter, computed from the ticket history. Pure.

Definitions (one local day of one center):

* ``issued`` counts on the line a ticket was issued for; ``transferred`` on the
  line it left; ``called``, ``served``, ``no_show`` and ``cancelled`` on the line
  (and counter) where they happened.
* A **wait** runs from entering a line's queue (issue, transfer or re-queue) to
  the first call there; recalls are not new waits.
* **Service time** runs from the start of service (or the call, when the clerk
  finished without starting) to its completion.
* ``p90`` is the nearest-rank 90th percentile: the smallest value that at least
  90% of the waits do not exceed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from motcua.services.queue.directory import Center
from motcua.services.queue.domain import Kind


@dataclass(frozen=True)
class LogEntry:
    """One recorded ticket change, as the statistics need it."""

    kind: str
    line_code: str
    counter_id: str | None
    wait_seconds: float | None = None
    service_seconds: float | None = None
    booked: bool = False  # the ticket of a booking checked in at the kiosk


@dataclass(frozen=True)
class Figures:
    issued: int
    called: int
    served: int
    no_show: int
    transferred: int
    cancelled: int
    requeued: int
    mean_wait_seconds: float | None
    p90_wait_seconds: float | None
    mean_service_seconds: float | None


@dataclass(frozen=True)
class DailyStats:
    center_id: str
    day: date
    total: Figures
    lines: dict[str, Figures]
    counters: dict[str, Figures]


def nearest_rank(values: Sequence[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(pct / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def figures(entries: Iterable[LogEntry]) -> Figures:
    items = list(entries)

    def count(kind: Kind) -> int:
        return sum(1 for e in items if e.kind == kind)

    waits = [e.wait_seconds for e in items if e.kind == Kind.CALLED and e.wait_seconds is not None]
    services = [
        e.service_seconds
        for e in items
        if e.kind == Kind.SERVICE_COMPLETED and e.service_seconds is not None
    ]
    return Figures(
        issued=count(Kind.ISSUED),
        called=count(Kind.CALLED),
        served=count(Kind.SERVICE_COMPLETED),
        no_show=count(Kind.NO_SHOW),
        transferred=count(Kind.TRANSFERRED),
        cancelled=count(Kind.CANCELLED),
        requeued=count(Kind.REQUEUED),
        mean_wait_seconds=_mean(waits),
        p90_wait_seconds=nearest_rank(waits, 90),
        mean_service_seconds=_mean(services),
    )


def daily_stats(center: Center, day: date, entries: Iterable[LogEntry]) -> DailyStats:
    """Every line and counter of the center appears, with zeros where nothing happened."""
    items = list(entries)
    return DailyStats(
        center_id=center.center_id,
        day=day,
        total=figures(items),
        lines={code: figures(e for e in items if e.line_code == code) for code in center.lines},
        counters={cid: figures(e for e in items if e.counter_id == cid) for cid in center.counters},
    )


WAIT_BUCKETS_MINUTES: tuple[int, ...] = (5, 10, 15, 20, 30, 45, 60)
"""Upper bounds of the waiting-time histogram's buckets; a last bucket holds the rest."""


@dataclass(frozen=True)
class AppointmentFigures:
    """A day's bookings and how their citizens waited, against walk-ins."""

    booked: int  # bookings for the day, whatever became of them but a cancellation
    checked_in: int
    no_show: int
    cancelled: int
    mean_wait_booked_seconds: float | None
    mean_wait_walk_in_seconds: float | None


def appointment_figures(
    by_status: Mapping[str, int], entries: Iterable[LogEntry]
) -> AppointmentFigures:
    """``by_status``: the day's bookings counted per status (booked, checked_in, …)."""
    calls = [e for e in entries if e.kind == Kind.CALLED and e.wait_seconds is not None]
    return AppointmentFigures(
        booked=sum(n for status, n in by_status.items() if status != "cancelled"),
        checked_in=by_status.get("checked_in", 0),
        no_show=by_status.get("no_show", 0),
        cancelled=by_status.get("cancelled", 0),
        mean_wait_booked_seconds=_mean([e.wait_seconds or 0.0 for e in calls if e.booked]),
        mean_wait_walk_in_seconds=_mean([e.wait_seconds or 0.0 for e in calls if not e.booked]),
    )


@dataclass(frozen=True)
class WaitingHistogram:
    """How long the day's called tickets waited: counts per bucket, no ticket identity."""

    center_id: str
    day: date
    calls: int
    mean_wait_seconds: float | None
    p90_wait_seconds: float | None
    buckets: list[tuple[str, int]]
    appointments: AppointmentFigures | None = None


def waiting_histogram(
    center_id: str,
    day: date,
    entries: Iterable[LogEntry],
    appointments: AppointmentFigures | None = None,
) -> WaitingHistogram:
    waits = [
        e.wait_seconds for e in entries if e.kind == Kind.CALLED and e.wait_seconds is not None
    ]
    bounds = [0, *WAIT_BUCKETS_MINUTES]
    labels = [f"{lo}–{hi}" for lo, hi in itertools.pairwise(bounds)]
    labels.append(f"≥{WAIT_BUCKETS_MINUTES[-1]}")
    counts = [0] * len(labels)
    for w in waits:
        minutes = w / 60
        index = next((i for i, hi in enumerate(WAIT_BUCKETS_MINUTES) if minutes < hi), -1)
        counts[index] += 1
    return WaitingHistogram(
        center_id,
        day,
        len(waits),
        _mean(waits),
        nearest_rank(waits, 90),
        list(zip(labels, counts, strict=True)),
        appointments,
    )
