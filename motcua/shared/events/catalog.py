"""The event catalog: one typed payload per event type, grouped by stream.

These models are the single source of truth. ``docs/events/*.json`` is generated
from them (``motcua docs gen``) and a contract test fails when the two drift.
Within a schema version changes are additive only; a breaking change gets a new
``SCHEMA_VERSION`` plus an upcaster in ``motcua.shared.events.registry``.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from motcua.shared.calendar import TimeUnit
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


class ProcedureName(Payload):
    """A procedure's name as the center's catalog gives it, so that pages name it in full."""

    vi: str = Field(min_length=1, max_length=500)
    en: str | None = Field(default=None, max_length=500)


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


# ---------------------------------------------------- queue stream: appointments


class AppointmentFacts(Payload):
    """Fields every appointment event carries: which booking, which line, which slot."""

    appointment_id: uuid.UUID
    line_code: Code = Field(min_length=1, max_length=32)
    code: str = Field(
        min_length=1,
        max_length=16,
        description="The booking code the citizen types or shows as a QR at the kiosk",
    )
    slot_start: AwareDatetime
    slot_end: AwareDatetime
    contact: SealedContact | None = Field(
        default=None,
        description="Given with consent when booking; sealed with context appointment_id. "
        "For the confirmation and the reminder",
    )


class AppointmentBooked(AppointmentFacts, event_type="appointment.booked"):
    booked_at: AwareDatetime


class AppointmentRescheduled(AppointmentFacts, event_type="appointment.rescheduled"):
    previous_slot_start: AwareDatetime


class AppointmentCancelled(AppointmentFacts, event_type="appointment.cancelled"):
    """The booking is cancelled and its place in the slot is free again."""


class AppointmentCheckedIn(AppointmentFacts, event_type="appointment.checked_in"):
    """The citizen came: the kiosk took the code and issued a ticket placed at the slot."""

    ticket_id: uuid.UUID
    number: str = Field(min_length=1, max_length=16, description="The ticket's display number")
    checked_in_at: AwareDatetime


class AppointmentNoShow(AppointmentFacts, event_type="appointment.no_show"):
    """Not checked in by the end of the check-in window; the place is not given back."""


class TicketArrivalConfirmed(TicketFacts, event_type="ticket.arrival_confirmed"):
    """A remote ticket's citizen is at the center (kiosk or door QR): it can be called."""

    arrived_at: AwareDatetime


# -------------------------------------------------------------- dossier stream


class DossierFacts(Payload):
    dossier_id: uuid.UUID
    dossier_code: str = Field(min_length=1, max_length=64)
    procedure_code: Code = Field(min_length=1, max_length=64)
    status: int = Field(
        ge=1,
        le=12,
        description="motcua's lifecycle status code after the event "
        "(motcua/shared/reference/portal_statuses.json)",
    )
    portal_status: int | None = Field(
        default=None,
        ge=1,
        le=10,
        description="The national public service portal's status code after the event, as "
        "mapped in portal_statuses.json (docs/portal-statuses.md); absent from events "
        "written before it was added",
    )
    actor: str | None = Field(
        default=None,
        max_length=128,
        description="The staff member who made the change (their token's subject), for the "
        "dossier's timeline; none when the citizen or the system did",
    )


class DossierReceived(DossierFacts, event_type="dossier.received"):
    line_code: Code | None = None
    received_at: AwareDatetime
    channel: Channel
    time_limit: TimeLimitSnapshot
    appointment_at: AwareDatetime
    ticket_id: uuid.UUID | None = None
    procedure_name: ProcedureName | None = Field(
        default=None, description="The procedure's name in the catalog when received"
    )
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
    supplement_count: int | None = Field(
        default=None,
        ge=1,
        description="How many times supplements have been requested for this dossier, this "
        "request included (2 or more: requested more than once, which the national scoring "
        "counts against the center); absent from events written before it was added",
    )


class DossierSupplementProvided(DossierFacts, event_type="dossier.supplement_provided"):
    pass


class DossierFinancialObligationNotified(
    DossierFacts, event_type="dossier.financial_obligation_notified"
):
    amount_vnd: int | None = Field(default=None, ge=0)
    purpose: str | None = Field(
        default=None,
        max_length=500,
        description="What the amount is for (a fee, a charge, a tax), in the citizen's words",
    )
    how_to_pay: str | None = Field(
        default=None,
        max_length=1000,
        description="Where and how to pay: the counter, a bank account, the portal's payment",
    )


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


# The legal record (docs/portal-statuses.md): online acceptance, liên thông, rework.


class DossierSubmitted(DossierFacts, event_type="dossier.submitted"):
    """Filed online by the citizen (portal 1): waits for a clerk to accept it or not. The
    legal clock does not run yet: it starts with the ``dossier.received`` of acceptance."""

    line_code: Code | None = None
    submitted_at: AwareDatetime
    channel: Channel = "online"
    contact: SealedContact | None = Field(
        default=None,
        description="The citizen's contact, sealed for notify, present only with consent",
    )
    sealed_secret: str | None = Field(
        default=None,
        max_length=2048,
        description="The lookup secret for the citizen's notification, sealed like the contact "
        "(motcua.shared.crypto, context = dossier_id); present only with a contact",
    )


