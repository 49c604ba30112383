"""The commands of intake (every change), shared by the clerk API, the bus and the
public API; reading is in ``queries``.

:class:`Intake` holds the reference data and keys; each method runs on the
caller's connection **inside the caller's transaction**, so the state change, its
history row and its outbox event commit together or not at all. Commands from
every entry point are the same typed models (``motcua.shared.events.commands``): HTTP
routes build them from the request and the token, the bus parses them. Both then
pass the same :meth:`Intake.authorize` with the author's verified token, so a
command on the bus is held to exactly the rules of the HTTP path.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import asyncpg
from fastapi import Request

from motcua.services.intake import domain, staff
from motcua.services.intake.catalog import Catalog, Procedure, StatusBook, as_procedure
from motcua.services.intake.domain import Lifecycle, Op
from motcua.services.intake.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    RetiredProcedure,
    UnknownProcedure,
    WrongCenter,
)
from motcua.services.intake.idempotency import replay_of
from motcua.services.intake.queries import Queries, Receipt
from motcua.services.intake.repository import dossiers
from motcua.services.intake.repository.dossiers import DossierRecord, HistoryEntry, ServedTicket
from motcua.services.intake.schemas.responses import Views
from motcua.services.intake.settings import IntakeSettings
from motcua.shared import crypto
from motcua.shared.auth import Principal
from motcua.shared.bus import outbox
from motcua.shared.calendar import CalendarError, TimeLimit, TimeUnit, WorkingCalendar
from motcua.shared.centers import CenterBook
from motcua.shared.events.catalog import (
    DossierAssigned,
    DossierFinancialObligationFulfilled,
    DossierFinancialObligationNotified,
    DossierNotAccepted,
    DossierReceived,
    DossierResolved,
    DossierReturned,
    DossierReturnedForRework,
    DossierStopped,
    DossierSubmitted,
    DossierSupplementProvided,
    DossierSupplementRequested,
    DossierTransferred,
    DossierTransferReturned,
    DossierWithdrawn,
    ProcedureName,
    SealedContact,
    TicketServiceCompleted,
    TimeLimitSnapshot,
)
from motcua.shared.events.commands import (
    AcceptDossier,
    AssignDossier,
    Command,
    FulfilFinancialObligation,
    NotAcceptDossier,
    NotifyFinancialObligation,
    ProvideSupplement,
    ReceiveDossier,
    RequestSupplement,
    ResolveDossier,
    ReturnForRework,
    ReturnResult,
    StopDossier,
    TransferBackDossier,
    TransferDossier,
    WithdrawDossier,
)
from motcua.shared.events.envelope import Envelope, Payload, new_event, ticket_correlation
from motcua.shared.logging import get_logger
from motcua.shared.policy import COMMAND_OPERATIONS, Operation, allows
from motcua.shared.procedures import ProcedureBook
from motcua.shared.ratelimit import TokenBuckets
from motcua.shared.runtime import ServiceRuntime

log = get_logger(__name__)

Via = Literal["http", "bus", "online"]

OPS: Mapping[type[Command[Any]], Op] = {
    AssignDossier: Op.ASSIGN,
    RequestSupplement: Op.REQUEST_SUPPLEMENT,
    ProvideSupplement: Op.PROVIDE_SUPPLEMENT,
    NotifyFinancialObligation: Op.NOTIFY_FINANCIAL_OBLIGATION,
    FulfilFinancialObligation: Op.FULFIL_FINANCIAL_OBLIGATION,
    ResolveDossier: Op.RESOLVE,
    ReturnResult: Op.RETURN_RESULT,
    WithdrawDossier: Op.WITHDRAW,
    StopDossier: Op.STOP,
    AcceptDossier: Op.ACCEPT,
    NotAcceptDossier: Op.NOT_ACCEPT,
    TransferDossier: Op.TRANSFER,
    TransferBackDossier: Op.TRANSFER_BACK,
    ReturnForRework: Op.RETURN_FOR_REWORK,
}
"""Which lifecycle operation each targeted command performs."""

# Receipt details that are personal data stay out of the history's details.
_PRIVATE_DETAILS = {"applicant_name"}
_COMMAND_NAMESPACE = uuid.UUID("5f0c3d1e-6b7a-4a53-9d2e-6d6f74637561")


@dataclass(frozen=True)
class Contact:
    """A citizen's contact as given over HTTPS, already validated and normalised."""

    kind: Literal["phone", "email"]
    value: str
    language: Literal["vi", "en"]
    consent: bool


