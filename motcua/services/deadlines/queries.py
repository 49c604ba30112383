"""Read-side use cases: the leaders' worklist, the on-time and satisfaction reports, a
clock's detail and the apology letter. They change nothing."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import asyncpg

from motcua.services.deadlines import repository, timeline
from motcua.services.deadlines.domain import (
    Clock,
    ClockFacts,
    compute_clock,
    due_as_of,
    due_with_open_pause,
    working_time_left,
)
from motcua.services.deadlines.errors import NotFound
from motcua.services.deadlines.letters import ApologyLetter
from motcua.services.deadlines.repository import CenterCalendar, ClockRow, FlagRecord
from motcua.services.deadlines.repository import scorecard as scorecard_sql
from motcua.services.deadlines.repository import waits as waits_sql
from motcua.services.deadlines.satisfaction import SatisfactionReport
from motcua.services.deadlines.scorecard import Comparison, Counts, Scorecard, compare
from motcua.services.deadlines.statistics import (
    Category,
    OnTimeReport,
    ReportQuery,
    Tally,
    classify,
)
from motcua.services.deadlines.supplements import SupplementReport, supplement_requests
from motcua.services.deadlines.timeline import Timeline
from motcua.services.deadlines.usecases import Calendars, clock_of
from motcua.services.deadlines.waits import CenterWaits
from motcua.shared.calendar import WorkingCalendar
from motcua.shared.reference.statuses import portal_statuses


@dataclass(frozen=True)
class WorkItem:
    """One open dossier on the leaders' worklist, as of the instant it was built."""

    clock: ClockRow
    due_at: datetime
    working_seconds_left: int
    overdue: bool
    paused: bool


async def worklist(
    conn: asyncpg.Connection, center_id: str, now: datetime, *, calendars: Calendars, limit: int
) -> list[WorkItem]:
    """The center's open dossiers: overdue first (most overdue first), then by least working
    time left. A paused clock counts its due instant as it stands now."""
    cal = await calendars.of(conn, center_id)
    items: list[WorkItem] = []
    for row in await repository.open_clocks(conn, center_id):
        if row.due_at is None or row.started_at is None:
            continue
        due = due_with_open_pause(cal, row.due_at, row.started_at, row.paused_since, now)
        left = working_time_left(cal, due, now)
        items.append(
            WorkItem(
                clock=row,
                due_at=due,
                working_seconds_left=int(left.total_seconds()),
                overdue=now > due,
                paused=row.paused_since is not None,
            )
        )
    items.sort(
        key=lambda i: (not i.overdue, i.working_seconds_left, i.due_at, i.clock.dossier_code)
    )
    return items[:limit]


async def on_time_report(
    conn: asyncpg.Connection, query: ReportQuery, *, calendars: Calendars
) -> OnTimeReport:
    """The on-time report of ``query``: stored figures where they suffice, the pure clock
    on the facts known at ``as_of`` for paused or extended dossiers still open then."""
    counts = await _counts_by_day(conn, query, calendars)
    return OnTimeReport.from_counts(query, [(p, line, c, n) for _, p, line, c, n in counts])


async def on_time_report_by_week(
    conn: asyncpg.Connection,
    query: ReportQuery,
    weeks: Sequence[tuple[date, date]],
    *,
    calendars: Calendars,
) -> tuple[OnTimeReport, list[tuple[date, date, Tally]]]:
    """The report of ``query`` and the totals of the cohorts received in each of ``weeks``
    (parts of its period), from one pass over the cohort: a dossier stands at ``as_of`` the
    same way in its week's report as in its period's, so each week's figures are the
    period's dossiers received that week, exactly as a report per week would count them."""
    counts = await _counts_by_day(conn, query, calendars)
    report = OnTimeReport.from_counts(query, [(p, line, c, n) for _, p, line, c, n in counts])
    weekly: list[tuple[date, date, Tally]] = []
    for first, last in weeks:
        tally = Tally()
        for day, _, _, category, n in counts:
            if first <= day <= last:
                tally.add(category, n)
        weekly.append((first, last, tally))
    return report, weekly


