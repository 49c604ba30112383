"""HTTP routes of the deadlines service: thin, one transaction per request.

Every route needs a bearer token of the dossier's (or the center's) center whose role holds
the route's operation in ``motcua.shared.policy``: reading is open to the center's staff, granting
an extension is an officer's, changing the calendar a leader's; statistics of another center,
or of all, need the province's role, never a center's admin.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from motcua.services.deadlines import letters, queries, usecases
from motcua.services.deadlines.bootstrap import Deadlines
from motcua.services.deadlines.domain import (
    Conflict,
    DeadlinesError,
    Extension,
    InvalidInput,
    NotFound,
)
from motcua.services.deadlines.statistics import ReportQuery
from motcua.shared.auth import Principal
from motcua.shared.calendar import TimeUnit
from motcua.shared.policy import Operation, allowed, authorize
from motcua.shared.runtime import ServiceRuntime

router = APIRouter(prefix="/v1", tags=["deadlines"])

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
SessionIn = tuple[str, str]
WORKLIST_LIMIT = 1000
"""Most dossiers one worklist request returns (the settings' ``worklist_max`` may lower it)."""


def _deadlines(request: Request) -> Deadlines:
    deadlines: Deadlines = request.app.state.deadlines
    return deadlines


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


def _require(principal: Principal, center_id: str) -> None:
    principal.require_center(center_id)


# Each route names its operation; ``motcua.shared.policy`` alone says which roles hold it.
ClockReader = Annotated[Principal, allowed(Operation.CLOCK_READ)]
Extender = Annotated[Principal, allowed(Operation.EXTENSION_GRANT)]
WorklistReader = Annotated[Principal, allowed(Operation.WORKLIST_READ)]
CalendarReader = Annotated[Principal, allowed(Operation.CALENDAR_READ)]
CalendarWriter = Annotated[Principal, allowed(Operation.CALENDAR_WRITE)]
StatisticsReader = Annotated[Principal, allowed(Operation.STATISTICS_READ)]


# ------------------------------------------------------------------------- models


class ExtensionIn(BaseModel):
    """A formal extension of a dossier's time limit."""

    model_config = ConfigDict(extra="forbid")

    extension_id: uuid.UUID | None = Field(
        default=None, description="Idempotency key: the same id twice is one extension"
    )
    amount: int = Field(ge=1, le=365)
    unit: Literal["working_days", "working_hours"]
    reason: str = Field(min_length=1, max_length=2000)
    granted_at: AwareDatetime | None = Field(
        default=None, description="Business time of the decision; now when omitted"
    )


class CalendarIn(BaseModel):
    """A center's name and its overrides of the national working calendar."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200, description="Shown on letters")
    weekly_sessions: dict[Weekday, list[SessionIn]] | None = Field(
        default=None, description='Replaces the named weekdays, e.g. {"sat": [["07:30", "11:30"]]}'
    )
    make_up_day_sessions: list[SessionIn] | None = None
    rollover_cutoff: str | None = Field(default=None, pattern=r"^\d{2}:\d{2}(:\d{2})?$")
    make_up_working_days: list[date] = Field(default_factory=list, max_length=366)
    extra_days_off: list[date] = Field(default_factory=list, max_length=366)
    not_holidays: list[date] = Field(default_factory=list, max_length=366)


class ClockOut(BaseModel):
    dossier_id: uuid.UUID
    center_id: str
    dossier_code: str
    procedure_code: str
    line_code: str | None
    received_at: datetime
    started_at: datetime
    base_due_at: datetime
    due_at: datetime = Field(description="Due instant as it stands now (an open pause extends it)")
    paused_since: datetime | None
    paused_working_seconds: int
    working_seconds_left: int = Field(description="Negative once overdue")
    overdue: bool
    closed: Literal["resolved", "withdrawn", "stopped"] | None
    closed_at: datetime | None
    outcome: Literal["early", "on_time", "late"] | None
    working_seconds_late: int
    pauses: list[dict[str, datetime | None]]
    extensions: list[dict[str, Any]]
    flags: list[dict[str, Any]]


class WorkItemOut(BaseModel):
    dossier_id: uuid.UUID
    dossier_code: str
    procedure_code: str
    line_code: str | None
    received_at: datetime | None
    due_at: datetime
    overdue: bool
    paused: bool
    working_seconds_left: int
    assignee: str | None
    department: str | None
    status: int | None
    step: str | None


class LetterOut(BaseModel):
    letter_id: uuid.UUID
    dossier_id: uuid.UUID
    dossier_code: str
    procedure_code: str
    due_at: datetime
    new_appointment_at: datetime
    issued_at: datetime
    text: str


# ------------------------------------------------------------------------- routes


@router.get("/dossiers/{dossier_id}/clock", response_model=ClockOut)
async def get_clock(dossier_id: uuid.UUID, request: Request, principal: ClockReader) -> ClockOut:
    """A dossier's legal clock: due instant, pauses, extensions, outcome and flags emitted."""
    d = _deadlines(request)
    async with _runtime(request).pool.acquire() as conn:
        detail = await queries.clock_detail(conn, dossier_id, d.clock(), calendars=d.calendars)
    _require(principal, detail.row.center_id)
    return _clock_out(detail)


@router.post("/dossiers/{dossier_id}/extensions", status_code=201, response_model=ClockOut)
async def grant_extension(
    dossier_id: uuid.UUID, body: ExtensionIn, request: Request, principal: Extender
) -> ClockOut:
    """Grant a formal extension: ``due_at`` moves and ``deadline.updated`` is emitted."""
    d = _deadlines(request)
    now = d.clock()
    if body.granted_at is not None and not d.calendars.default.covers(body.granted_at):
        first, last = d.calendars.default.years
        raise InvalidInput("granted_at", f"outside the years {first}-{last} the calendar covers")
    extension = Extension(
        body.amount, TimeUnit(body.unit), body.granted_at or now, reason=body.reason
    )
    async with _runtime(request).pool.acquire() as conn, conn.transaction():
        touched = await usecases.clock_of(conn, dossier_id, lock=True)
        _require(principal, touched.clock.center_id)
        await usecases.grant_extension(
            conn,
            touched,
            body.extension_id or uuid.uuid4(),
            extension,
            calendars=d.calendars,
            policy=d.policy,
        )
        detail = await queries.clock_detail(conn, dossier_id, now, calendars=d.calendars)
    return _clock_out(detail)


@router.get("/dossiers/{dossier_id}/apology-letter", response_model=LetterOut)
async def get_apology_letter(
    dossier_id: uuid.UUID,
    request: Request,
    principal: ClockReader,
    format: Literal["json", "text"] = "json",
) -> Response | LetterOut:
    """The apology letter with its new appointment date (latest overdue due date);
    ``format=text`` gives the printable Vietnamese text."""
    names = _deadlines(request).settings.center_names
    async with _runtime(request).pool.acquire() as conn:
        letter = await queries.apology_letter(conn, dossier_id, center_names=names)
    _require(principal, letter.center_id)
    text = letters.render(letter)
    if format == "text":
        return PlainTextResponse(text)
    return LetterOut(
        letter_id=letter.letter_id,
        dossier_id=letter.dossier_id,
        dossier_code=letter.dossier_code,
        procedure_code=letter.procedure_code,
        due_at=letter.due_at,
        new_appointment_at=letter.new_appointment_at,
        issued_at=letter.issued_at,
        text=text,
    )


@router.get("/centers/{center_id}/worklist", response_model=list[WorkItemOut])
async def get_worklist(
    center_id: str,
    request: Request,
    principal: WorklistReader,
    limit: Annotated[int, Query(ge=1, le=WORKLIST_LIMIT)] = 200,
) -> list[WorkItemOut]:
    """Open dossiers for the center's leaders: overdue first, then least working time left."""
    _require(principal, center_id)
    d = _deadlines(request)
    limit = min(limit, d.settings.worklist_max)
    async with _runtime(request).pool.acquire() as conn:
        items = await queries.worklist(
            conn, center_id, d.clock(), calendars=d.calendars, limit=limit
        )
    return [
        WorkItemOut(
            dossier_id=i.clock.dossier_id,
            dossier_code=i.clock.dossier_code,
            procedure_code=i.clock.procedure_code,
            line_code=i.clock.line_code,
            received_at=i.clock.received_at,
            due_at=i.due_at,
            overdue=i.overdue,
            paused=i.paused,
            working_seconds_left=i.working_seconds_left,
            assignee=i.clock.assignee,
            department=i.clock.department,
            status=i.clock.status,
            step=queries.step_label(i.clock.status),
        )
        for i in items
    ]


@router.get("/centers/{center_id}/calendar")
async def get_calendar(
    center_id: str, request: Request, principal: CalendarReader
) -> dict[str, Any]:
    """The center's name and calendar overrides (empty: the national calendar)."""
    _require(principal, center_id)
    async with _runtime(request).pool.acquire() as conn:
        stored = await queries.center_calendar(conn, center_id)
    return {
        "center_id": center_id,
        "name": stored.name if stored else None,
        "overrides": stored.overrides if stored else {},
        "version": stored.version if stored else 0,
    }


@router.put("/centers/{center_id}/calendar")
async def put_calendar(
    center_id: str, body: CalendarIn, request: Request, principal: CalendarWriter
) -> dict[str, Any]:
    """Replace the center's overrides; its open clocks are recomputed on the new calendar."""
    _require(principal, center_id)
    d = _deadlines(request)
    overrides = body.model_dump(exclude={"name"}, exclude_none=True)
    async with _runtime(request).pool.acquire() as conn, conn.transaction():
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
    request: Request,
    principal: StatisticsReader,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    center: str | None = None,
    as_of: AwareDatetime | None = None,
    format: Literal["json", "csv"] = "json",
) -> Response:
    """Received, resolved early / on time / late, withdrawn and in progress (within the
    deadline or overdue) for dossiers received in the period, as of an instant, in total,
    by procedure and by service line. Omit ``center`` for all centers (the province's
    role only, like any center but the token's own)."""
    if center is None or center != principal.center_id:
        authorize(principal, Operation.STATISTICS_ALL_CENTERS)
    d = _deadlines(request)
    query = ReportQuery.build(
        center_id=center,
        start=start,
        end=end,
        as_of=as_of,
        now=d.clock(),
        tz=d.calendars.default.tz,
        calendar=d.calendars.default,
    )
    # One snapshot for the stored figures and the facts of paused or extended dossiers.
    pool = _runtime(request).pool
    async with pool.acquire() as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
        report = await queries.on_time_report(conn, query, calendars=d.calendars)
    if format == "csv":
        name = f"on-time_{center or 'all'}_{start}_{end}.csv"
        return Response(
            report.to_csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return JSONResponse(report.to_json())


# ---------------------------------------------------------------------- responses


def _clock_out(detail: queries.ClockDetail) -> ClockOut:
    row, clock = detail.row, detail.clock
    assert row.received_at is not None  # clock_detail only serves clocks with a receipt
    return ClockOut(
        dossier_id=row.dossier_id,
        center_id=row.center_id,
        dossier_code=row.dossier_code,
        procedure_code=row.procedure_code,
        line_code=row.line_code,
        received_at=row.received_at,
        started_at=clock.started_at,
        base_due_at=clock.base_due_at,
        due_at=detail.due_now,
        paused_since=clock.paused_since,
        paused_working_seconds=int(clock.paused.total_seconds()),
        working_seconds_left=detail.working_seconds_left,
        overdue=detail.overdue,
        closed=clock.closure.kind.value if clock.closure else None,
        closed_at=clock.closure.at if clock.closure else None,
        outcome=clock.outcome.value if clock.outcome else None,
        working_seconds_late=int(clock.late_by.total_seconds()),
        pauses=[{"start": p.start, "end": p.end} for p in clock.pauses],
        extensions=[
            {
                "amount": e.amount,
                "unit": e.unit.value,
                "granted_at": e.granted_at,
                "reason": e.reason,
            }
            for e in clock.extensions
        ],
        flags=[
            {"kind": f.kind, "due_at": f.due_at, "event_id": f.event_id, "emitted_at": f.emitted_at}
            for f in detail.flags
        ],
    )


# ------------------------------------------------------------------------- errors


def install_error_handlers(app: FastAPI) -> None:
    """Domain errors as HTTP: 404 not found, 409 conflict, 422 naming the bad field."""

    @app.exception_handler(DeadlinesError)
    async def domain_error(_: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, InvalidInput):
            body = {
                "error": "invalid request",
                "details": [{"field": exc.field, "error": exc.message}],
            }
            return JSONResponse(body, status_code=422)
        status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Conflict) else 400
        return JSONResponse({"error": str(exc)}, status_code=status)
