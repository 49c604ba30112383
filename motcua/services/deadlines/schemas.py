"""HTTP request and response models of the deadlines service."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from motcua.services.deadlines.letters import ApologyLetter
from motcua.services.deadlines.queries import ClockDetail, WorkItem, step_label
from motcua.services.deadlines.risks import Assessed

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
SessionIn = tuple[str, str]


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
    due_at: datetime
    new_appointment_at: datetime
    issued_at: datetime
    text: str

    @classmethod
    def of(cls, letter: ApologyLetter, text: str) -> LetterOut:
        return cls.model_validate({**asdict(letter), "text": text})