DayCount = tuple[date, str, str | None, Category, int]
# The zone of on_time_days' days (migration 0008).
SUMMARY_ZONE = "Asia/Ho_Chi_Minh"


async def _counts_by_day(
    conn: asyncpg.Connection, query: ReportQuery, calendars: Calendars
) -> list[DayCount]:
    """The cohort's counts by local date of receipt, procedure, line and category.

    The closed dossiers of the days that are over at ``as_of`` come from the daily summary,
    up to the first day with a closure after ``as_of`` (whose dossiers stood otherwise at
    that instant); the open ones of those days, and every dossier of the days after, come
    from the clocks. The figures are the same as counting every dossier from the clocks
    (tests/integration/deadlines/test_on_time_days.py)."""
    tz = query.tz
    last_over = min(query.end, query.as_of.astimezone(tz).date() - timedelta(days=1))
    if tz.key != SUMMARY_ZONE or last_over < query.start:
        return await _direct_counts(conn, query, calendars)
    summary = await repository.summary_days(conn, query.center_id, query.start, last_over)
    stale = [r.day for r in summary if r.last_closed_at and r.last_closed_at > query.as_of]
    direct_from = min(stale, default=last_over + timedelta(days=1))
    counts: list[DayCount] = [
        (r.day, r.procedure_code, r.line_code, category, n)
        for r in summary
        if r.day < direct_from
        for category, n in r.counts
    ]
    if direct_from > query.start:
        summarised = replace(query, end=direct_from - timedelta(days=1))
        counts += await _direct_counts(conn, summarised, calendars, open_only=True)
    if direct_from <= query.end:
        counts += await _direct_counts(conn, replace(query, start=direct_from), calendars)
    return counts


async def _direct_counts(
    conn: asyncpg.Connection, query: ReportQuery, calendars: Calendars, *, open_only: bool = False
) -> list[DayCount]:
    """The cohort's counts from its clocks: stored figures where they suffice, the pure
    clock on the facts known at ``as_of`` for paused or extended dossiers still open then."""
    counts = await repository.cohort_counts_by_day(conn, query, open_only=open_only)
    by_center: dict[str, WorkingCalendar] = {}
    for row, facts in await repository.cohort_adjusted(conn, query, open_only=open_only):
        if row.center_id not in by_center:
            by_center[row.center_id] = await calendars.of(conn, row.center_id)
        category = classify(by_center[row.center_id], facts, query.as_of)
        day = facts.received_at.astimezone(query.tz).date()
        counts.append((day, row.procedure_code, row.line_code, category, 1))
    return counts


async def satisfaction_report(
    conn: asyncpg.Connection, center_id: str | None, start: date, end: date
) -> SatisfactionReport:
    """The ratings given in ``[start, end]`` at one center, or all with None."""
    counts = await repository.rating_counts(conn, center_id, start, end)
    return SatisfactionReport.from_counts(center_id, start, end, counts)


async def center_scorecard(
    conn: asyncpg.Connection, query: ReportQuery, now: datetime, *, registered: bool
) -> Scorecard:
    """One center's 766 scorecard over the query's period; NotFound for a center neither
    the registry (``registered``) nor this service's data knows (an empty period of a
    known one is zeroes)."""
    center = query.center_id
    assert center is not None
    if not registered and not await scorecard_sql.known_center(conn, center):
        raise NotFound(f"center {center!r} is not known")
    lo, hi = query.window
    counts = await scorecard_sql.counts_by_center(conn, lo, hi, center, now)
    handling = await scorecard_sql.handling_by_procedure(conn, lo, hi, center)
    return Scorecard(center, query.start, query.end, counts.get(center) or Counts(), handling)


async def province_scorecard(
    conn: asyncpg.Connection,
    query: ReportQuery,
    now: datetime,
    centers: list[str],
    names: dict[str, str],
) -> Comparison:
    """The province's scorecard and every center's (``centers``: the registry's)."""
    lo, hi = query.window
    counts = await scorecard_sql.counts_by_center(conn, lo, hi, None, now)
    comparison = compare(query.start, query.end, counts, centers, names)
    comparison.province.handling = await scorecard_sql.handling_by_procedure(conn, lo, hi, None)
    return comparison


