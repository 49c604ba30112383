"""A center's dossier history, planned deterministically, with its ground truth.

The default scenario is shaped like the Nam Cường ward center's public figures:
3,510 dossiers received from 1 July to 27 November 2025, 3,450 resolved on time
or early and 60 still in progress at 17:00 on 27 November. Truth is computed here
with the working-calendar kernel, independently of the deadlines service.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from motcua.shared.calendar import TimeLimit, TimeUnit, WorkingCalendar

Outcome = Literal["early", "on_time", "late"]


@dataclass(frozen=True)
class ProcedureShare:
    """One procedure of the mix: its code, its weight and its legal time limit."""

    code: str
    weight: float
    limit: TimeLimit


# A ward-level mix, dominated by certified copies and civil status (DESIGN.md reference data).
WARD_MIX: tuple[ProcedureShare, ...] = (
    ProcedureShare("CT-BANSAO", 0.46, TimeLimit(0, TimeUnit.WORKING_DAYS, rollover=True)),
    ProcedureShare("CT-BANSAO-NHIEU", 0.06, TimeLimit(2, TimeUnit.WORKING_DAYS, rollover=True)),
    ProcedureShare("HT-TRICHLUC", 0.08, TimeLimit(0, TimeUnit.WORKING_DAYS, rollover=True)),
    ProcedureShare("HT-KHAISINH", 0.08, TimeLimit(0, TimeUnit.WORKING_DAYS, rollover=True)),
    ProcedureShare("HT-KETHON", 0.04, TimeLimit(0, TimeUnit.WORKING_DAYS, rollover=True)),
    ProcedureShare("HT-KETHON-XACMINH", 0.01, TimeLimit(5, TimeUnit.WORKING_DAYS)),
    ProcedureShare("HT-XNTTHN", 0.09, TimeLimit(3, TimeUnit.WORKING_DAYS)),
    ProcedureShare("LT-KHAISINH-THUONGTRU-BHYT", 0.04, TimeLimit(15, TimeUnit.WORKING_DAYS)),
    ProcedureShare("CUTRU-THUONGTRU", 0.06, TimeLimit(7, TimeUnit.WORKING_DAYS)),
    ProcedureShare("CUTRU-TAMTRU", 0.08, TimeLimit(3, TimeUnit.WORKING_DAYS)),
)


@dataclass(frozen=True)
class Pause:
    """A supplement request and its provision: the clock stands still between them."""

    requested_at: datetime
    provided_at: datetime


@dataclass(frozen=True)
class DossierPlan:
    """What happens to one dossier, in business time (UTC)."""

    center_id: str
    seq: int
    procedure: ProcedureShare
    received_at: datetime
    due_at: datetime  # after pauses
    pause: Pause | None = None
    resolved_at: datetime | None = None

    def outcome(self, cal: WorkingCalendar) -> Outcome | None:
        if self.resolved_at is None:
            return None
        if self.resolved_at > self.due_at:
            return "late"
        same_day = cal.local_date(self.resolved_at) == cal.local_date(self.due_at)
        return "on_time" if same_day else "early"


@dataclass
class Truth:
    """The on-time table the report must reproduce."""

    received: int = 0
    resolved_early: int = 0
    resolved_on_time: int = 0
    resolved_late: int = 0
    in_progress_within: int = 0
    in_progress_overdue: int = 0

    @property
    def on_time_or_early(self) -> int:
        return self.resolved_early + self.resolved_on_time

    @property
    def in_progress(self) -> int:
        return self.in_progress_within + self.in_progress_overdue


@dataclass
class Scenario:
    centers: list[str]
    start: date
    as_of: datetime
    plans: list[DossierPlan] = field(default_factory=list)

    def truth(self, cal: WorkingCalendar) -> Truth:
        t = Truth()
        for p in self.plans:
            t.received += 1
            outcome = p.outcome(cal)
            if outcome == "early":
                t.resolved_early += 1
            elif outcome == "on_time":
                t.resolved_on_time += 1
            elif outcome == "late":
                t.resolved_late += 1
            elif p.due_at < self.as_of:
                t.in_progress_overdue += 1
            else:
                t.in_progress_within += 1
        return t


def _working_days(cal: WorkingCalendar, start: date, end: date) -> list[date]:
    days, d = [], start
    while d <= end:
        if cal.is_working_day(d):
            days.append(d)
        d += timedelta(days=1)
    return days


def _instant_in_sessions(cal: WorkingCalendar, day: date, rng: random.Random) -> datetime:
    sessions = cal.working_sessions(day)
    total = sum((b - a).total_seconds() for a, b in sessions)
    # Morning-heavy arrivals: the square pulls the instant towards the opening.
    offset = (rng.random() ** 1.6) * total
    for a, b in sessions:
        span = (b - a).total_seconds()
        if offset < span:
            return (a + timedelta(seconds=int(offset))).astimezone(UTC)
        offset -= span
    return sessions[-1][1] - timedelta(minutes=1)


def _pick(mix: tuple[ProcedureShare, ...], rng: random.Random) -> ProcedureShare:
    return rng.choices(mix, weights=[p.weight for p in mix])[0]


def _resolution(
    cal: WorkingCalendar, received: datetime, due: datetime, rng: random.Random
) -> datetime:
    """A resolution instant at or before ``due``: mostly early, some on the due day."""
    span = cal.working_time_between(received, due)
    share = rng.uniform(0.05, 0.95) if rng.random() < 0.8 else rng.uniform(0.95, 0.999)
    return cal.add_working_hours(received, span * share)


def plan_center(
    center_id: str,
    *,
    received: int,
    in_progress: int,
    start: date,
    as_of: datetime,
    seed: int,
    cal: WorkingCalendar,
    mix: tuple[ProcedureShare, ...] = WARD_MIX,
    pause_share: float = 0.05,
    late: int = 0,
    overdue: int = 0,
) -> list[DossierPlan]:
    """``received`` dossiers: ``in_progress`` still open within their deadline at
    ``as_of``, ``overdue`` still open past it, ``late`` resolved after it, and the
    rest resolved on time or early."""
    rng = random.Random(seed)
    last_day = cal.local_date(as_of)
    days = _working_days(cal, start, last_day)
    plans: list[DossierPlan] = []
    # The open ones are recent multi-day procedures whose due date lies after as_of.
    long_mix = tuple(p for p in mix if p.limit.amount >= 3)
    for seq in range(in_progress):
        proc = _pick(long_mix, rng)
        for _ in range(200):
            day = rng.choice(days[-3:])
            at = _instant_in_sessions(cal, day, rng)
            if at < as_of and cal.due_at(at, proc.limit) > as_of:
                break
        plans.append(DossierPlan(center_id, seq, proc, at, cal.due_at(at, proc.limit)))
    for seq in range(in_progress, received):
        proc = _pick(mix, rng)
        for _ in range(200):
            at = _instant_in_sessions(cal, rng.choice(days), rng)
            due = cal.due_at(at, proc.limit)
            if due <= as_of:
                break
        pause = None
        if proc.limit.amount >= 3 and rng.random() < pause_share * 4:
            asked = _resolution(cal, at, due, rng)
            back = cal.add_working_hours(asked, timedelta(hours=rng.choice([2, 4, 8, 16])))
            pause = Pause(asked, back)
            due = cal.extend(due, cal.working_time_between(asked, back))
            if due > as_of:
                pause, due = None, cal.due_at(at, proc.limit)
        start_from = pause.provided_at if pause else at
        resolved = _resolution(cal, start_from, due, rng)
        plans.append(DossierPlan(center_id, seq, proc, at, due, pause, resolved))
    plans[len(plans) - late - overdue :] = [
        _late(p, cal, rng, as_of) for p in plans[len(plans) - late - overdue : len(plans) - overdue]
    ] + [
        DossierPlan(p.center_id, p.seq, p.procedure, p.received_at, p.due_at)
        for p in plans[len(plans) - overdue :]
    ]
    plans.sort(key=lambda p: p.received_at)
    return plans


def _late(p: DossierPlan, cal: WorkingCalendar, rng: random.Random, as_of: datetime) -> DossierPlan:
    """The same dossier, resolved some working hours after its due instant."""
    resolved = cal.add_working_hours(p.due_at, timedelta(hours=rng.choice([1, 3, 8, 12])))
    if resolved > as_of:  # too recent to be late yet: leave it open (and overdue)
        return DossierPlan(p.center_id, p.seq, p.procedure, p.received_at, p.due_at, p.pause)
    return DossierPlan(p.center_id, p.seq, p.procedure, p.received_at, p.due_at, p.pause, resolved)


def nam_cuong_2025(*, seed: int = 2025, scale: int = 1) -> Scenario:
    """The reference center's 1 July – 27 November 2025, ``scale`` times over."""
    cal = WorkingCalendar.default()
    as_of = datetime(2025, 11, 27, 17, 0, tzinfo=cal.tz).astimezone(UTC)
    start = date(2025, 7, 1)
    centers = ["nam-cuong"] + [f"nam-cuong-{i:03d}" for i in range(2, scale + 1)]
    scenario = Scenario(centers, start, as_of)
    for i, center in enumerate(centers):
        scenario.plans += plan_center(
            center, received=3510, in_progress=60, start=start, as_of=as_of,
            seed=seed + i, cal=cal,
        )  # fmt: skip
    return scenario


def by_time(plans: list[DossierPlan]) -> Iterator[tuple[datetime, str, DossierPlan]]:
    """Every action of every dossier, in business-time order."""
    steps: list[tuple[datetime, int, str, DossierPlan]] = []
    for p in plans:
        steps.append((p.received_at, 0, "receive", p))
        if p.pause:
            steps.append((p.pause.requested_at, 1, "request_supplement", p))
            steps.append((p.pause.provided_at, 2, "provide_supplement", p))
        if p.resolved_at:
            steps.append((p.resolved_at, 3, "resolve", p))
    for at, _, action, p in sorted(steps, key=lambda s: (s[0], s[1], s[3].seq)):
        yield at, action, p
