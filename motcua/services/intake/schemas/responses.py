"""HTTP response models of intake, and the mapping from records.

Two audiences, two shapes: clerks of the dossier's center see everything intake
holds (except the contact itself, which stays sealed); citizens looking a dossier
up see its procedure, steps and dates only, never personal data.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from motcua.services.intake.catalog import StatusBook
from motcua.services.intake.domain import APPOINTMENT_CHANGED, Lifecycle, StatusInfo
from motcua.services.intake.receipt import short_local
from motcua.services.intake.repository.dossiers import DossierRecord, HistoryEntry, ServedTicket
from motcua.shared.reference.supplements import repeated

# ----------------------------------------------------------------- responses


class StatusOut(BaseModel):
    code: int
    key: str
    name_vi: str
    name_en: str
    clock: str
    portal: int = Field(description="The national portal's status code (docs/portal-statuses.md)")

    @classmethod
    def of(cls, info: StatusInfo) -> StatusOut:
        return cls.model_validate({**asdict(info), "key": info.key.value})


class ProcedureRef(BaseModel):
    code: str
    name_vi: str
    name_en: str
    line_code: str | None


class TimeLimitOut(BaseModel):
    amount: int
    unit: str
    rollover: bool


class TicketOut(BaseModel):
    ticket_id: uuid.UUID
    number: str | None = None
    line_code: str | None = None
    counter_id: str | None = None
    served_at: datetime | None = None


class HistoryOut(BaseModel):
    seq: int
    event_type: str
    label_vi: str
    label_en: str
    from_status: int | None
    status: int
    occurred_at: datetime
    actor: str
    via: str
    details: dict[str, Any]


class DossierOut(BaseModel):
    """A dossier as its center's clerks see it."""

    id: uuid.UUID
    code: str
    center_id: str
    procedure: ProcedureRef
    channel: str
    status: StatusOut
    received_at: datetime
    appointment_at: datetime
    appointment_local: str
    time_limit: TimeLimitOut
    applicant_name: str | None
    has_contact: bool
    contact_consent: bool
    documents_received: list[str]
    assignee: str | None
    department: str | None
    outcome: str | None
    supplement_requests: int = Field(
        description="How many times supplements were requested for this dossier"
    )
    repeated_supplement: bool = Field(
        description="Supplements were requested more than once: the national scoring counts "
        "this dossier against the center"
    )
    ticket: TicketOut | None
    received_by: str
    allowed_operations: list[str]
    history: list[HistoryOut]


class DossierSummary(BaseModel):
    id: uuid.UUID
    code: str
    procedure_code: str
    status: int
    received_at: datetime
    appointment_at: datetime
    assignee: str | None
    supplement_requests: int

    @classmethod
    def of(cls, d: DossierRecord) -> DossierSummary:
        return cls.model_validate(d, from_attributes=True)


class ReceiptOut(BaseModel):
    """A received dossier with its lookup secret, as printed on the receipt."""

    dossier: DossierOut
    secret: str
    receipt_url: str


class OnlineReceiptOut(BaseModel):
    """What a citizen gets back from an online submission."""

    dossier_id: uuid.UUID
    code: str
    secret: str
    procedure: ProcedureRef
    status: StatusOut
    received_at: datetime
    appointment_at: datetime
    appointment_local: str
    lookup_url: str


class TimelineOut(BaseModel):
    """One step of the citizen's timeline: a status change, or the appointment date
    moved by the legal clock (``appointment_at`` is then the new date)."""

    status: StatusOut
    label_vi: str
    label_en: str
    at: datetime
    appointment_at: datetime | None = None
    appointment_local: str | None = None


class LookupOut(BaseModel):
    """A dossier as a citizen sees it: no personal data."""

    code: str
    procedure: ProcedureRef
    current_step: StatusOut
    received_at: datetime
    appointment_at: datetime
    appointment_local: str
    outcome: str | None
    timeline: list[TimelineOut]


# ------------------------------------------------------------------- mapping