async def province_waits(conn: asyncpg.Connection, query: ReportQuery) -> dict[str, CenterWaits]:
    """Every center's waits at the counters, of the tickets issued in the query's period."""
    lo, hi = query.window
    return await waits_sql.waits_by_center(conn, lo, hi)


async def dossier_timeline(conn: asyncpg.Connection, dossier_id: uuid.UUID) -> Timeline:
    """The dossier's timeline; NotFound while none of its own events is known."""
    found = timeline.of_dossier(dossier_id, await repository.dossier_entries(conn, dossier_id))
    if found is None:
        raise NotFound(f"dossier {dossier_id} is not known")
    return found


FLAGGED_LISTED = 1000
"""Most flagged dossiers a supplement report lists (the counts are always complete)."""


async def supplement_report(conn: asyncpg.Connection, query: ReportQuery) -> SupplementReport:
    """The cohort's supplement requests, and the dossiers asked more than once."""
    counts = await repository.supplement_counts(conn, query)
    flagged = await repository.repeated_supplements(conn, query, FLAGGED_LISTED)
    return SupplementReport.from_counts(counts, flagged)


@dataclass(frozen=True)
class ClockDetail:
    """A clock with its facts' result, its due instant as of now and the flags emitted."""

    row: ClockRow
    clock: Clock
    due_now: datetime
    working_seconds_left: int
    overdue: bool
    flags: list[FlagRecord]
    supplement_requests: int


async def clock_detail(
    conn: asyncpg.Connection, dossier_id: uuid.UUID, now: datetime, *, calendars: Calendars
) -> ClockDetail:
    touched = await clock_of(conn, dossier_id)
    row = touched.clock
    assert row.received_at is not None  # clock_of only returns clocks with a receipt
    assert row.limit is not None
    cal = await calendars.at_version(conn, row.center_id, touched.calendar_version)
    clock = compute_clock(cal, ClockFacts(row.received_at, row.limit, *touched.facts))
    due = due_as_of(cal, clock, now)
    return ClockDetail(
        row=row,
        clock=clock,
        due_now=due,
        working_seconds_left=int(working_time_left(cal, due, now).total_seconds()),
        overdue=clock.is_open and now > due,
        flags=await repository.flags_of(conn, dossier_id),
        supplement_requests=supplement_requests(touched.facts[0]),
    )


def center_name(center_id: str, stored: str | None, configured: Mapping[str, str]) -> str | None:
    """A center's name as people read it: the one stored with its calendar, else the one
    configured for the service, else none (the caller says what stands in for it)."""
    return stored or configured.get(center_id)


async def apology_letter(
    conn: asyncpg.Connection, dossier_id: uuid.UUID, *, center_names: Mapping[str, str]
) -> ApologyLetter:
    """The latest apology letter of a dossier (one per overdue due date), with the
    center's name as of now: letters are rendered on demand, so a name set later shows."""
    letter = await repository.latest_letter(conn, dossier_id)
    if letter is None:
        raise NotFound(f"no apology letter for dossier {dossier_id}")
    name = center_name(letter.center_id, letter.center_name, center_names)
    return replace(letter, center_name=name)


async def procedure_names(
    conn: asyncpg.Connection, center_id: str | None
) -> dict[str, tuple[str, str | None]]:
    """Each procedure's (Vietnamese, English) name at a center, by code."""
    return await repository.procedure_names(conn, center_id)


async def center_calendar(conn: asyncpg.Connection, center_id: str) -> CenterCalendar | None:
    return await repository.center_calendar(conn, center_id)


def step_label(status: int | None) -> str | None:
    """The portal's name of a status code with an English gloss, e.g. ``Đang xử lý
    (processing)``: the gloss in lower case, as the worklist has always shown it."""
    if status is None:
        return None
    found = portal_statuses().get(status)
    return f"{found.name.vi} ({found.name.en.lower()})" if found else f"status {status}"
