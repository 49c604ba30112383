"""Use cases of the deadlines service, shared by the bus handlers, the HTTP API and the CLI.

Each runs on the caller's connection inside the caller's transaction: the clock's state,
the flags recorded as emitted and their outbox rows commit together or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from motcua.services.deadlines import calendars as center_calendars
from motcua.services.deadlines import repository, risks, timeline, waits
from motcua.services.deadlines.domain import (
    Clock,
    ClockFacts,
    Closure,
    ClosureKind,
    Extension,
    PauseChannel,
    PauseMark,
    UpdateReason,
    compute_clock,
)
from motcua.services.deadlines.errors import Conflict, InvalidInput, NotFound
from motcua.services.deadlines.flags import (
    FLAG_CLOSED,
    FLAG_SET,
    FLAG_UPDATED,
    Threshold,
    appointment_set_id,
    flag_event_id,
    plan_flags,
)
from motcua.services.deadlines.repository import Receipt, Touched
from motcua.services.deadlines.repository import waits as waits_sql
from motcua.services.deadlines.scheduler import Scheduler, utc_now
from motcua.services.deadlines.settings import DeadlinesSettings
from motcua.shared.auth import Principal
from motcua.shared.bus import outbox
from motcua.shared.calendar import CalendarError, TimeLimit, TimeUnit, WorkingCalendar
from motcua.shared.centers import CenterBook
from motcua.shared.events import Envelope, Payload, catalog, new_event
from motcua.shared.events.catalog import (
    CenterConfigured,
    DeadlineClosed,
    DeadlineSet,
    DeadlineUpdated,
)
from motcua.shared.logging import get_logger

log = get_logger(__name__)

PRODUCER = "deadlines"

# dossier event -> the pause mark it records (channel, starts)
PAUSE_EVENTS: dict[type[catalog.DossierFacts], tuple[PauseChannel, bool]] = {
    catalog.DossierSupplementRequested: (PauseChannel.SUPPLEMENT, True),
    catalog.DossierSupplementProvided: (PauseChannel.SUPPLEMENT, False),
    catalog.DossierFinancialObligationNotified: (PauseChannel.FINANCIAL, True),
    catalog.DossierFinancialObligationFulfilled: (PauseChannel.FINANCIAL, False),
}
CLOSURE_EVENTS: dict[type[catalog.DossierFacts], ClosureKind] = {
    catalog.DossierResolved: ClosureKind.RESOLVED,
    catalog.DossierWithdrawn: ClosureKind.WITHDRAWN,
    catalog.DossierStopped: ClosureKind.STOPPED,
}
DOSSIER_EVENTS: tuple[type[catalog.DossierFacts], ...] = (
    catalog.DossierReceived,
    catalog.DossierAssigned,
    catalog.DossierReturned,
    *PAUSE_EVENTS,
    *CLOSURE_EVENTS,
)
"""The dossier events that move a clock: every one intake publishes."""


@dataclass(frozen=True)
class Policy:
    """The configurable rules: near-late thresholds and the apology letter's grace."""

    thresholds: tuple[Threshold, ...]
    apology_grace_days: int


