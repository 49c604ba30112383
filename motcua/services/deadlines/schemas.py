"""HTTP request and response models of the deadlines service."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from motcua.services.deadlines.letters import ApologyLetter
from motcua.services.deadlines.queries import ClockDetail, WorkItem, step_label
from motcua.services.deadlines.risks import Assessed
from motcua.services.deadlines.supplements import repeated
from motcua.services.deadlines.timeline import Timeline

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
SessionIn = tuple[str, str]

# The working calendar knows the years 1901-2100 (its holidays are not computed beyond);
# the documents say so, so that a generated client never sends a date it would refuse.
CALENDAR_YEARS = r"^(190[1-9]|19[1-9][0-9]|20[0-9][0-9]|2100)-"


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
        default=None,
        description="Business time of the decision; now when omitted",
        json_schema_extra={"pattern": CALENDAR_YEARS},
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


class AtRiskOut(BaseModel):
    """One open dossier of a center's breach forecast, highest risk first."""

    dossier_id: uuid.UUID
    dossier_code: str
    procedure_code: str
    line_code: str | None
    assignee: str | None
    due_at: AwareDatetime
    probability: float = Field(description="forecast chance of finishing late, 0 to 1")
    reason: Literal["overdue", "backlog", "slow", "time", "no_history"]
    working_seconds_left: int
    elapsed_seconds: int = Field(description="active working time used so far")
    backlog: float | None = Field(
        description="open dossiers per staff member in front of it (None: no staff known)"
    )
    backlog_factor: float = Field(description="its backlog against the usual one, clamped")
    samples: int = Field(description="finished dossiers of its procedure the forecast read")

    @classmethod
    def of(cls, a: Assessed) -> AtRiskOut:
        r = a.risk
        return cls(
            dossier_id=a.clock.dossier_id,
            dossier_code=a.clock.dossier_code,
            procedure_code=a.clock.procedure_code,
            line_code=a.clock.line_code or None,
            assignee=a.clock.assignee,
            due_at=a.clock.due_at,
            probability=r.probability,
            reason=r.reason.value,
            working_seconds_left=r.working_seconds_left,
            elapsed_seconds=r.elapsed_seconds,
            backlog=a.backlog,
            backlog_factor=r.factor,
            samples=r.samples,
        )


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
    supplement_requests: int = Field(description="How many times supplements were requested")
    supplement_repeated: bool = Field(
        description="Requested more than once: counted against the center (docs/reports.md)"
    )

    @classmethod
    def of(cls, detail: ClockDetail) -> ClockOut:
        row, clock = detail.row, detail.clock
        assert row.received_at is not None  # clock_detail only serves clocks with a receipt
        # The dossier's identity and receipt from the stored row, by name; everything
        # about time is the clock recomputed now, never the row's copy of it.
        return cls.model_validate(
            {
                **asdict(row),
                "started_at": clock.started_at,
                "base_due_at": clock.base_due_at,
                "due_at": detail.due_now,
                "paused_since": clock.paused_since,
                "paused_working_seconds": int(clock.paused.total_seconds()),
                "working_seconds_left": detail.working_seconds_left,
                "overdue": detail.overdue,
                "closed": clock.closure.kind.value if clock.closure else None,
                "closed_at": clock.closure.at if clock.closure else None,
                "outcome": clock.outcome.value if clock.outcome else None,
                "working_seconds_late": int(clock.late_by.total_seconds()),
                "pauses": [{"start": p.start, "end": p.end} for p in clock.pauses],
                "extensions": [
                    {
                        "amount": e.amount,
                        "unit": e.unit.value,
                        "granted_at": e.granted_at,
                        "reason": e.reason,
                    }
                    for e in clock.extensions
                ],
                "flags": [
                    {
                        "kind": f.kind,
                        "due_at": f.due_at,
                        "event_id": f.event_id,
                        "emitted_at": f.emitted_at,
                    }
                    for f in detail.flags
                ],
                "supplement_requests": detail.supplement_requests,
                "supplement_repeated": repeated(detail.supplement_requests),
            }
        )


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

    @classmethod
    def of(cls, item: WorkItem) -> WorkItemOut:
        # The stored clock's fields by name, then what the worklist computed for now.
        c = item.clock
        return cls.model_validate(
            {
                **asdict(c),
                "due_at": item.due_at,
                "overdue": item.overdue,
                "paused": item.paused,
                "working_seconds_left": item.working_seconds_left,
                "step": step_label(c.status),
            }
        )


class LetterOut(BaseModel):
    letter_id: uuid.UUID
    dossier_id: uuid.UUID
    dossier_code: str
    procedure_code: str
    procedure_name: str | None = Field(description="The procedure's name, when a receipt gave it")
    center_name: str | None
    due_at: datetime
    new_appointment_at: datetime = Field(
        description="The new date the letter promises: the officer's, else the computed one"
    )
    computed_appointment_at: datetime = Field(
        description="The date computed when the letter was drafted (grace working days)"
    )
    reason: str | None = Field(description="The officer's reason; null until given")
    completed_by: str | None
    completed_at: datetime | None
    issued_at: datetime
    text: str

    @classmethod
    def of(cls, letter: ApologyLetter, text: str) -> LetterOut:
        fields = asdict(letter)
        fields["computed_appointment_at"] = letter.new_appointment_at
        fields["new_appointment_at"] = letter.appointment_at
        return cls.model_validate({**fields, "text": text})


class LetterIn(BaseModel):
    """The officer's completion of an apology letter."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, description="Why the dossier is late")
    new_appointment_at: AwareDatetime | None = Field(
        default=None,
        description="The new date for the result; omitted: the computed date stands. "
        "It must come after the missed due date",
        json_schema_extra={"pattern": CALENDAR_YEARS},
    )

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the reason cannot be blank")
        return value.strip()


class TimelineEntryOut(BaseModel):
    at: datetime
    source: Literal["queue", "intake", "deadlines", "notify"]
    event_type: str
    event_id: uuid.UUID
    detail: dict[str, Any] = Field(
        description="What the entry shows: a ticket's number, line and counter; a status "
        "code and its actor; a clock's dates; a message's channel, template and result"
    )


class TimelineOut(BaseModel):
    dossier_id: uuid.UUID
    dossier_code: str | None
    center_id: str
    entries: list[TimelineEntryOut]

    @classmethod
    def of(cls, found: Timeline) -> TimelineOut:
        return cls(
            dossier_id=found.dossier_id,
            dossier_code=found.dossier_code,
            center_id=found.center_id,
            entries=[
                TimelineEntryOut(
                    at=e.at,
                    source=e.source,
                    event_type=e.event_type,
                    event_id=e.event_id,
                    detail=e.detail,
                )
                for e in found.entries
            ],
        )
