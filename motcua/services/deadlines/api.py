"""HTTP routes of the deadlines service: thin, one unit of work per request.

Every route needs a bearer token of the dossier's (or the center's) center whose role holds
the route's operation in ``motcua.shared.policy``: reading is open to the center's staff;
granting an extension and completing an apology letter are an officer's, changing the
calendar a leader's; statistics of another center, or of all, need the province's role,
never a center's admin.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from pydantic import AwareDatetime

from motcua.services.deadlines import letters, queries, risks, scorecard, usecases
from motcua.services.deadlines.domain import Extension
from motcua.services.deadlines.errors import InvalidInput
from motcua.services.deadlines.schemas import (
    AtRiskOut,
    CalendarIn,
    ClockOut,
    ExtensionIn,
    LetterIn,
    LetterOut,
    TimelineOut,
    WorkItemOut,
)
from motcua.services.deadlines.statistics import ReportQuery
from motcua.services.deadlines.usecases import Deadlines
from motcua.services.deadlines.waits import NO_TICKETS, CenterWaits
from motcua.shared.auth import Principal
from motcua.shared.calendar import TimeUnit
from motcua.shared.policy import Operation, allowed, authorize
from motcua.shared.runtime import Runtime, from_app_state

router = APIRouter(prefix="/v1", tags=["deadlines"])

CENTER_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
"""A center's id as the registry writes it (``catalog.CenterId``): anything else is
refused by name before it reaches a query."""

WORKLIST_LIMIT = 1000
"""Most dossiers one worklist request returns (the settings' ``worklist_max`` may lower it)."""


Service = Annotated[Deadlines, from_app_state("deadlines")]


# Each route names its operation; ``motcua.shared.policy`` alone says which roles hold it.
ClockReader = Annotated[Principal, allowed(Operation.CLOCK_READ)]
Extender = Annotated[Principal, allowed(Operation.EXTENSION_GRANT)]
WorklistReader = Annotated[Principal, allowed(Operation.WORKLIST_READ)]
CalendarReader = Annotated[Principal, allowed(Operation.CALENDAR_READ)]
CalendarWriter = Annotated[Principal, allowed(Operation.CALENDAR_WRITE)]
StatisticsReader = Annotated[Principal, allowed(Operation.STATISTICS_READ)]
RisksReader = Annotated[Principal, allowed(Operation.RISKS_READ)]
LetterWriter = Annotated[Principal, allowed(Operation.APOLOGY_LETTER_WRITE)]
TimelineReader = Annotated[Principal, allowed(Operation.TIMELINE_READ)]
ScorecardReader = Annotated[Principal, allowed(Operation.SCORECARD_READ)]


@dataclass(frozen=True)
class PeriodIn:
    """A report's query: ``from`` and ``to`` (local dates, inclusive), the center (none:
    all, the province's), the instant ``as_of``."""

    start: date
    end: date
    center: str | None
    as_of: datetime | None

    @property
    def name(self) -> str:
        return f"{self.center or 'all'}_{self.start}_{self.end}"


def _period(
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    center: str | None = None,
    as_of: AwareDatetime | None = None,
) -> PeriodIn:
    return PeriodIn(start, end, center, as_of)


Period = Annotated[PeriodIn, Depends(_period)]


# ------------------------------------------------------------------------- routes


@router.get("/dossiers/{dossier_id}/clock", response_model=ClockOut)
async def get_clock(
    dossier_id: uuid.UUID, rt: Runtime, d: Service, principal: ClockReader
) -> ClockOut:
    """A dossier's legal clock: due instant, pauses, extensions, outcome and flags emitted."""
    async with rt.read() as conn:
        detail = await queries.clock_detail(conn, dossier_id, d.clock(), calendars=d.calendars)
    principal.require_center(detail.row.center_id)
    return ClockOut.of(detail)


@router.post("/dossiers/{dossier_id}/extensions", status_code=201, response_model=ClockOut)
async def grant_extension(
    dossier_id: uuid.UUID, body: ExtensionIn, rt: Runtime, d: Service, principal: Extender
) -> ClockOut:
    """Grant a formal extension: ``due_at`` moves and ``deadline.updated`` is emitted."""
    now = d.clock()
    if body.granted_at is not None and not d.calendars.default.covers(body.granted_at):
        first, last = d.calendars.default.years
        raise InvalidInput("granted_at", f"outside the years {first}-{last} the calendar covers")
    extension = Extension(
        body.amount, TimeUnit(body.unit), body.granted_at or now, reason=body.reason
    )
    async with rt.unit_of_work() as conn:
        touched = await usecases.clock_of(conn, dossier_id, lock=True)
        principal.require_center(touched.clock.center_id)
        await usecases.grant_extension(
            conn,
            touched,
            body.extension_id or uuid.uuid4(),
            extension,
            calendars=d.calendars,
            policy=d.policy,
        )
        detail = await queries.clock_detail(conn, dossier_id, now, calendars=d.calendars)
    return ClockOut.of(detail)


@router.get("/dossiers/{dossier_id}/apology-letter", response_model=LetterOut)
async def get_apology_letter(
    dossier_id: uuid.UUID,
    rt: Runtime,
    d: Service,
    principal: ClockReader,
    format: Literal["json", "text", "html"] = "json",
) -> Response | LetterOut:
    """The apology letter with its new appointment date (latest overdue due date);
    ``format=text`` gives the printable Vietnamese text, ``format=html`` the document the
    leader prints and signs (one self-contained HTML file)."""
    async with rt.read() as conn:
        letter = await queries.apology_letter(
            conn, dossier_id, center_names=d.settings.center_names
        )
    principal.require_center(letter.center_id)
    if format == "html":
        name = f"phieu-xin-loi_{letter.dossier_code}.html"
        return HTMLResponse(
            letters.render_document(letter),
            headers={"Content-Disposition": f'inline; filename="{name}"'},
        )
    text = letters.render(letter)
    if format == "text":
        return PlainTextResponse(text)
    return LetterOut.of(letter, text)


@router.put("/dossiers/{dossier_id}/apology-letter", response_model=LetterOut)
async def complete_apology_letter(
    dossier_id: uuid.UUID, body: LetterIn, rt: Runtime, d: Service, principal: LetterWriter
) -> LetterOut:
    """The deciding officer gives the reason for the delay and, if they choose, the new
    date (after the missed due date; omitted, the computed one stands). Again with other
    words replaces them: the letter is signed on paper, after this."""
    if body.new_appointment_at is not None and not d.calendars.default.covers(
        body.new_appointment_at
    ):
        first, last = d.calendars.default.years
        raise InvalidInput("new_appointment_at", f"outside the years {first}-{last}")
    async with rt.unit_of_work() as conn:
        await usecases.complete_apology_letter(
            conn, dossier_id, body.reason, body.new_appointment_at, by=principal, now=d.clock()
        )
        letter = await queries.apology_letter(
            conn, dossier_id, center_names=d.settings.center_names
        )
    return LetterOut.of(letter, letters.render(letter))


@router.get("/dossiers/{dossier_id}/timeline", response_model=TimelineOut)
async def get_timeline(
    dossier_id: uuid.UUID, rt: Runtime, principal: TimelineReader
) -> TimelineOut:
    """The dossier's story in time order: its ticket (issued, called, served, at which
    counter), every status change with who made it, every clock event, every message sent
    or failed (channel and template, never the recipient). Staff of its center."""
    async with rt.read() as conn:
        found = await queries.dossier_timeline(conn, dossier_id)
    principal.require_center(found.center_id)
    return TimelineOut.of(found)


@router.get("/centers/{center_id}/worklist", response_model=list[WorkItemOut])
async def get_worklist(
    center_id: str,
    rt: Runtime,
    d: Service,
    principal: WorklistReader,
    limit: Annotated[int, Query(ge=1, le=WORKLIST_LIMIT)] = 200,
) -> list[WorkItemOut]:
    """Open dossiers for the center's leaders: overdue first, then least working time left."""
    principal.require_center(center_id)
    limit = min(limit, d.settings.worklist_max)
    async with rt.read() as conn:
        items = await queries.worklist(
            conn, center_id, d.clock(), calendars=d.calendars, limit=limit
        )
    return [WorkItemOut.of(i) for i in items]


@router.get("/centers/{center_id}/at-risk", response_model=list[AtRiskOut])
async def get_at_risk(
    center_id: str,
    rt: Runtime,
    d: Service,
    principal: RisksReader,
    limit: Annotated[int, Query(ge=1, le=WORKLIST_LIMIT)] = 100,
) -> list[AtRiskOut]:
    """The breach forecast of the center's open running dossiers, highest chance of
    finishing late first, with the time left and the reason (docs/forecast.md). Paused
    dossiers are left out: their clock waits on the citizen. A center with no open
    dossier, or unknown, has an empty list."""
    principal.require_center(center_id)
    async with rt.unit_of_work(readonly=True, isolation="repeatable_read") as conn:
        cal = await d.calendars.of(conn, center_id)
        assessed, _ = await risks.assess_center(conn, center_id, d.clock(), cal, d.forecast)
    return [AtRiskOut.of(a) for a in assessed[:limit]]


@router.get("/centers/{center_id}/calendar")
async def get_calendar(center_id: str, rt: Runtime, principal: CalendarReader) -> dict[str, Any]:
    """The center's name and calendar overrides (empty: the national calendar)."""
    principal.require_center(center_id)
    async with rt.read() as conn:
        stored = await queries.center_calendar(conn, center_id)
    return {
        "center_id": center_id,
        "name": stored.name if stored else None,
        "overrides": stored.overrides if stored else {},
        "version": stored.version if stored else 0,
    }


@router.put("/centers/{center_id}/calendar")
async def put_calendar(
    center_id: str, body: CalendarIn, rt: Runtime, d: Service, principal: CalendarWriter
) -> dict[str, Any]:
    """Replace the center's overrides; its open clocks are recomputed on the new calendar.

    The center registry is the source of a center's calendar (docs/registry.md): its next
    revision of the center replaces what this route stored. Kept for a quick local change
    before the registry's files catch up."""
    principal.require_center(center_id)
    overrides = body.model_dump(exclude={"name"}, exclude_none=True)
    async with rt.unit_of_work() as conn:
        version, recomputed = await usecases.set_center_calendar(
            conn,
            center_id,
            body.name,
            overrides,
            calendars=d.calendars,
            policy=d.policy,
            now=d.clock(),
        )
    return {"center_id": center_id, "version": version, "clocks_recomputed": recomputed}


@router.get("/statistics/on-time", response_model=None)
async def get_on_time_statistics(
    rt: Runtime,
    d: Service,
    principal: StatisticsReader,
    period: Period,
    format: Literal["json", "csv"] = "json",
) -> Response:
    """Received, resolved early / on time / late, withdrawn and in progress (within the
    deadline or overdue) for dossiers received in the period, as of an instant, in total,
    by procedure and by service line. Omit ``center`` for all centers (the province's
    role only, like any center but the token's own)."""
    query = _report_query(principal, d, period)
    # One snapshot for the stored figures and the facts of paused or extended dossiers.
    async with rt.unit_of_work(readonly=True, isolation="repeatable_read") as conn:
        report = await queries.on_time_report(conn, query, calendars=d.calendars)
    if format == "csv":
        return _csv(report.to_csv(), f"on-time_{period.name}.csv")
    return JSONResponse(report.to_json())


def _report_query(principal: Principal, d: Deadlines, period: PeriodIn) -> ReportQuery:
    """A report's period and instant, once the caller may read its center (None: all)."""
    _may_read(principal, period.center)
    return ReportQuery.build(
        center_id=period.center,
        start=period.start,
        end=period.end,
        as_of=period.as_of,
        now=d.clock(),
        tz=d.calendars.default.tz,
        calendar=d.calendars.default,
    )


def _may_read(principal: Principal, center: str | None) -> None:
    """A center's own statistics are its staff's; another's, or all, the province's."""
    if center is None or center != principal.center_id:
        authorize(principal, Operation.STATISTICS_ALL_CENTERS)


def _csv(text: str, name: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/statistics/supplements", response_model=None)
async def get_supplement_statistics(
    rt: Runtime, d: Service, principal: StatisticsReader, period: Period
) -> dict[str, Any]:
    """For the dossiers received in the period (the on-time report's cohort): how many
    were asked for supplements, how many more than once (flagged, and counted against the
    center by the national scoring: docs/reports.md), the requests made by ``as_of``, in
    total, by procedure and by line; and the flagged dossiers. Who may read it is who may
    read the on-time statistics."""
    query = _report_query(principal, d, period)
    async with rt.unit_of_work(readonly=True, isolation="repeatable_read") as conn:
        report = await queries.supplement_report(conn, query)
    return {
        "center_id": period.center,
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "as_of": query.as_of.isoformat(),
        **report.to_json(),
    }


@router.get("/statistics/satisfaction", response_model=None)
async def get_satisfaction_statistics(
    rt: Runtime,
    principal: StatisticsReader,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    center: str | None = None,
    format: Literal["json", "csv"] = "json",
) -> Response:
    """The citizens' ratings (1 to 5) given in the period: their count, average and share
    of satisfied (4 or 5), in total, by center, by procedure and by month. Who may read
    them is who may read the on-time statistics, beside which they are shown."""
    _may_read(principal, center)
    if end < start:
        raise InvalidInput("to", f"the period ends ({end}) before it starts ({start})")
    async with rt.unit_of_work(readonly=True) as conn:
        report = await queries.satisfaction_report(conn, center, start, end)
    if format == "csv":
        return _csv(report.to_csv(), f"satisfaction_{center or 'all'}_{start}_{end}.csv")
    return JSONResponse(report.to_json())


@router.get("/reports/score766", response_model=None)
async def get_score766(
    rt: Runtime,
    d: Service,
    principal: ScorecardReader,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    center_id: Annotated[str | None, Query(pattern=CENTER_ID_PATTERN)] = None,
    province: bool = False,
    format: Literal["json", "csv"] = "json",
) -> Response:
    """The 766 scorecard of the dossiers received in the period (at most a year): every
    indicator of Decision 766/QĐ-TTg, computed where motcua holds the data (rate, and
    points where the rule and maximum are stated) or ``not_held`` with what it needs
    (docs/score766.md). ``center_id`` for one center (its staff, or the province);
    ``province=1`` for the province's, with every center of the registry beside it (the
    province's role only), each with its waits at the counters in JSON."""
    if province == (center_id is not None):
        raise InvalidInput("center_id", "give either center_id or province=1, not both")
    query = _report_query(principal, d, PeriodIn(start, end, center_id, None))
    scorecard.check_period(start, end)
    now = d.clock()
    waits: dict[str, CenterWaits] = {}
    async with rt.unit_of_work(readonly=True, isolation="repeatable_read") as conn:
        if center_id is None:
            ids, names = d.registry()
            found: scorecard.Scorecard | scorecard.Comparison = await queries.province_scorecard(
                conn, query, now, ids, names
            )
            waits = await queries.province_waits(conn, query)
        else:
            found = await queries.center_scorecard(
                conn, query, now, registered=center_id in d.centers.centers
            )
    if format == "csv":
        return _csv(found.to_csv(), f"score766_{center_id or 'province'}_{start}_{end}.csv")
    body = found.to_json()
    if center_id is None:
        # Each center's waits at the counters beside its scorecard (docs/score766.md).
        for row in body["centers"]:
            row["waits"] = waits.get(row["center_id"], NO_TICKETS).to_json()
    return JSONResponse(body)