class Calendars:
    """Each center's working calendar, rebuilt only when its stored overrides change.

    The version is read with the clock (or by :meth:`of`), so a change made through another
    instance takes effect at once; only the built calendar is cached.
    """

    def __init__(self) -> None:
        self._built: dict[str, tuple[int, WorkingCalendar]] = {}

    @property
    def default(self) -> WorkingCalendar:
        return WorkingCalendar.default()

    async def of(self, conn: asyncpg.Connection, center_id: str) -> WorkingCalendar:
        stored = await repository.center_calendar(conn, center_id)
        if stored is None or not stored.overrides:
            return self.default
        cached = self._built.get(center_id)
        if cached is not None and cached[0] == stored.version:
            return cached[1]
        cal = center_calendars.build(stored.overrides)
        self._built[center_id] = (stored.version, cal)
        return cal

    async def at_version(
        self, conn: asyncpg.Connection, center_id: str, version: int | None
    ) -> WorkingCalendar:
        """Like :meth:`of` when the stored version was already read (None: no overrides)."""
        if version is None:
            return self.default
        cached = self._built.get(center_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        return await self.of(conn, center_id)


@dataclass
class Deadlines:
    """The service's shared parts: its rules, the calendars cache and the clock. Built
    once by ``app.create_app``; the handlers, the API and the scheduler share it.

    ``clock`` is the time the scheduler and the worklist use; tests inject a movable one.
    """

    settings: DeadlinesSettings
    policy: Policy
    calendars: Calendars = field(default_factory=Calendars)
    centers: CenterBook = field(default_factory=CenterBook)
    clock: Callable[[], datetime] = utc_now
    scheduler: Scheduler | None = None
    forecast: risks.ForecastPolicy = field(default_factory=risks.ForecastPolicy)
    risk_sweep: risks.RiskSweep | None = None

    def registry(self) -> tuple[list[str], dict[str, str]]:
        """The centers of the registry, and every center's name known (one the registry
        has not named yet keeps the name the settings give it)."""
        known = self.centers.centers
        names = {**self.settings.center_names, **{c: k.config.name for c, k in known.items()}}
        return sorted(known), names


# ----------------------------------------------------------------- dossier events


async def apply_dossier_event(
    conn: asyncpg.Connection, event: Envelope[Any], *, calendars: Calendars, policy: Policy
) -> None:
    """Record what a ``dossier.*`` event tells the clock, then recompute the clock."""
    data = event.data
    dossier_id: uuid.UUID = data.dossier_id
    ids = (dossier_id, event.center_id, data.dossier_code, data.procedure_code)
    at = event.occurred_at
    reason: UpdateReason = "pause"
    if isinstance(data, catalog.DossierReceived):
        snapshot = data.time_limit
        limit = TimeLimit(snapshot.amount, TimeUnit(snapshot.unit), snapshot.rollover)
        receipt = Receipt(data.received_at, limit, data.line_code, data.appointment_at, at)
        if data.procedure_name is not None:
            name = data.procedure_name
            await repository.save_procedure_name(
                conn, event.center_id, data.procedure_code, name.vi, name.en
            )
        if not await repository.record_receipt(conn, *ids, receipt):
            return  # an older copy of the receipt than the one stored
        await repository.record_channel(conn, dossier_id, data.channel)
        reason, at = "correction", data.received_at
    elif isinstance(data, catalog.DossierAssigned):
        assignment = (data.assignee, data.department, data.status, at)
        await repository.record_assignment(conn, *ids, assignment)
        return
    elif type(data) in PAUSE_EVENTS:
        channel, starts = PAUSE_EVENTS[type(data)]
        mark = PauseMark(channel, starts, at)
        await repository.add_pause_mark(conn, event.event_id, dossier_id, mark)
    elif type(data) in CLOSURE_EVENTS:
        closure = Closure(CLOSURE_EVENTS[type(data)], at)
        await repository.add_closure(conn, event.event_id, dossier_id, closure)
    touched = await repository.touch_clock(conn, *ids, data.status, event.occurred_at)
    if isinstance(data, catalog.DossierSupplementRequested):
        await repository.refresh_flags(conn, dossier_id)  # the scorecard's request count
    if isinstance(data, catalog.DossierReturned):
        return  # the result went back to the citizen after the clock stopped
    await refresh(
        conn, touched, calendars=calendars, policy=policy, reason=reason, at=at, cause=event
    )


async def refresh(
    conn: asyncpg.Connection,
    touched: Touched,
    *,
    calendars: Calendars,
    policy: Policy,
    reason: UpdateReason,
    at: datetime,
    cause: Envelope[Any] | None = None,
) -> Clock | None:
    """Recompute a locked clock from all its facts, store it with the flags still to fire,
    and emit ``deadline.set`` / ``deadline.updated`` / ``deadline.closed`` when due.

    ``reason`` and ``at`` describe the change for a ``deadline.updated``. Returns the new
    clock, or None while the receipt is unknown (the facts wait for it).
    """
    row = touched.clock
    if row.received_at is None or row.limit is None:
        return None
    marks, extensions, closures = touched.facts
    facts = ClockFacts(row.received_at, row.limit, marks, extensions, closures)
    cal = await calendars.at_version(conn, row.center_id, touched.calendar_version)
    clock = compute_clock(cal, facts)
    emitted = touched.emitted_for(clock.due_at)
    planned = plan_flags(cal, clock, policy.thresholds, policy.apology_grace_days)

    common = {
        "dossier_id": row.dossier_id,
        "dossier_code": row.dossier_code,
        "procedure_code": row.procedure_code,
        "due_at": clock.due_at,
    }
    raised: list[tuple[str, Payload, datetime]] = []
    if row.due_at is None:
        raised.append((FLAG_SET, DeadlineSet(**common), facts.received_at))
    elif row.due_at != clock.due_at:
        updated = DeadlineUpdated(**common, previous_due_at=row.due_at, reason=reason)
        raised.append((FLAG_UPDATED, updated, at))
    if clock.outcome is not None and clock.closure is not None:
        closed = DeadlineClosed(
            **common,
            resolved_at=clock.closure.at,
            outcome=clock.outcome.value,
            working_seconds_late=int(clock.late_by.total_seconds()),
        )
        raised.append((FLAG_CLOSED, closed, clock.closure.at))
    raised = [r for r in raised if r[0] not in emitted]
    ids = {kind: flag_event_id(row.dossier_id, kind, clock.due_at) for kind, _, _ in raised}

    fresh = await repository.save_state(
        conn,
        row.dossier_id,
        clock,
        adjusted=facts.adjusted,
        schedule=[f for f in planned if f.kind not in emitted],
        flags=list(ids.items()),
    )
    events = [
        new_event(
            payload,
            center_id=row.center_id,
            producer=PRODUCER,
            correlation_id=(cause.correlation_id if cause else None) or row.dossier_id,
            causation_id=cause.event_id if cause else None,
            occurred_at=occurred_at,
            event_id=ids[kind],
        )
        for kind, payload, occurred_at in raised
        if ids[kind] in fresh
    ]
    if events:
        await outbox.add(conn, *events)
    if clock.outcome is not None:
        # What a resolved dossier took teaches the breach forecast, in this same transaction
        # (the inbox's), so a redelivered event teaches nothing twice.
        learnt = (row.dossier_id, row.center_id, row.dossier_code, row.procedure_code)
        await risks.learn(conn, cal, learnt, clock)
    return clock


# -------------------------------------------------------------------- extensions


async def grant_extension(
    conn: asyncpg.Connection,
    touched: Touched,
    extension_id: uuid.UUID,
    extension: Extension,
    *,
    calendars: Calendars,
    policy: Policy,
) -> Clock:
    """Record a formal extension (idempotent by ``extension_id``) and move ``due_at``.

    ``touched`` is the clock locked by :func:`clock_of` with ``lock=True``.
    """
    row = touched.clock
    if row.received_at is None:
        raise NotFound(f"dossier {row.dossier_id} has no receipt yet")
    if row.closed_kind is not None:
        raise Conflict(f"the clock of dossier {row.dossier_code} stopped ({row.closed_kind})")
    if extension.granted_at < row.received_at:
        raise InvalidInput("granted_at", "an extension cannot be granted before the receipt")
    await repository.add_extension(conn, extension_id, row.dossier_id, extension)
    reloaded = await clock_of(conn, row.dossier_id, lock=True)  # with the new fact
    clock = await refresh(
        conn,
        reloaded,
        calendars=calendars,
        policy=policy,
        reason="extension",
        at=extension.granted_at,
    )
    assert clock is not None  # the receipt is known
    return clock


async def clock_of(
    conn: asyncpg.Connection, dossier_id: uuid.UUID, *, lock: bool = False
) -> Touched:
    """A clock whose receipt is known, with its facts and flags (locked for the transaction
    if asked); NotFound otherwise."""
    touched = await repository.load_clock(conn, dossier_id, lock=lock)
    if touched is None or touched.clock.received_at is None:
        raise NotFound(f"dossier {dossier_id} is not known")
    return touched


# ---------------------------------------------------------------------- timeline


async def record_timeline(conn: asyncpg.Connection, events: Sequence[Envelope[Any]]) -> None:
    """Add the events that are part of a case to their dossiers' timelines."""
    entries = [e for e in (timeline.entry_of(event) for event in events) if e is not None]
    await repository.add_entries(conn, entries)


async def record_waits(conn: asyncpg.Connection, events: Sequence[Envelope[Any]]) -> None:
    """Keep what the queue's events say of their tickets' waits, for the province's page."""
    marks = [m for m in (waits.mark_of(event) for event in events) if m is not None]
    await waits_sql.record_marks(conn, waits.fold(marks))


# ----------------------------------------------------------------------- ratings


async def record_rating(
    conn: asyncpg.Connection, event: Envelope[catalog.FeedbackReceived], *, calendars: Calendars
) -> None:
    """Keep the citizen's rating of a dossier for the satisfaction reports (the first one:
    a second for the same dossier is not a second opinion on the same service)."""
    data = event.data
    rated_on = data.on_date or calendars.default.local_date(event.occurred_at)
    kept = await repository.save_rating(
        conn, data.dossier_id, event.center_id, data.rating, rated_on, event.occurred_at
    )
    if not kept:
        log.info("deadlines.rating_again", dossier_id=str(data.dossier_id))
        return
    await repository.refresh_flags(conn, data.dossier_id)


# ---------------------------------------------------------------------- documents


async def record_document(
    conn: asyncpg.Connection, event: Envelope[catalog.DossierDocumentAttached]
) -> None:
    """Keep what the 766 scorecard counts of an attached file: its kind, whether it was
    scanned at the counter and whether it was reused from an earlier dossier."""
    data = event.data
    await repository.record_document(
        conn,
        data.dossier_id,
        data.kind,
        data.component,
        digitised=data.digitised,
        reused=data.reused,
    )


# ---------------------------------------------------------------- apology letter


async def complete_apology_letter(
    conn: asyncpg.Connection,
    dossier_id: uuid.UUID,
    reason: str,
    set_appointment_at: datetime | None,
    *,
    by: Principal,
    now: datetime,
) -> None:
    """The officer's reason and new date on the dossier's latest letter. The new date must
    come after the date the dossier missed; without one, the computed date stands. A date
    other than the one the citizen was given is announced (``deadline.appointment_set``),
    once per date: notify tells the citizen."""
    letter = await repository.latest_letter(conn, dossier_id, lock=True)
    if letter is None:
        raise NotFound(f"no apology letter for dossier {dossier_id}")
    by.require_center(letter.center_id)
    if set_appointment_at is not None and set_appointment_at <= letter.due_at:
        raise InvalidInput("new_appointment_at", "the new date must come after the missed due date")
    if set_appointment_at is not None:
        set_appointment_at = set_appointment_at.astimezone(UTC)  # stored and sent in UTC
    await repository.complete_letter(
        conn, letter.letter_id, reason, set_appointment_at, by.subject, now
    )
    promised = (set_appointment_at or letter.new_appointment_at).astimezone(UTC)
    if promised != letter.appointment_at:
        payload = catalog.DeadlineAppointmentSet(
            dossier_id=letter.dossier_id,
            dossier_code=letter.dossier_code,
            procedure_code=letter.procedure_code,
            due_at=letter.due_at,
            new_appointment_at=promised,
            previous_appointment_at=letter.appointment_at,
            apology_letter_id=letter.letter_id,
        )
        event = new_event(
            payload,
            center_id=letter.center_id,
            producer=PRODUCER,
            correlation_id=letter.dossier_id,
            occurred_at=now,
            event_id=appointment_set_id(letter.letter_id, letter.appointment_at, promised),
        )
        await outbox.add(conn, event)
    log.info("deadlines.letter_completed", dossier_id=str(dossier_id), by=by.subject)


# ---------------------------------------------------------------- center calendar


async def set_center_calendar(
    conn: asyncpg.Connection,
    center_id: str,
    name: str | None,
    overrides: dict[str, Any],
    *,
    calendars: Calendars,
    policy: Policy,
    now: datetime,
) -> tuple[int, int]:
    """Store a center's calendar overrides and recompute its open clocks on them.

    Returns (version, clocks recomputed). A moved due instant is announced as a
    ``deadline.updated`` with reason ``correction``; closed clocks keep their outcome.
    """
    stored = center_calendars.normalise(overrides)
    try:
        center_calendars.build(stored)
    except CalendarError as exc:
        field, _, message = str(exc).partition(": ")
        raise InvalidInput(field if message else "calendar", message or str(exc)) from exc
    version = await repository.save_center_calendar(conn, center_id, name, stored)
    clocks = await repository.open_clocks(conn, center_id, lock=True)
    for row in clocks:
        touched = await clock_of(conn, row.dossier_id, lock=True)
        await refresh(
            conn, touched, calendars=calendars, policy=policy, reason="correction", at=now
        )
    log.info("deadlines.calendar_set", center_id=center_id, version=version, clocks=len(clocks))
    return version, len(clocks)


async def configure_center(
    conn: asyncpg.Connection,
    config: CenterConfigured,
    *,
    calendars: Calendars,
    policy: Policy,
    now: datetime,
) -> None:
    """Take a newer revision of a center from the registry: its name and calendar
    overrides replace the stored ones (``PUT /v1/centers/{id}/calendar`` still works, and
    the registry's next revision replaces it in turn)."""
    overrides = config.calendar.model_dump(mode="json", exclude_none=True)
    await set_center_calendar(
        conn,
        config.center_id,
        config.name,
        overrides,
        calendars=calendars,
        policy=policy,
        now=now,
    )