def dossier_id_for(command: ReceiveDossier) -> uuid.UUID:
    """The new dossier's id: the command's, or one derived from the command id so
    that a retried command names the same dossier."""
    return command.dossier_id or uuid.uuid5(_COMMAND_NAMESPACE, str(command.command_id))


@dataclass(frozen=True)
class Intake:
    """Every intake use case; see the module docstring for the transaction rule."""

    catalog: Catalog
    book: StatusBook
    lifecycle: Lifecycle
    calendar: WorkingCalendar
    contact_keys: crypto.Keyring
    pepper: bytes
    center_codes: Mapping[str, str]
    grace: timedelta
    producer: str = "intake"
    centers: CenterBook = field(default_factory=CenterBook)
    """What the center registry says of each center (name, code, calendar); until a
    center's first ``center.configured`` arrives, the settings and the national calendar."""
    procedures: ProcedureBook = field(default_factory=ProcedureBook)
    """What the registry says of each procedure; until a procedure's first
    ``procedure.configured`` arrives, the packaged ``catalog``."""

    # ------------------------------------------------------------ authority

    def authorize(self, principal: Principal, command: Command[Any], *, now: datetime) -> None:
        """May the token's holder ask this? The one check of every entry point: the
        command acts for the token's center and is issued by the token's subject, and a
        business time in the past beyond the clock-skew grace (backdating, i.e. a data
        migration) needs an admin token. Dossier-level checks (a dossier of another
        center, the transition table) follow in the use case itself."""
        if command.center_id != principal.center_id:
            raise WrongCenter(
                f"the token is for center {principal.center_id!r}, not {command.center_id!r}",
                field="center_id",
            )
        if command.issued_by != principal.subject:
            raise Forbidden("issued_by is not the token's subject", field="issued_by")
        # The role check the HTTP route makes by its dependency, for commands off the bus.
        operation = COMMAND_OPERATIONS.get(command.COMMAND_TYPE)
        if operation is not None and not allows(principal.role, operation):
            raise Forbidden(
                f"a {principal.role} token may not {command.COMMAND_TYPE}", field="token"
            )
        backdated = domain.is_backdated(command.issued_at, now=now, grace=self.grace)
        if backdated and not allows(principal.role, Operation.DOSSIER_BACKDATE):
            raise Forbidden("backdating a change needs an admin token", field="occurred_at")

    # ------------------------------------------------------------ receive

    def procedure(self, code: str) -> Procedure:
        """The procedure a new dossier is filed under, as the registry last configured
        it (the packaged catalog before that); a retired one is refused."""
        found = self.current_procedure(code)
        if found is None:
            raise UnknownProcedure(f"unknown procedure {code!r}", field="procedure_code")
        if not found.active:
            raise RetiredProcedure(
                f"procedure {code!r} is retired: it can no longer be filed",
                field="procedure_code",
            )
        return found

    def current_procedure(self, code: str) -> Procedure | None:
        """The registry's version of the procedure, else the packaged one (retired ones
        included: the catalog pages show them as such)."""
        configured = self.procedures.get(code)
        if configured is None:
            return self.catalog.get(code)
        return as_procedure(configured)

    def current_catalog(self) -> list[Procedure]:
        """Every procedure, the registry's version where it has one: the packaged ones in
        the file's order, then those only the registry has, by code."""
        packaged = [p.code for p in self.catalog.procedures]
        added = sorted(set(self.procedures.procedures) - set(packaged))
        return [p for code in packaged + added if (p := self.current_procedure(code)) is not None]

    def calendar_of(self, center_id: str) -> WorkingCalendar:
        """The center's working calendar: the registry's, the one deadlines' clock runs
        on, so that the receipt and the clock give the same date."""
        return self.centers.calendar(center_id, self.calendar)

    def center_code_of(self, center_id: str) -> str:
        """The short code printed in the center's dossier codes."""
        return self.centers.code(center_id) or domain.center_code(center_id, self.center_codes)

    def appointment(
        self, procedure: Procedure, received_at: datetime, center_id: str | None = None
    ) -> datetime:
        """The appointment date printed on the receipt (the shared calendar kernel, on
        the center's calendar)."""
        return self._due(received_at, procedure.time_limit.limit(), center_id)

    def _due(self, received_at: datetime, limit: TimeLimit, center_id: str | None) -> datetime:
        calendar = self.calendar_of(center_id) if center_id else self.calendar
        try:
            return calendar.due_at(received_at, limit)
        except CalendarError as exc:  # a receipt dated where the calendar has no holidays
            raise InvalidInput(str(exc), field="issued_at") from None

    async def receive(
        self,
        conn: asyncpg.Connection,
        command: ReceiveDossier,
        *,
        via: Via,
        now: datetime,
        contact: Contact | None = None,
        causation_id: uuid.UUID | None = None,
    ) -> Receipt:
        """Receive a dossier: code, secret, appointment, snapshot, history, event.

        One the citizen filed online (``via="online"``) is only submitted: it waits in
        status 1 for a clerk to accept it (:meth:`act` with ``AcceptDossier``), when its
        legal clock starts; its appointment until then is the one it would get if
        accepted at once."""
        data = command.data
        procedure = self.procedure(data.procedure_code)
        dossier_id = dossier_id_for(command)
        received_at = domain.effective_time(
            command.issued_at, now=now, not_before=None, grace=self.grace
        )
        ticket_id = await self._ticket_for(conn, command, dossier_id, via)
        appointment_at = self.appointment(procedure, received_at, command.center_id)
        center = self.center_code_of(command.center_id)
        prefix = domain.code_prefix(center, self.calendar.local_date(received_at))
        secret = domain.new_secret()
        context = str(dossier_id)
        # Sealed for notify, and kept so (with the key id) to reprint the receipt.
        bus_secret = self.contact_keys.seal(secret, context)
        bus_contact = self.contact_keys.seal(contact.value, context) if contact else None
        sealed_secret = f"{bus_secret.key_id}.{bus_secret.sealed}"
        sealed = f"{bus_contact.key_id}.{bus_contact.sealed}" if bus_contact else None
        submitted = via == "online"
        status = self.lifecycle.submitted if submitted else self.lifecycle.received
        # A dossier from a queue ticket continues the ticket's chain (kiosk to SMS).
        ticket = command.data.ticket_id
        correlation_id = command.correlation_id or (
            ticket_correlation(ticket) if ticket else command.command_id
        )
        # The code comes from the insert (the day's sequence), so the event follows it.
        entry = self._entry(
            command,
            dossier_id=dossier_id,
            event_id=uuid.uuid4(),
            event_type=(DossierSubmitted if submitted else DossierReceived).EVENT_TYPE,
            move=(None, status),
            seq=1,
            at=received_at,
            via=via,
            details=data.model_dump(mode="json", exclude=_PRIVATE_DETAILS),
        )
        record = await dossiers.insert_dossier(
            conn,
            prefix,
            {
                "id": dossier_id,
                "center_id": command.center_id,
                "procedure_code": procedure.code,
                "procedure": procedure.model_dump(mode="json"),
                "line_code": procedure.line_code,
                "channel": data.channel,
                "status": status,
                "time_limit_amount": procedure.time_limit.amount,
                "time_limit_unit": procedure.time_limit.unit.value,
                "time_limit_rollover": procedure.time_limit.rollover,
                "received_at": received_at,
                "appointment_at": appointment_at,
                "secret_hash": domain.hash_secret(secret, self.pepper),
                "secret_sealed": sealed_secret,
                "applicant_name": data.applicant_name,
                "contact_kind": contact.kind if contact else None,
                "contact_sealed": sealed,
                "contact_language": contact.language if contact else None,
                "contact_consent": bool(contact and contact.consent),
                "documents_received": list(data.documents_received),
                "note": data.note,
                "ticket_id": ticket_id,
                "received_by": command.issued_by,
                "correlation_id": correlation_id,
                "updated_at": received_at,
            },
            entry,
        )
        payload: Payload
        if submitted:
            # No clock runs yet. The citizen has the code and secret on screen, and with
            # consent gets them by SMS or e-mail too (notify), so the contact travels.
            on_bus = contact_on_bus(record)
            payload = DossierSubmitted(
                **self._facts(record, status, command.issued_by),
                line_code=procedure.line_code,
                submitted_at=received_at,
                contact=on_bus,
                sealed_secret=bus_secret.sealed if on_bus else None,
            )
        else:
            payload = self._received(record, status, command.issued_by)
        event = self._event(payload, record.center_id, correlation_id, causation_id, entry)
        await outbox.add(conn, event)
        # Identifiers only: the applicant's name and contact never reach the logs.
        log.info(
            "dossier.received",
            dossier_id=str(dossier_id),
            code=record.code,
            procedure=procedure.code,
            channel=data.channel,
            via=via,
        )
        return Receipt(record, secret, [entry])

    def _facts(self, record: DossierRecord, status: int, actor: str | None) -> dict[str, Any]:
        """The fields every dossier event carries: the portal's code, and the staff
        member who made the change (``None`` for the citizen or the system)."""
        return {
            "dossier_id": record.id,
            "dossier_code": record.code,
            "procedure_code": record.procedure_code,
            "status": status,
            "portal_status": self.lifecycle.statuses.info(status).portal,
            "actor": actor,
        }

    def _received(self, record: DossierRecord, status: int, actor: str | None) -> DossierReceived:
        """``dossier.received``: the legal clock starts (at the counter, or at the
        acceptance of an online submission), from the stored dossier."""
        on_bus = contact_on_bus(record)
        name = record.procedure.get("name") or {}
        return DossierReceived(
            **self._facts(record, status, actor),
            line_code=record.line_code,
            # The catalog's name as the dossier keeps it, so leaders read names, not codes.
            procedure_name=ProcedureName(vi=name["vi"], en=name["en"]) if name else None,
            received_at=record.received_at,
            channel="online" if record.channel == "online" else "counter",
            time_limit=TimeLimitSnapshot(
                amount=record.time_limit_amount,
                unit="working_hours"
                if record.time_limit_unit == "working_hours"
                else "working_days",
                rollover=record.time_limit_rollover,
            ),
            appointment_at=record.appointment_at,
            ticket_id=record.ticket_id,
            contact=on_bus,
            sealed_secret=record.secret_sealed.split(".", 1)[1] if on_bus else None,
        )

    async def _ticket_for(
        self,
        conn: asyncpg.Connection,
        command: ReceiveDossier,
        dossier_id: uuid.UUID,
        via: Via,
    ) -> uuid.UUID | None:
        """The ticket behind a counter receipt: given, or announced earlier by a
        ``ticket.service_completed`` that named this dossier."""
        ticket_id = command.data.ticket_id
        if ticket_id is not None:
            served = await dossiers.served_ticket(conn, ticket_id)
            if served is not None and served.center_id != command.center_id:
                raise InvalidInput("the ticket belongs to another center", field="ticket_id")
            return ticket_id
        if via == "bus" or command.dossier_id is not None:
            return await dossiers.ticket_announcing(conn, dossier_id, command.center_id)
        return None

    # ------------------------------------------------------------ lifecycle

    async def act(
        self,
        conn: asyncpg.Connection,
        command: Command[Any],
        *,
        via: Via,
        now: datetime,
        causation_id: uuid.UUID | None = None,
    ) -> None:
        """Apply one lifecycle command to its dossier, per the transition table."""
        op = OPS[type(command)]
        if command.dossier_id is None:  # the command models require it; belt and braces
            raise InvalidInput("the command names no dossier", field="dossier_id")
        record = await dossiers.lock_dossier(conn, command.dossier_id)
        if record is None:
            raise NotFound("no such dossier")
        if record.center_id != command.center_id:
            raise WrongCenter(f"the dossier belongs to another center than {command.center_id!r}")
        status = self.lifecycle.next_status(op, record.status)
        if op is Op.ASSIGN:
            await staff.check_assignee(conn, record.center_id, command.data.assignee)
        at = domain.effective_time(
            command.issued_at, now=now, not_before=record.updated_at, grace=self.grace
        )
        data = command.data
        received = None
        if op is Op.ACCEPT:
            # The legal clock starts at acceptance: the receipt is dated now, and so is
            # the appointment counted from it.
            limit = TimeLimit(
                record.time_limit_amount,
                TimeUnit(record.time_limit_unit),
                record.time_limit_rollover,
            )
            received = (at, self._due(at, limit, record.center_id))
        version = await dossiers.update_dossier(
            conn,
            record.id,
            status=status,
            at=at,
            assignment=(data.assignee, data.department) if op is Op.ASSIGN else None,
            outcome=data.outcome if op is Op.RESOLVE else None,
            received=received,
            supplement_requested=op is Op.REQUEST_SUPPLEMENT,
        )
        payload: Payload
        # ``actor``: who did it, for the dossier's timeline.
        if op is Op.ACCEPT:
            accepted = await dossiers.get_dossier(conn, record.id)
            assert accepted is not None  # locked above, in this transaction
            payload = self._received(accepted, status, command.issued_by)
        else:
            payload = _payload(op, record, self._facts(record, status, command.issued_by), data)
        entry = self._entry(
            command,
            dossier_id=record.id,
            event_id=uuid.uuid4(),
            event_type=payload.EVENT_TYPE,
            move=(record.status, status),
            seq=version,
            at=at,
            via=via,
            details=data.model_dump(mode="json"),
        )
        correlation_id = command.correlation_id or record.correlation_id
        log.info("dossier.changed", dossier_id=str(record.id), operation=op.value, status=status)
        await dossiers.add_history(conn, entry)
        await outbox.add(
            conn, self._event(payload, record.center_id, correlation_id, causation_id, entry)
        )

    async def execute(
        self,
        conn: asyncpg.Connection,
        command: Command[Any],
        *,
        author: Principal,
        now: datetime,
    ) -> None:
        """Apply a command from the bus (receive or any lifecycle operation) for
        ``author``, the holder of the verified token it carries."""
        self.authorize(author, command, now=now)
        if isinstance(command, ReceiveDossier):
            await self.receive(conn, command, via="bus", now=now, causation_id=command.command_id)
        else:
            await self.act(conn, command, via="bus", now=now, causation_id=command.command_id)

    @staticmethod
    def _entry(
        command: Command[Any],
        *,
        dossier_id: uuid.UUID,
        event_id: uuid.UUID,
        event_type: str,
        move: tuple[int | None, int],
        seq: int,
        at: datetime,
        via: Via,
        details: dict[str, Any],
    ) -> HistoryEntry:
        """The history row recording one change (and naming its event)."""
        return HistoryEntry(
            dossier_id=dossier_id,
            seq=seq,
            event_id=event_id,
            event_type=event_type,
            from_status=move[0],
            status=move[1],
            occurred_at=at,
            actor=command.issued_by,
            via=via,
            details=details,
        )

    def _event(
        self,
        payload: Payload,
        center_id: str,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        entry: HistoryEntry,
    ) -> Envelope[Any]:
        """The event announcing the change ``entry`` records."""
        return new_event(
            payload,
            center_id=center_id,
            producer=self.producer,
            correlation_id=correlation_id,
            causation_id=causation_id,
            occurred_at=entry.occurred_at,
            event_id=entry.event_id,
        )

    # ------------------------------------------------------------ tickets

    async def record_served_ticket(
        self, conn: asyncpg.Connection, event: Envelope[TicketServiceCompleted]
    ) -> None:
        """Remember a served ticket and link it to its dossier if the event names one.

        Either order works: a dossier received earlier with this ``ticket_id`` is
        linked by the id it holds; one received later finds the ticket here.
        """
        data = event.data
        await dossiers.upsert_served_ticket(
            conn,
            ServedTicket(
                ticket_id=data.ticket_id,
                center_id=event.center_id,
                number=data.number,
                line_code=data.line_code,
                counter_id=data.counter_id,
                dossier_id=data.dossier_id,
                completed_at=event.occurred_at,
                event_id=event.event_id,
            ),
        )
        if data.dossier_id is not None:
            await dossiers.set_ticket(conn, data.dossier_id, event.center_id, data.ticket_id)