class DossierNotAccepted(DossierFacts, event_type="dossier.not_accepted"):
    """A clerk refused to accept an online submission (portal 3), saying why."""

    reason: str = Field(min_length=1, max_length=2000)
    contact: SealedContact | None = Field(
        default=None,
        description="The citizen's contact, sealed for notify, present only with consent: "
        "a refused submission never had a dossier.received to carry it, yet the citizen "
        "must hear the reason",
    )


class DossierTransferred(DossierFacts, event_type="dossier.transferred"):
    """Sent to another agency for its part (liên thông); the clock keeps running."""

    to_agency: str = Field(min_length=1, max_length=200)


class DossierTransferReturned(DossierFacts, event_type="dossier.transfer_returned"):
    """The other agency sent the dossier back to the center."""

    from_agency: str | None = Field(default=None, max_length=200)


class DossierReturnedForRework(DossierFacts, event_type="dossier.returned_for_rework"):
    """A leader sent the officer's work back to be done again; the clock keeps running."""

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
    reused: bool = Field(
        default=False,
        description="A component reused by reference from the citizen's earlier dossier, "
        "not uploaded again (scorecard, indicator 4.3); absent from events written before "
        "it was added",
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


class DeadlineAppointmentSet(DeadlineFacts, event_type="deadline.appointment_set"):
    """The officer set the apology letter's new date (``due_at`` is the date missed)."""

    new_appointment_at: AwareDatetime
    previous_appointment_at: AwareDatetime = Field(description="The date the citizen held")
    apology_letter_id: uuid.UUID


class DeadlineClosed(DeadlineFacts, event_type="deadline.closed"):
    """The clock stopped at resolution: early, on time or late."""

    resolved_at: AwareDatetime
    outcome: Literal["early", "on_time", "late"]
    working_seconds_late: int = Field(default=0, ge=0)


class DeadlineAtRisk(DeadlineFacts, event_type="deadline.at_risk"):
    """The breach forecast crossed its threshold: the dossier will likely finish late.
    Published once per dossier and due instant (a moved due instant re-arms it)."""

    probability: float = Field(ge=0, le=1, description="forecast chance of finishing late")
    threshold: float = Field(ge=0, le=1, description="the threshold it crossed")
    working_seconds_left: int = Field(description="active working time left to the due instant")
    reason: Literal["backlog", "slow", "time"] = Field(
        description="backlog: the pile in front of it is above usual; slow: it has taken "
        "longer than most finished cases; time: the usual remaining work does not fit"
    )


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


# ------------------------------------------------------------- staff directory


StaffRole = Literal["officer", "department_head", "leader"]


class StaffConfigured(Payload, event_type="staff.configured"):
    """A member of a center's staff directory after a change (``docs/staff.md``): who may
    be assigned a dossier. No name and no contact: those stay in notify."""

    staff_id: str = Field(min_length=1, max_length=128)
    department: str | None = Field(default=None, max_length=128)
    role: StaffRole
    active: bool
    revision: int = Field(ge=1, description="Followers apply a newer revision only")


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
    AppointmentBooked,
    AppointmentRescheduled,
    AppointmentCancelled,
    AppointmentCheckedIn,
    AppointmentNoShow,
    TicketArrivalConfirmed,
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
    DossierSubmitted,
    DossierNotAccepted,
    DossierTransferred,
    DossierTransferReturned,
    DossierReturnedForRework,
)
DEADLINE_EVENTS: tuple[type[DeadlineFacts], ...] = (
    DeadlineSet,
    DeadlineUpdated,
    DeadlineApproaching,
    DeadlineOverdue,
    DeadlineClosed,
    DeadlineAtRisk,
    DeadlineAppointmentSet,
)
NOTIFICATION_EVENTS: tuple[type[Payload], ...] = (
    NotificationSent,
    NotificationFailed,
    FeedbackReceived,
)
STAFF_EVENTS: tuple[type[Payload], ...] = (StaffConfigured,)
INTAKE_RESULT_EVENTS: tuple[type[Payload], ...] = (CommandRejected,)
DOCUMENT_EVENTS: tuple[type[Payload], ...] = (DossierDocumentAttached,)

ALL_EVENTS: tuple[type[Payload], ...] = (
    QUEUE_EVENTS
    + DOSSIER_EVENTS
    + DEADLINE_EVENTS
    + NOTIFICATION_EVENTS
    + INTAKE_RESULT_EVENTS
    + STAFF_EVENTS
)


# ------------------------------------------------------ center registry stream

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ClockTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")]
Session = Annotated[list[ClockTime], Field(min_length=2, max_length=2)]
"""An office session as ``["07:30", "11:30"]``, local time."""


