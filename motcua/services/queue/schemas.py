"""Request and response bodies of the queue's HTTP API (the OpenAPI document's models)."""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict, fields
from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from motcua.services.queue import statistics
from motcua.services.queue.appointments import Appointment, Slot
from motcua.services.queue.board import Board, CounterBoard
from motcua.services.queue.directory import Center
from motcua.services.queue.statistics import DailyStats
from motcua.services.queue.usecases import ContactInput, TicketView
from motcua.shared.events.catalog import PriorityReason

_SEPARATORS = r"[\s.\-()]"
_PHONE = re.compile(r"^\+?\d{8,15}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# What ``ContactIn`` accepts, for the document: a phone's digits may carry separators.
_PHONE_AS_TYPED = rf"^{_SEPARATORS}*\+?{_SEPARATORS}*(?:\d{_SEPARATORS}*){{8,15}}$"


def _shallow(record: Any) -> dict[str, Any]:
    """A dataclass's fields by name, values as they are. Not ``asdict``: it deep-copies
    every value (a ticket's sealed contact too), which cost each ticket answer about a
    fifth of a millisecond of CPU in the issue benchmark."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContactIn(_In):
    """A contact for 'your turn' notices. Stored and sent only sealed, never in clear."""

    # The value's form depends on the kind; the validators below enforce the same.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"kind": {"const": "phone"}}},
            "then": {"properties": {"value": {"pattern": _PHONE_AS_TYPED}}},
            "else": {"properties": {"value": {"pattern": _EMAIL.pattern}}},
        }
    )

    kind: Literal["phone", "email"]
    value: str = Field(min_length=3, max_length=254, repr=False)
    consent: bool = Field(
        description="Must be true: the citizen agrees to be notified",
        json_schema_extra={"const": True},
    )
    language: Literal["vi", "en"] = "vi"

    @field_validator("consent")
    @classmethod
    def _consented(cls, consent: bool) -> bool:
        if not consent:
            raise ValueError("a contact is recorded only with the citizen's consent")
        return consent

    @field_validator("value")
    @classmethod
    def _well_formed(cls, value: str, info: ValidationInfo) -> str:
        # The messages never repeat the value: a contact must not reach logs or responses.
        if info.data.get("kind") == "phone":
            digits = re.sub(_SEPARATORS, "", value)
            if not _PHONE.match(digits):
                raise ValueError("not a phone number")
            return digits
        if not _EMAIL.match(value):
            raise ValueError("not an e-mail address")
        return value

    def as_input(self) -> ContactInput:
        """What the use cases take: the contact without the consent, which it implies."""
        return ContactInput(self.kind, self.value, self.language)


class IssueTicketIn(_In):
    line_code: str = Field(min_length=1, max_length=32, description="Service line, e.g. justice")
    priority_reason: PriorityReason | None = Field(
        default=None, description="Served first: elderly, disability, pregnancy, ..."
    )
    contact: ContactIn | None = None


class OpenCounterIn(_In):
    line_codes: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        description="Lines served from now on; the counter's usual lines when omitted",
    )


class FinishIn(_In):
    dossier_id: uuid.UUID | None = Field(
        default=None, description="The dossier received during this service, if any"
    )


class TransferIn(_In):
    line_code: str = Field(min_length=1, max_length=32, description="The line to move to")


class CancelIn(_In):
    reason: str | None = Field(default=None, max_length=500)


class TicketOut(BaseModel):
    ticket_id: uuid.UUID
    number: str = Field(description="Display number, e.g. A007")
    line_code: str
    status: Literal["waiting", "called", "serving", "served", "no_show", "cancelled"]
    priority_reason: PriorityReason | None
    lookup_code: str = Field(description="Printed on the ticket; reads its status")
    counter_id: str | None
    call_count: int
    position: int | None = Field(
        description="1-based place on its line while waiting; 0 when called"
    )
    estimated_wait_seconds: int | None
    issued_at: datetime
    called_at: datetime | None
    dossier_id: uuid.UUID | None
    appointment_id: uuid.UUID | None = Field(
        default=None, description="The booking checked in at the kiosk; none for a walk-in"
    )
    remote: bool = Field(default=False, description="Taken from a phone")
    arrived_at: datetime | None = Field(
        default=None, description="A remote ticket's confirmed arrival; called only after it"
    )

    @classmethod
    def of(cls, view: TicketView) -> TicketOut:
        # The ticket's own fields by name (its sealed contact and queue order are not
        # among ours, so they stay out), then its place in the queue.
        t = view.ticket
        return cls.model_validate(
            {
                **_shallow(t),
                "status": t.status.value,
                "position": view.position,
                "estimated_wait_seconds": view.estimated_wait_seconds,
            }
        )


class WaitingOut(BaseModel):
    """A waiting ticket as the public sees it: no codes, no contact."""

    number: str
    line_code: str
    priority: bool
    position: int
    estimated_wait_seconds: int

    @classmethod
    def of(cls, view: TicketView) -> WaitingOut:
        return cls(
            number=view.ticket.number,
            line_code=view.ticket.line_code,
            priority=view.ticket.priority,
            position=view.position or 0,
            estimated_wait_seconds=view.estimated_wait_seconds or 0,
        )


class LineInfoOut(BaseModel):
    code: str
    prefix: str
    name: str
    name_en: str


class CounterInfoOut(BaseModel):
    counter_id: str
    name: str
    line_codes: list[str]


class CenterOut(BaseModel):
    center_id: str
    name: str
    timezone: str
    lines: list[LineInfoOut]
    counters: list[CounterInfoOut]

    @classmethod
    def of(cls, c: Center) -> CenterOut:
        # The data file's records by field name, lines and counters in the file's order.
        return cls.model_validate(
            {**asdict(c), "lines": list(c.lines.values()), "counters": list(c.counters.values())},
            from_attributes=True,
        )


class NowServingOut(BaseModel):
    number: str
    line_code: str
    status: Literal["called", "serving"]
    call_count: int
    called_at: datetime | None


class CounterOut(BaseModel):
    counter_id: str
    name: str
    is_open: bool
    line_codes: list[str]
    now_serving: NowServingOut | None

    @classmethod
    def of(cls, c: CounterBoard) -> CounterOut:
        t = c.ticket
        serving = (
            NowServingOut(
                number=t.number,
                line_code=t.line_code,
                status=t.status.value,
                call_count=t.call_count,
                called_at=t.called_at,
            )
            if t is not None
            else None
        )
        return cls(
            counter_id=c.counter_id,
            name=c.name,
            is_open=c.is_open,
            line_codes=list(c.line_codes),
            now_serving=serving,
        )


class CallOut(BaseModel):
    number: str
    line_code: str
    counter_id: str
    recall: bool
    at: datetime


class LineBoardOut(BaseModel):
    line_code: str
    prefix: str
    name: str
    waiting: int
    priority_waiting: int
    open_counters: int
    estimated_wait_seconds: int = Field(description="For a ticket taken now")


class BoardOut(BaseModel):
    """The display board: now serving per counter, the last calls, the queue per line."""

    center_id: str
    name: str
    at: datetime
    counters: list[CounterOut]
    last_called: list[CallOut]
    lines: list[LineBoardOut]

    @classmethod
    def of(cls, b: Board) -> BoardOut:
        return cls(
            center_id=b.center_id,
            name=b.name,
            at=b.at,
            counters=[CounterOut.of(c) for c in b.counters],
            last_called=[
                CallOut(
                    number=c.number,
                    line_code=c.line_code,
                    counter_id=c.counter_id,
                    recall=c.kind == "ticket.recalled",
                    at=c.at,
                )
                for c in b.last_called
            ],
            lines=[LineBoardOut.model_validate(x, from_attributes=True) for x in b.lines],
        )


class FiguresOut(BaseModel):
    issued: int
    called: int
    served: int
    no_show: int
    transferred: int
    cancelled: int
    requeued: int
    mean_wait_seconds: float | None
    p90_wait_seconds: float | None = Field(description="Nearest-rank 90th percentile")
    mean_service_seconds: float | None


class LineStatsOut(FiguresOut):
    line_code: str


class CounterStatsOut(FiguresOut):
    counter_id: str


class StatsOut(BaseModel):
    """One local day of one center, per line and per counter."""

    center_id: str
    day: date
    total: FiguresOut
    lines: list[LineStatsOut]
    counters: list[CounterStatsOut]

    @classmethod
    def of(cls, s: DailyStats) -> StatsOut:
        return cls.model_validate(
            {
                **asdict(s),
                "lines": [{"line_code": code, **asdict(f)} for code, f in s.lines.items()],
                "counters": [{"counter_id": cid, **asdict(f)} for cid, f in s.counters.items()],
            }
        )


class WaitingBucketOut(BaseModel):
    label: str = Field(description="Minutes waited, e.g. '5–10' or '≥60'")
    count: int


class AppointmentStatsOut(BaseModel):
    booked: int = Field(description="Bookings for the day, cancelled ones aside")
    checked_in: int
    no_show: int
    cancelled: int
    mean_wait_booked_seconds: float | None = Field(
        description="From the slot's start (or a later check-in) to the call"
    )
    mean_wait_walk_in_seconds: float | None


class WaitingStatsOut(BaseModel):
    """A day's waiting-time distribution: aggregate only, no ticket or contact."""

    center_id: str
    day: date
    calls: int = Field(description="Tickets called that day")
    mean_wait_seconds: float | None
    p90_wait_seconds: float | None
    buckets: list[WaitingBucketOut]
    appointments: AppointmentStatsOut | None = Field(
        default=None,
        description="The day's bookings, check-ins and no-shows, and the mean wait of "
        "booked citizens against walk-ins",
    )

    @classmethod
    def of(cls, h: statistics.WaitingHistogram) -> WaitingStatsOut:
        buckets = [WaitingBucketOut(label=label, count=n) for label, n in h.buckets]
        return cls.model_validate({**asdict(h), "buckets": buckets})


# ----------------------------------------------------------------- appointments


class BookIn(_In):
    line_code: str = Field(min_length=1, max_length=32, description="Service line, e.g. justice")
    slot_start: AwareDatetime = Field(description="Start of a free slot, as listed")
    contact: ContactIn | None = Field(
        default=None, description="For the confirmation and the reminder (with consent)"
    )


class RescheduleIn(_In):
    slot_start: AwareDatetime = Field(description="Start of another free slot of the line")


class SlotOut(BaseModel):
    start: datetime
    end: datetime
    free: int = Field(description="Places left in the slot")

    @classmethod
    def of(cls, slot: Slot) -> SlotOut:
        return cls(start=slot.start, end=slot.end, free=slot.free)


class AppointmentOut(BaseModel):
    """A booking as its citizen sees it: the code is what the kiosk asks for."""

    appointment_id: uuid.UUID
    code: str = Field(description="Typed at the kiosk, or shown there as a QR code")
    center_id: str
    line_code: str
    slot_start: datetime
    slot_end: datetime
    status: Literal["booked", "checked_in", "cancelled", "no_show"]
    booked_at: datetime

    @classmethod
    def of(cls, a: Appointment) -> AppointmentOut:
        # By name, so the sealed contact stays out.
        return cls.model_validate({**_shallow(a), "status": a.status.value})


# ---------------------------------------------------------------- remote tickets


class RemoteTicketIn(_In):
    """No ``priority_reason``: priority is claimed at the kiosk, before a clerk's eyes."""

    line_code: str = Field(min_length=1, max_length=32, description="Service line, e.g. justice")
    contact: ContactIn = Field(
        description="The phone (or e-mail) for 'your turn soon'; also what the day's "
        "limit per phone counts"
    )


class ArrivalIn(_In):
    door_code: str = Field(
        min_length=4,
        max_length=16,
        pattern="^[A-Za-z0-9]+$",
        description="Today's code from the QR on the center's door or the kiosk's screen",
    )


class DoorCodeOut(BaseModel):
    door_code: str