def contact_on_bus(record: DossierRecord) -> SealedContact | None:
    """The dossier's contact as notify may read it: on the bus only with consent, and
    only sealed."""
    if not (record.contact_consent and record.contact_sealed and record.contact_kind):
        return None
    key_id, sealed = record.contact_sealed.split(".", 1)
    return SealedContact(
        kind="email" if record.contact_kind == "email" else "phone",
        sealed=sealed,
        key_id=key_id,
        language="en" if record.contact_language == "en" else "vi",
    )


def _payload(op: Op, record: DossierRecord, facts: dict[str, Any], data: Any) -> Payload:
    """The canonical event of a lifecycle operation (acceptance aside: ``_received``)."""
    if op is Op.ASSIGN:
        return DossierAssigned(**facts, assignee=data.assignee, department=data.department)
    if op is Op.REQUEST_SUPPLEMENT:
        return DossierSupplementRequested(
            **facts,
            reason=data.reason,
            missing_documents=list(data.missing_documents),
            # ``record`` is the dossier before this request: this one makes one more.
            supplement_count=record.supplement_requests + 1,
        )
    if op is Op.PROVIDE_SUPPLEMENT:
        return DossierSupplementProvided(**facts)
    if op is Op.NOTIFY_FINANCIAL_OBLIGATION:
        return DossierFinancialObligationNotified(
            **facts, amount_vnd=data.amount_vnd, purpose=data.purpose, how_to_pay=data.how_to_pay
        )
    if op is Op.FULFIL_FINANCIAL_OBLIGATION:
        return DossierFinancialObligationFulfilled(**facts)
    if op is Op.RESOLVE:
        return DossierResolved(**facts, outcome=data.outcome, reason=data.reason)
    if op is Op.RETURN_RESULT:
        return DossierReturned(**facts)
    if op is Op.WITHDRAW:
        return DossierWithdrawn(**facts, reason=data.reason)
    if op is Op.NOT_ACCEPT:
        # The citizen hears why (notify), as they never had a receipt to hear from.
        return DossierNotAccepted(**facts, reason=data.reason, contact=contact_on_bus(record))
    if op is Op.TRANSFER:
        return DossierTransferred(**facts, to_agency=data.to_agency)
    if op is Op.TRANSFER_BACK:
        return DossierTransferReturned(**facts, from_agency=data.from_agency)
    if op is Op.RETURN_FOR_REWORK:
        return DossierReturnedForRework(**facts, reason=data.reason)
    return DossierStopped(**facts, reason=data.reason)


