"""Breach forecasts at work: what finished dossiers teach, a center's ranked list of open
dossiers by risk, and the sweep that publishes ``deadline.at_risk``.

The model itself is pure, in :mod:`motcua.services.deadlines.forecast`; this module reads
its inputs from the clock store and writes its one output, the flag.

``deadline.at_risk`` goes out exactly once per dossier and due instant, through the same
machinery as the scheduler's ``deadline.overdue``: the flag is recorded in ``flags``
(unique per dossier, kind and due instant, its event id derived from exactly those) in the
transaction that writes its outbox row, and only a newly recorded flag is published. So two
sweeps racing on one dossier, or a sweep repeated after a ``kill -9``, publish it once; a
moved due instant (a pause, an extension) re-arms it for the new date, as for the warnings.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
from prometheus_client import Counter as Metric

from motcua.services.deadlines.domain import Clock
from motcua.services.deadlines.flags import flag_event_id, regular_day
from motcua.services.deadlines.forecast import (
    FLAG_AT_RISK,
    Pressure,
    Reason,
    Risk,
    assess,
    backlog_in_front,
    day_sample,
)
from motcua.services.deadlines.repository import FlagRecord, record_fired
from motcua.services.deadlines.repository import forecast as store
from motcua.services.deadlines.repository.forecast import OpenClock
from motcua.shared.bus import outbox
from motcua.shared.calendar import WorkingCalendar
from motcua.shared.events import new_event
from motcua.shared.events.catalog import DeadlineAtRisk

AT_RISK_PUBLISHED = Metric("motcua_deadline_at_risk_total", "deadline.at_risk events published")


@dataclass(frozen=True)
class ForecastPolicy:
    """The forecast's settings (``MOTCUA_DEADLINES_FORECAST_*``)."""

    threshold: float = 0.5
    min_samples: int = 5
    history: int = 200
    staff_window_days: int = 10
    usual_window_days: int = 60


@dataclass(frozen=True)
class Assessed:
    """One open dossier on a center's ranked list: its clock, its forecast, and the backlog
    in front of it (None when no staff is known)."""

    clock: OpenClock
    risk: Risk
    backlog: float | None


async def learn(
    conn: asyncpg.Connection,
    cal: WorkingCalendar,
    ids: tuple[uuid.UUID, str, str, str],
    clock: Clock,
) -> None:
    """Remember how much active working time a resolved dossier took: its budget less the
    working time still left at the resolution (negative when late, so it adds)."""
    if clock.closure is None or clock.outcome is None:
        return
    left = cal.working_time_between(clock.closure.at, clock.due_at)
    seconds = int((clock.budget - left).total_seconds())
    dossier_id, center_id, _, procedure_code = ids
    await store.record_duration(
        conn, dossier_id, center_id, procedure_code, clock.closure.at, seconds
    )


async def assess_center(
    conn: asyncpg.Connection,
    center_id: str,
    now: datetime,
    cal: WorkingCalendar,
    policy: ForecastPolicy,
) -> tuple[list[Assessed], dict[str, float]]:
    """A center's open running dossiers with their forecasts, highest risk first (then the
    least time left), and today's sample of each line's backlog (``day_sample``)."""
    clocks = await store.open_running(conn, center_id)
    if not clocks:
        return [], {}
    day = regular_day(cal)
    staff_since = cal.extend(now, -day * policy.staff_window_days)
    staff = await store.line_staff(conn, center_id, staff_since)
    usual_since = cal.local_date(now) - timedelta(days=policy.usual_window_days)
    usual = await store.usual_load(conn, center_id, usual_since)
    procedures = {c.procedure_code for c in clocks}
    durations = await store.recent_durations(conn, center_id, policy.history, procedures)

    per_assignee = Counter(c.assignee for c in clocks if c.assignee is not None)
    per_line = Counter(c.line_code for c in clocks)
    out: list[Assessed] = []
    for c in clocks:
        backlog = backlog_in_front(
            per_assignee[c.assignee] if c.assignee else None,
            per_line[c.line_code],
            staff.get(c.line_code, 0),
        )
        left = int(cal.working_time_between(now, c.due_at).total_seconds())
        risk = assess(
            durations.get(c.procedure_code, []),
            elapsed=max(c.budget_seconds - max(left, 0), 0),
            left=left,
            pressure=Pressure(backlog, usual.get(c.line_code)),
            min_samples=policy.min_samples,
        )
        out.append(Assessed(c, risk, backlog))
    out.sort(key=lambda a: (-a.risk.probability, a.risk.working_seconds_left, a.clock.dossier_code))
    in_front: dict[str, list[float | None]] = defaultdict(list)
    for a in out:
        in_front[a.clock.line_code].append(a.backlog)
    loads = {line: s for line, b in in_front.items() if (s := day_sample(b)) is not None}
    return out, loads


