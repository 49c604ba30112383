"""The event catalog: one typed payload per event type, grouped by stream.

These models are the single source of truth. ``docs/events/*.json`` is generated
from them (``motcua docs gen``) and a contract test fails when the two drift.
Within a schema version changes are additive only; a breaking change gets a new
``SCHEMA_VERSION`` plus an upcaster in ``motcua.shared.events.registry``.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import AwareDatetime, Field

from motcua.shared.events.envelope import Payload
from motcua.shared.reference.priority import PriorityReason as PriorityReason

Code = str
Channel = Literal["counter", "online"]
TimeUnitName = Literal["working_days", "working_hours"]


class SealedContact(Payload):
    """A citizen's contact, given with consent, sealed for the notify service only.

    The phone number or e-mail never travels in clear: ``sealed`` is an AEAD
    ciphertext that only holders of the contact key can open (see ``motcua.shared.crypto``).
    """

    kind: Literal["phone", "email"]
    sealed: str = Field(max_length=2048)
    key_id: str = Field(default="k1", max_length=32)
    language: Literal["vi", "en"] = "vi"


class TimeLimitSnapshot(Payload):
    """A procedure's legal time limit as it stood when the dossier was received."""

    amount: int = Field(ge=0, le=1000)
    unit: TimeUnitName
    rollover: bool = False


# ---------------------------------------------------------------- queue stream


class TicketFacts(Payload):
    """Fields every ticket event carries, so that consumers need no lookups."""

    ticket_id: uuid.UUID
    number: str = Field(min_length=1, max_length=16, description="Display number, e.g. A007")
    line_code: Code = Field(min_length=1, max_length=32)
    lookup_code: str = Field(min_length=1, max_length=32)
    priority: bool = Field(
        default=False,
        description="Served first (elderly, disability, pregnancy, young child, merit). "
        "Only that: the reason is health or family data and stays in the queue service",
    )
    priority_reason: PriorityReason | None = Field(
        default=None,
        description="Deprecated, no longer sent (personal data on the bus): read "
        "`priority`. Events written before it went may still carry it",
    )
    counter_id: str | None = Field(default=None, max_length=32)
    position: int | None = Field(default=None, ge=0)
    estimated_wait_seconds: int | None = Field(default=None, ge=0)
    contact: SealedContact | None = Field(
        default=None, description="Given with consent at the kiosk; sealed with context ticket_id"
    )


class TicketIssued(TicketFacts, event_type="ticket.issued"):
    issued_at: AwareDatetime
    contact: SealedContact | None = None


class TicketCalled(TicketFacts, event_type="ticket.called"):
    call_count: int = Field(default=1, ge=1)


class TicketRecalled(TicketFacts, event_type="ticket.recalled"):
    call_count: int = Field(ge=2)


class TicketNoShow(TicketFacts, event_type="ticket.no_show"):
    pass


class TicketRequeued(TicketFacts, event_type="ticket.requeued"):
    """A no-show ticket put back in the queue: the citizen returned the same day."""


class TicketTransferred(TicketFacts, event_type="ticket.transferred"):
    from_line_code: Code


class TicketServiceStarted(TicketFacts, event_type="ticket.service_started"):
    pass


class TicketServiceCompleted(TicketFacts, event_type="ticket.service_completed"):
    dossier_id: uuid.UUID | None = None
    service_seconds: int | None = Field(default=None, ge=0)


class TicketCancelled(TicketFacts, event_type="ticket.cancelled"):
    reason: str | None = Field(default=None, max_length=500)


class CounterOpened(Payload, event_type="counter.opened"):
    counter_id: str = Field(max_length=32)
    line_codes: list[Code] = Field(max_length=50)
    clerk_id: str | None = Field(default=None, max_length=64)


class CounterClosed(Payload, event_type="counter.closed"):
    counter_id: str = Field(max_length=32)


# -------------------------------------------------------------- dossier stream


class DossierFacts(Payload):
    dossier_id: uuid.UUID
    dossier_code: str = Field(min_length=1, max_length=64)
    procedure_code: Code = Field(min_length=1, max_length=64)
    status: int = Field(ge=1, le=10, description="National portal status code after the event")


class DossierReceived(DossierFacts, event_type="dossier.received"):
    line_code: Code | None = None
    received_at: AwareDatetime
    channel: Channel
    time_limit: TimeLimitSnapshot
    appointment_at: AwareDatetime
    ticket_id: uuid.UUID | None = None
    contact: SealedContact | None = None
    sealed_secret: str | None = Field(
        default=None,
        max_length=2048,
        description="The lookup secret for the citizen's notification, sealed like the contact "
        "(motcua.shared.crypto, context = dossier_id); present only with a contact",
    )


class DossierAssigned(DossierFacts, event_type="dossier.assigned"):
    assignee: str = Field(min_length=1, max_length=128)
    department: str | None = Field(default=None, max_length=128)


class DossierSupplementRequested(DossierFacts, event_type="dossier.supplement_requested"):
    reason: str = Field(min_length=1, max_length=2000)
    missing_documents: list[str] = Field(default_factory=list, max_length=50)


class DossierSupplementProvided(DossierFacts, event_type="dossier.supplement_provided"):
    pass


class DossierFinancialObligationNotified(
    DossierFacts, event_type="dossier.financial_obligation_notified"
):
    amount_vnd: int | None = Field(default=None, ge=0)