@dataclass
class Wiring:
    """What every entry point of one intake process shares: the use cases, the read
    side, the views and the limiters. Built once by ``app.create_app``; routes reach it
    through :func:`wiring` and get their transactions from ``runtime.unit_of_work()``."""

    runtime: ServiceRuntime
    settings: IntakeSettings
    intake: Intake
    queries: Queries
    views: Views
    lookups: TokenBuckets
    submissions: TokenBuckets

    def center_name(self, center_id: str) -> str:
        """The center's name as citizens read it: the registry's, else the settings', else
        its id."""
        return self.intake.centers.name(center_id) or self.settings.center_names.get(
            center_id, center_id
        )

    async def receive_once(
        self,
        command: ReceiveDossier,
        *,
        key: str | None,
        fingerprint: bytes | None,
        via: Via,
        now: datetime,
        contact: Contact | None,
    ) -> Receipt:
        """Receive a dossier in one unit of work; a request repeated with the same
        idempotency ``key`` changes nothing and gets the first one's dossier again."""
        async with self.runtime.unit_of_work() as conn:
            replay = None
            if key is not None:
                replay = await replay_of(
                    conn,
                    key,
                    command_type=command.command_type,
                    center_id=command.center_id,
                    dossier_id=dossier_id_for(command),
                    fingerprint=fingerprint,
                )
            if replay is not None:
                return await self.queries.receipt_again(conn, replay)
            return await self.intake.receive(conn, command, via=via, now=now, contact=contact)


async def wiring(request: Request) -> Wiring:
    """FastAPI dependency: this process's :class:`Wiring` (async: no thread hop)."""
    found: Wiring = request.app.state.intake
    return found