async def sweep_center(
    conn: asyncpg.Connection,
    center_id: str,
    now: datetime,
    cal: WorkingCalendar,
    policy: ForecastPolicy,
    *,
    producer: str = "deadlines",
) -> int:
    """Forecast a center's open dossiers, inside the caller's transaction; publish
    ``deadline.at_risk`` for each one at or over the threshold and not flagged before for
    its due instant. Returns how many were published."""
    assessed, loads = await assess_center(conn, center_id, now, cal, policy)
    await store.sample_load(conn, center_id, cal.local_date(now), loads)
    risky = [
        a
        for a in assessed
        if a.risk.probability >= policy.threshold
        and a.risk.reason not in (Reason.OVERDUE, Reason.NO_HISTORY)
    ]
    ids = [flag_event_id(a.clock.dossier_id, FLAG_AT_RISK, a.clock.due_at) for a in risky]
    records = [
        FlagRecord(a.clock.dossier_id, FLAG_AT_RISK, a.clock.due_at, i)
        for a, i in zip(risky, ids, strict=True)
    ]
    fresh = await record_fired(conn, records)
    events = [
        new_event(
            DeadlineAtRisk(
                dossier_id=a.clock.dossier_id,
                dossier_code=a.clock.dossier_code,
                procedure_code=a.clock.procedure_code,
                due_at=a.clock.due_at,
                probability=a.risk.probability,
                threshold=policy.threshold,
                working_seconds_left=a.risk.working_seconds_left,
                reason=a.risk.reason.value,
            ),
            center_id=center_id,
            producer=producer,
            correlation_id=a.clock.dossier_id,
            occurred_at=now,
            event_id=r.event_id,
        )
        for a, r in zip(risky, records, strict=True)
        if r.event_id in fresh
    ]
    if events:
        await outbox.add(conn, *events)
        AT_RISK_PUBLISHED.inc(len(events))
    return len(events)


class RiskSweep:
    """Runs :func:`sweep_center` over every center with open clocks, one transaction per
    center. The runtime calls :meth:`sweep` every ``interval`` seconds for the app's
    lifetime (``ServiceRuntime.every``: a failed pass is logged and tried again next time).
    Several instances may run: a center swept by one less than half an interval ago is
    skipped by the others, and the flag's unique key decides which one publishes."""

    def __init__(
        self,
        calendar_of: Callable[[asyncpg.Connection, str], Awaitable[WorkingCalendar]],
        policy: ForecastPolicy,
        *,
        clock: Callable[[], datetime],
        interval: float,
    ) -> None:
        self.calendar_of = calendar_of
        self.policy = policy
        self.clock = clock
        self.interval = interval
        self.published = 0
        self.passes = 0
        self._started = False

    async def sweep(self, conn: asyncpg.Connection) -> None:
        """One pass over every center on ``conn``, from the second call on.

        The first call, at start, does nothing: a restarted instance first catches up on
        the flags that fell due while it was down, and a forecast counted in working days
        can wait one interval."""
        if not self._started:
            self._started = True
            return
        for center_id in await store.centers_with_open_clocks(conn):
            async with conn.transaction():
                if not await store.claim_center(conn, center_id, self.interval / 2):
                    continue  # another instance swept it moments ago
                cal = await self.calendar_of(conn, center_id)
                self.published += await sweep_center(
                    conn, center_id, self.clock(), cal, self.policy
                )
        self.passes += 1