class Views:
    """Builds response models from records, with the status names and time zone."""

    def __init__(self, book: StatusBook, lifecycle: Lifecycle, tz: ZoneInfo) -> None:
        self.book = book
        self.lifecycle = lifecycle
        self.tz = tz

    def status(self, code: int) -> StatusOut:
        return StatusOut.of(self.book.statuses.info(code))

    def procedure(self, d: DossierRecord) -> ProcedureRef:
        name = d.procedure["name"]
        return ProcedureRef(
            code=d.procedure_code, name_vi=name["vi"], name_en=name["en"], line_code=d.line_code
        )

    def _label(self, event_type: str) -> tuple[str, str]:
        label = self.book.event_labels.get(event_type)
        return (label.vi, label.en) if label else (event_type, event_type)

    def dossier(
        self, d: DossierRecord, history: list[HistoryEntry], ticket: ServedTicket | None
    ) -> DossierOut:
        return DossierOut(
            id=d.id,
            code=d.code,
            center_id=d.center_id,
            procedure=self.procedure(d),
            channel=d.channel,
            status=self.status(d.status),
            received_at=d.received_at,
            appointment_at=d.appointment_at,
            appointment_local=short_local(d.appointment_at, self.tz),
            time_limit=TimeLimitOut(
                amount=d.time_limit_amount, unit=d.time_limit_unit, rollover=d.time_limit_rollover
            ),
            applicant_name=d.applicant_name,
            has_contact=d.contact_sealed is not None,
            contact_consent=d.contact_consent,
            documents_received=d.documents_received,
            assignee=d.assignee,
            department=d.department,
            outcome=d.outcome,
            supplement_requests=d.supplement_requests,
            repeated_supplement=repeated(d.supplement_requests),
            ticket=self._ticket(d, ticket),
            received_by=d.received_by,
            allowed_operations=[op.value for op in self.lifecycle.allowed(d.status)],
            history=[
                HistoryOut(
                    seq=h.seq,
                    event_type=h.event_type,
                    label_vi=self._label(h.event_type)[0],
                    label_en=self._label(h.event_type)[1],
                    from_status=h.from_status,
                    status=h.status,
                    occurred_at=h.occurred_at,
                    actor=h.actor,
                    via=h.via,
                    details=h.details,
                )
                for h in history
            ],
        )

    @staticmethod
    def _ticket(d: DossierRecord, served: ServedTicket | None) -> TicketOut | None:
        if d.ticket_id is None:
            return None
        if served is None:
            return TicketOut(ticket_id=d.ticket_id)
        return TicketOut(
            ticket_id=served.ticket_id,
            number=served.number,
            line_code=served.line_code,
            counter_id=served.counter_id,
            served_at=served.completed_at,
        )

    def online(self, d: DossierRecord, secret: str, lookup_url: str) -> OnlineReceiptOut:
        return OnlineReceiptOut(
            dossier_id=d.id,
            code=d.code,
            secret=secret,
            procedure=self.procedure(d),
            status=self.status(d.status),
            received_at=d.received_at,
            appointment_at=d.appointment_at,
            appointment_local=short_local(d.appointment_at, self.tz),
            lookup_url=lookup_url,
        )

    def lookup(self, d: DossierRecord, history: list[HistoryEntry]) -> LookupOut:
        """Only what a citizen needs; built field by field so nothing personal slips in."""
        return LookupOut(
            code=d.code,
            procedure=self.procedure(d),
            current_step=self.status(d.status),
            received_at=d.received_at,
            appointment_at=d.appointment_at,
            appointment_local=short_local(d.appointment_at, self.tz),
            outcome=d.outcome,
            timeline=[self._step(h) for h in history],
        )

    def _step(self, h: HistoryEntry) -> TimelineOut:
        """A history entry reduced for the citizen: what happened and when, and the
        new appointment date; never who did it or the details they gave."""
        moved = h.details.get("appointment_at") if h.event_type == APPOINTMENT_CHANGED else None
        new_date = datetime.fromisoformat(moved) if isinstance(moved, str) else None
        label_vi, label_en = self._label(h.event_type)
        return TimelineOut(
            status=self.status(h.status),
            label_vi=label_vi,
            label_en=label_en,
            at=h.occurred_at,
            appointment_at=new_date,
            appointment_local=short_local(new_date, self.tz) if new_date else None,
        )