class CalendarOverrides(Payload):
    """A center's changes to the national working calendar, in the vocabulary of the
    deadlines service's overrides (``motcua.shared.center_calendar``): date lists add to
    the national ones, ``weekly_sessions`` replaces only the weekdays it names."""

    weekly_sessions: dict[Weekday, list[Session]] | None = Field(
        default=None, description='Replaces the named weekdays, e.g. {"sat": [["07:30", "11:30"]]}'
    )
    make_up_day_sessions: list[Session] | None = Field(default=None, max_length=6)
    rollover_cutoff: ClockTime | None = Field(
        default=None, description="Receipts after this time count from the next working day"
    )
    make_up_working_days: list[date] = Field(default_factory=list, max_length=366)
    extra_days_off: list[date] = Field(default_factory=list, max_length=366)
    not_holidays: list[date] = Field(default_factory=list, max_length=366)


CenterId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]


class CenterLine(Payload):
    """A service line a center opens: its ticket letter and typical service time. The
    names default to the shared list of lines (``motcua.shared.reference``)."""

    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_-]+$")
    prefix: str = Field(min_length=1, max_length=2, pattern=r"^[A-Z]{1,2}$")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, min_length=1, max_length=200)
    default_service_seconds: int = Field(default=600, ge=1, le=86_400)


class CenterCounter(Payload):
    """A counter and the lines it serves when opened without a choice."""

    counter_id: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=100)
    line_codes: list[str] = Field(min_length=1, max_length=50)


class CenterConfig(Payload):
    """The whole configuration of one center, as the registry holds it."""

    center_id: CenterId
    name: str = Field(min_length=1, max_length=200, description="Vietnamese name")
    name_en: str = Field(min_length=1, max_length=200, description="English name")
    code: str = Field(
        min_length=1,
        max_length=8,
        pattern=r"^[A-Z0-9]+$",
        description="Short code printed in the center's dossier codes",
    )
    timezone: str = Field(default="Asia/Ho_Chi_Minh", min_length=1, max_length=64)
    active: bool = Field(default=True, description="False once the center is retired")
    lines: list[CenterLine] = Field(min_length=1, max_length=50)
    counters: list[CenterCounter] = Field(min_length=1, max_length=200)
    calendar: CalendarOverrides = Field(default_factory=CalendarOverrides)


class CenterConfigured(CenterConfig, event_type="center.configured"):
    """A center's whole configuration after a change. ``revision`` grows by one with
    every change of the center: a follower applies only a revision newer than the one it
    holds, so a duplicate or a late event has no effect."""

    revision: int = Field(ge=1)


ProcedureCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Z0-9][A-Z0-9.-]*$")]


class ProcedureText(Payload):
    """A text of the procedure catalog, in Vietnamese and English."""

    vi: str = Field(min_length=1, max_length=500)
    en: str = Field(min_length=1, max_length=500)


class ProcedureFee(Payload):
    """A procedure's fee: the base amount, and the wording that explains it."""

    amount_vnd: int | None = Field(ge=0, description="Base amount; null when set elsewhere")
    vi: str = Field(max_length=500)
    en: str = Field(max_length=500)


class ProcedureTimeLimit(Payload):
    """A procedure's legal time limit, counted in working time from receipt."""

    amount: int = Field(ge=0, le=1000)
    unit: TimeUnit
    rollover: bool = False


class ProcedureConfig(Payload):
    """One administrative procedure as the catalog offers it: everything intake needs
    to receive a dossier for it. The one definition that the registry's files, the
    ``procedure.configured`` event and intake's packaged catalog all share."""

    code: ProcedureCode
    name: ProcedureText
    line_code: str = Field(min_length=1, max_length=32, description="The service line")
    time_limit: ProcedureTimeLimit
    # A tuple, not a list: read-only, so a stricter follower may narrow the item type.
    required_documents: tuple[ProcedureText, ...] = Field(default=(), max_length=50)
    fee: ProcedureFee
    legal_basis: str | None = Field(default=None, max_length=500)
    active: bool = Field(
        default=True,
        description="False once the procedure is retired: no new filings, while dossiers "
        "already received keep the procedure as it stood",
    )


class ProcedureConfigured(ProcedureConfig, event_type="procedure.configured"):
    """One procedure of the catalog after a change, one event per procedure: a whole
    catalog would not fit in one event. ``revision`` grows by one with every change of
    that procedure, so a follower applies only a revision newer than the one it holds
    for the code, and a duplicate or a late event has no effect.

    It travels on the registry's stream under that stream's key rule (the envelope's
    ``center_id``): the registry publishes every event of one procedure under the same
    center id, so one procedure's revisions share a partition and arrive in order."""

    revision: int = Field(ge=1)


REGISTRY_EVENTS: tuple[type[Payload], ...] = (CenterConfigured, ProcedureConfigured)
ALL_EVENTS = ALL_EVENTS + REGISTRY_EVENTS
ALL_EVENTS += DOCUMENT_EVENTS
