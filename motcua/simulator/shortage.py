"""A synthetic history with a staff shortage, for backtesting the breach forecast.

One center, one service line, multi-day procedures only (the ones a forecast can warn about
days ahead). Time runs on a *working-time axis*: second ``w`` is ``w`` seconds of working
time after the first opening, so a working day is ``DAY`` seconds and day ``k`` spans
``[k * DAY, (k + 1) * DAY)``. Nothing here needs the calendar: every figure the forecast
reads is already working time.

* Dossiers arrive at ``arrivals_per_day`` a day on average (Poisson), spread over the day.
* Each needs some hands-on work (log-normal around its procedure's median), done by one
  officer, first come first served; officers are assigned round-robin among those present.
* Normally ``staff`` officers are present; from day ``shortage_from`` to ``shortage_to``
  only ``shortage_staff`` are, and the queues of the absent are handed to those present.
* A dossier with a limit of N working days is due at the close of the N-th working day after
  the day it arrived (the legal clock's rule for working days), and late if resolved after.

The load is set so that the full team copes (about 80 % busy) and the reduced team does not:
dossiers go late during the shortage and for a while after, and the forecast has to see it
coming from the backlog.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

DAY = 27_000  # a regular working day, 7 h 30, in seconds


@dataclass(frozen=True)
class ProcedureWork:
    code: str
    weight: float
    limit_days: int
    median_work_hours: float


MULTI_DAY: tuple[ProcedureWork, ...] = (
    ProcedureWork("CT-BANSAO-NHIEU", 0.15, 2, 1.0),
    ProcedureWork("HT-XNTTHN", 0.25, 3, 2.0),
    ProcedureWork("CUTRU-TAMTRU", 0.25, 3, 1.5),
    ProcedureWork("CUTRU-THUONGTRU", 0.2, 7, 4.0),
    ProcedureWork("LT-KHAISINH-THUONGTRU-BHYT", 0.15, 15, 6.0),
)


@dataclass
class Case:
    """One dossier on the working-time axis, with what happened to it.

    ``assignments`` lists (instant, officer), the first at arrival; ``resolved`` is None
    for a dossier still open at the end of the history.
    """

    seq: int
    procedure: str
    line: str
    received: int
    started: int
    due: int
    work: int
    assignments: list[tuple[int, str]] = field(default_factory=list)
    resolved: int | None = None
    pause: tuple[int, int] | None = None  # (requested, provided) working instants
    done: int = 0  # work done so far (the simulation's own bookkeeping)

    def assignee_at(self, t: int) -> str | None:
        current = None
        for at, who in self.assignments:
            if at <= t:
                current = who
        return current


def plan_shortage(
    *,
    days: int = 130,
    staff: int = 6,
    shortage_staff: int = 3,
    shortage_from: int = 60,
    shortage_to: int = 80,
    arrivals_per_day: float = 9.0,
    seed: int = 7,
) -> list[Case]:
    """The history, day by day; see the module docstring."""
    rng = random.Random(seed)
    officers = [f"can-bo-{i + 1}" for i in range(staff)]
    queues: dict[str, list[Case]] = {o: [] for o in officers}
    cases: list[Case] = []
    turn = 0
    for day in range(days):
        start, end = day * DAY, (day + 1) * DAY
        short = shortage_from <= day < shortage_to
        present = officers[: shortage_staff if short else staff]
        # The absent hand their waiting dossiers to those present.
        for o in officers:
            if o not in present and queues[o]:
                for case in queues[o]:
                    who = present[turn % len(present)]
                    turn += 1
                    case.assignments.append((start, who))
                    queues[who].append(case)
                queues[o] = []
        for who in present:
            queues[who].sort(key=lambda c: c.received)
        arrivals = sorted(
            start + rng.randrange(DAY) for _ in range(_poisson(rng, arrivals_per_day))
        )
        for at in arrivals:
            proc = rng.choices(MULTI_DAY, weights=[p.weight for p in MULTI_DAY])[0]
            work = int(3600 * proc.median_work_hours * math.exp(rng.gauss(0, 0.6)))
            who = present[turn % len(present)]
            turn += 1
            case = Case(
                seq=len(cases),
                procedure=proc.code,
                line="A",
                received=at,
                started=at,
                due=(day + proc.limit_days + 1) * DAY,
                work=max(work, 300),
                assignments=[(at, who)],
            )
            cases.append(case)
            queues[who].append(case)
        for who in present:
            _work_day(queues[who], start, end)
    return cases


def _work_day(queue: list[Case], start: int, end: int) -> None:
    """One officer's day: first come first served, each dossier's work to the end."""
    t = start
    while queue and t < end:
        case = queue[0]
        t = max(t, case.received)
        if t >= end:
            break
        step = min(case.work - case.done, end - t)
        case.done += step
        t += step
        if case.done >= case.work:
            case.resolved = t
            queue.pop(0)


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small means of a ward center's day.
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
