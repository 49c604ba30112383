"""The scheduler: fires the flags of clocks whose time has come.

Each batch is one transaction: claim up to ``batch`` due clocks (``FOR UPDATE SKIP
LOCKED``), record their flags in ``flags`` (unique per dossier, kind and due date), write
the new flags' events and apology letters, and move each clock's next firing time (its
planned schedule stays as the handlers wrote it). So:

* two instances never emit the same flag: they claim different rows, and even a row that
  changed hands between batches hits the unique key and emits nothing;
* a crash loses nothing: an uncommitted batch leaves the rows due, and the next instance
  (or the restarted one) claims them; flags that fell due while no instance ran fire on start.

Time comes from an injectable ``clock`` so tests can move it instead of sleeping.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
from prometheus_client import Counter, Histogram

from motcua.services.deadlines import repository
from motcua.services.deadlines.flags import (
    FLAG_OVERDUE,
    PlannedFlag,
    apology_letter_id,
    flag_event_id,
)
from motcua.services.deadlines.letters import ApologyLetter
from motcua.services.deadlines.repository import DueClock, FlagRecord
from motcua.shared.bus import outbox
from motcua.shared.db import UNAVAILABLE
from motcua.shared.events import Envelope, new_event
from motcua.shared.events.catalog import DeadlineApproaching, DeadlineOverdue
from motcua.shared.logging import get_logger

log = get_logger(__name__)

Clock = Callable[[], datetime]

FLAGS_FIRED = Counter("motcua_deadline_flags_fired_total", "Flags fired by the scheduler", ["kind"])
FIRING_LAG = Histogram(
    "motcua_deadline_firing_lag_seconds",
    "Delay between a flag's due instant and the commit that emits it",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30, 300, 3600),
)


def utc_now() -> datetime:
    return datetime.now(UTC)


async def fire_due(
    conn: asyncpg.Connection, now: datetime, *, limit: int, producer: str = "deadlines"
) -> int:
    """One batch, inside the caller's transaction; returns how many clocks were claimed."""
    claimed = await repository.claim_due(conn, now, limit)
    records: list[FlagRecord] = []
    due: list[tuple[DueClock, PlannedFlag]] = []
    updates: list[tuple[uuid.UUID, datetime | None]] = []
    for c in claimed:
        # The schedule is left as written; flags before the claimed next_fire_at fired on an
        # earlier pass, so only [next_fire_at, now] fires now.
        updates.append((c.dossier_id, min((f.at for f in c.schedule if f.at > now), default=None)))
        for flag in c.schedule:
            if c.next_fire_at <= flag.at <= now:
                event_id = flag_event_id(c.dossier_id, flag.kind, c.due_at)
                records.append(FlagRecord(c.dossier_id, flag.kind, c.due_at, event_id))
                due.append((c, flag))
    fresh = await repository.record_fired(conn, records)
    events: list[Envelope[Any]] = []
    letters: list[ApologyLetter] = []
    for record, (c, flag) in zip(records, due, strict=True):
        if record.event_id not in fresh:
            continue  # emitted before (by another instance or before a restart)
        events.append(_flag_event(c, flag, record, now, producer, letters))
    await repository.add_letters(conn, letters)
    if events:
        await outbox.add(conn, *events)
    await repository.reschedule(conn, updates)
    for record, (_, flag) in zip(records, due, strict=True):
        if record.event_id in fresh:
            FLAGS_FIRED.labels(kind=flag.kind).inc()
            FIRING_LAG.observe(max((now - flag.at).total_seconds(), 0.0))
    return len(claimed)


def _flag_event(
    c: DueClock,
    flag: PlannedFlag,
    record: FlagRecord,
    now: datetime,
    producer: str,
    letters: list[ApologyLetter],
) -> Envelope[Any]:
    facts = {
        "dossier_id": c.dossier_id,
        "dossier_code": c.dossier_code,
        "procedure_code": c.procedure_code,
        "due_at": c.due_at,
    }
    payload: DeadlineOverdue | DeadlineApproaching
    if flag.kind == FLAG_OVERDUE:
        assert flag.new_appointment_at is not None  # planned with the overdue flag
        letter = ApologyLetter(
            letter_id=apology_letter_id(c.dossier_id, c.due_at),
            dossier_id=c.dossier_id,
            center_id=c.center_id,
            dossier_code=c.dossier_code,
            procedure_code=c.procedure_code,
            received_at=c.received_at,
            due_at=c.due_at,
            new_appointment_at=flag.new_appointment_at,
            issued_at=now,
        )
        letters.append(letter)
        payload = DeadlineOverdue(
            **facts,
            new_appointment_at=flag.new_appointment_at,
            apology_letter_id=letter.letter_id,
        )
    else:
        payload = DeadlineApproaching(
            **facts,
            threshold=flag.threshold or flag.kind,
            working_seconds_left=flag.working_seconds_left,
        )
    return new_event(
        payload,
        center_id=c.center_id,
        producer=producer,
        correlation_id=c.dossier_id,
        occurred_at=flag.at,
        event_id=record.event_id,
    )


class Scheduler:
    """Runs :func:`fire_due` in a loop for the app's lifetime.

    After a full batch it goes straight on (a backlog drains at full speed); otherwise it
    sleeps until the earliest next firing time, at most ``poll_interval`` (clocks written
    meanwhile by the handlers are picked up within that) and at least ``min_interval`` (so
    rows locked by another instance are not spun on). Each step also folds the on-time
    summary's and the scorecard summary's pending changes (``repository.fold_on_time_days``,
    ``repository.fold_scorecard_days``), so they stay few.
    """

    def __init__(
        self,
        pool: Callable[[], asyncpg.Pool],
        *,
        clock: Clock = utc_now,
        batch_size: int = 500,
        poll_interval: float = 0.5,
        min_interval: float = 0.02,
        max_backoff: float = 5.0,
    ) -> None:
        self.pool = pool  # a getter: the pool opens with the app, after construction
        self.clock = clock
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.min_interval = min_interval
        self.max_backoff = max_backoff
        self.claimed = 0

    async def run(self) -> None:
        backoff = 0.1
        while True:
            try:
                delay = await self.step()
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # The database may be away (or a deploy raced a migration): retry, never die.
                level = log.warning if isinstance(exc, UNAVAILABLE) else log.exception
                level("deadlines.scheduler_failed", error=repr(exc))
                delay, backoff = backoff, min(backoff * 2, self.max_backoff)
            if delay > 0:
                await asyncio.sleep(delay)

    async def step(self) -> float:
        """Fire one batch; return how long to wait before the next."""
        async with self.pool().acquire() as conn:
            async with conn.transaction():
                claimed = await fire_due(conn, self.clock(), limit=self.batch_size)
            self.claimed += claimed
            async with conn.transaction():
                await repository.fold_on_time_days(conn)
            async with conn.transaction():
                await repository.fold_scorecard_days(conn)
            if claimed >= self.batch_size:
                return 0.0
            upcoming = await repository.next_fire_at(conn)
        if upcoming is None:
            return self.poll_interval
        wait = (upcoming - self.clock()).total_seconds()
        return min(max(wait, self.min_interval), self.poll_interval)