class DossierFinancialObligationFulfilled(
    DossierFacts, event_type="dossier.financial_obligation_fulfilled"
):
    pass


class DossierResolved(DossierFacts, event_type="dossier.resolved"):
    outcome: Literal["approved", "refused"]
    reason: str | None = Field(default=None, max_length=2000)


class DossierReturned(DossierFacts, event_type="dossier.returned"):
    pass


class DossierWithdrawn(DossierFacts, event_type="dossier.withdrawn"):
    reason: str | None = Field(default=None, max_length=2000)


class DossierStopped(DossierFacts, event_type="dossier.stopped"):
    reason: str = Field(min_length=1, max_length=2000)


# ---------------------------------------------- dossier documents (intake owns them)


class DossierDocumentAttached(Payload, event_type="dossier.document_attached"):
    """A file was attached to a dossier: one of its procedure's components, or the
    result. The file itself never travels on the bus: its hash names it in intake's
    document store (docs/documents.md). Not a lifecycle step: the status is unchanged."""

    dossier_id: uuid.UUID
    dossier_code: str = Field(min_length=1, max_length=64)
    kind: Literal["component", "result"]
    component: int = Field(
        ge=0,
        le=50,
        description="1-based position in the procedure's required components; 0 for the result",
    )
    component_name: str | None = Field(default=None, max_length=500)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(gt=0)
    media_type: str = Field(max_length=100)
    digitised: bool = Field(
        default=False, description="A paper component scanned at the counter (scorecard)"
    )
    verification_id: uuid.UUID | None = Field(
        default=None, description="The signed verification record of a result"
    )


class CommandRejected(Payload, event_type="command.rejected"):
    """A clerk-app command that intake refused; names the command and the reason."""

    command_id: str = Field(max_length=128)
    command_type: str | None = Field(default=None, max_length=100)
    reason: str = Field(max_length=2000)
    dossier_id: uuid.UUID | None = None


# ------------------------------------------------------------- deadline stream


class DeadlineFacts(Payload):
    dossier_id: uuid.UUID
    dossier_code: str = Field(max_length=64)
    procedure_code: Code = Field(max_length=64)
    due_at: AwareDatetime


class DeadlineSet(DeadlineFacts, event_type="deadline.set"):
    pass


class DeadlineUpdated(DeadlineFacts, event_type="deadline.updated"):
    previous_due_at: AwareDatetime
    reason: Literal["pause", "extension", "correction"]


class DeadlineApproaching(DeadlineFacts, event_type="deadline.approaching"):
    threshold: str = Field(max_length=32, description="e.g. '1d' or '80%'")
    working_seconds_left: int


class DeadlineOverdue(DeadlineFacts, event_type="deadline.overdue"):
    new_appointment_at: AwareDatetime
    apology_letter_id: uuid.UUID | None = None


class DeadlineClosed(DeadlineFacts, event_type="deadline.closed"):
    """The clock stopped at resolution: early, on time or late."""

    resolved_at: AwareDatetime
    outcome: Literal["early", "on_time", "late"]
    working_seconds_late: int = Field(default=0, ge=0)


# --------------------------------------------------------- notification stream


class NotificationFacts(Payload):
    notification_id: uuid.UUID
    kind: str = Field(max_length=64)
    channel: str = Field(max_length=32)
    recipient_ref: str = Field(max_length=128, description="Opaque reference, never the contact")
    source_event_id: uuid.UUID


class NotificationSent(NotificationFacts, event_type="notification.sent"):
    attempts: int = Field(ge=1)


class NotificationFailed(NotificationFacts, event_type="notification.failed"):
    attempts: int = Field(ge=1)
    error: str = Field(max_length=2000)


class FeedbackReceived(Payload, event_type="feedback.received"):
    dossier_id: uuid.UUID
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)
    on_date: date | None = None


QUEUE_EVENTS: tuple[type[Payload], ...] = (
    TicketIssued,
    TicketCalled,
    TicketRecalled,
    TicketNoShow,
    TicketTransferred,
    TicketServiceStarted,
    TicketServiceCompleted,
    TicketCancelled,
    TicketRequeued,
    CounterOpened,
    CounterClosed,
)
DOSSIER_EVENTS: tuple[type[DossierFacts], ...] = (
    DossierReceived,
    DossierAssigned,
    DossierSupplementRequested,
    DossierSupplementProvided,
    DossierFinancialObligationNotified,
    DossierFinancialObligationFulfilled,
    DossierResolved,
    DossierReturned,
    DossierWithdrawn,
    DossierStopped,
)
DEADLINE_EVENTS: tuple[type[DeadlineFacts], ...] = (
    DeadlineSet,
    DeadlineUpdated,
    DeadlineApproaching,
    DeadlineOverdue,
    DeadlineClosed,
)
NOTIFICATION_EVENTS: tuple[type[Payload], ...] = (
    NotificationSent,
    NotificationFailed,
    FeedbackReceived,
)
INTAKE_RESULT_EVENTS: tuple[type[Payload], ...] = (CommandRejected,)
DOCUMENT_EVENTS: tuple[type[Payload], ...] = (DossierDocumentAttached,)

ALL_EVENTS: tuple[type[Payload], ...] = (
    QUEUE_EVENTS + DOSSIER_EVENTS + DEADLINE_EVENTS + NOTIFICATION_EVENTS + INTAKE_RESULT_EVENTS
)
ALL_EVENTS += DOCUMENT_EVENTS
