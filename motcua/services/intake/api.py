"""Clerk HTTP API of intake: a bearer token scoped to one center, whose role holds the
route's operation in ``motcua.shared.policy`` (deciding a dossier is an officer's, not a clerk's).

Routes are thin: build the command from the request and the token, run the use
case in one transaction, shape the answer. Errors of the use cases map to
statuses in ``app.py`` (409 for a move the transition table forbids, naming the
allowed ones). An optional ``Idempotency-Key`` makes any write safe to retry.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Response
from fastapi.responses import HTMLResponse

from motcua.services.intake.catalog import Procedure
from motcua.services.intake.idempotency import replay_of
from motcua.services.intake.queries import Receipt
from motcua.services.intake.receipt import ReceiptPage, render_receipt
from motcua.services.intake.schemas.requests import (
    AssignIn,
    CounterReceiptIn,
    FulfilFinancialObligationIn,
    NotifyFinancialObligationIn,
    ProvideSupplementIn,
    RequestSupplementIn,
    ResolveIn,
    ReturnResultIn,
    StopIn,
    WithdrawIn,
)
from motcua.services.intake.schemas.responses import (
    DossierOut,
    DossierSummary,
    ReceiptOut,
    StatusOut,
)
from motcua.services.intake.usecases import Wiring, dossier_id_for, wiring
from motcua.shared.auth import Principal
from motcua.shared.events.commands import (
    AssignDossier,
    Command,
    FulfilFinancialObligation,
    NotifyFinancialObligation,
    ProvideSupplement,
    ReceiveDossier,
    RequestSupplement,
    ResolveDossier,
    ReturnResult,
    StopDossier,
    WithdrawDossier,
)
from motcua.shared.events.envelope import utcnow
from motcua.shared.policy import Operation, allowed

router = APIRouter(prefix="/v1")

Deps = Annotated[Wiring, Depends(wiring)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=128,
        description="Makes a write safe to retry: a repeat with the same key changes nothing "
        "and answers with the dossier the first request produced",
    ),
]
REPLAYED = "Idempotent-Replayed"

# Each route names its operation; ``motcua.shared.policy`` alone says which roles hold it.
Receiver = Annotated[Principal, allowed(Operation.DOSSIER_RECEIVE)]
Reader = Annotated[Principal, allowed(Operation.DOSSIER_READ)]
Assigner = Annotated[Principal, allowed(Operation.DOSSIER_ASSIGN)]
Supplementer = Annotated[Principal, allowed(Operation.DOSSIER_SUPPLEMENT)]
Cashier = Annotated[Principal, allowed(Operation.DOSSIER_FINANCIAL)]
Withdrawer = Annotated[Principal, allowed(Operation.DOSSIER_WITHDRAW)]
Resolver = Annotated[Principal, allowed(Operation.DOSSIER_RESOLVE)]
Stopper = Annotated[Principal, allowed(Operation.DOSSIER_STOP)]
Returner = Annotated[Principal, allowed(Operation.DOSSIER_RETURN)]


# ---------------------------------------------------------- reference data


@router.get("/procedures", tags=["catalog"])
async def list_procedures(w: Deps) -> list[Procedure]:
    """The procedure catalog: names, service line, time limit, documents, fee."""
    return w.intake.catalog.procedures


@router.get("/procedures/{code}", tags=["catalog"])
async def get_procedure(code: str, w: Deps) -> Procedure:
    found = w.intake.catalog.get(code)
    if found is None:
        raise HTTPException(404, f"unknown procedure {code!r}")
    return found


@router.get("/statuses", tags=["catalog"])
async def list_statuses(w: Deps) -> list[StatusOut]:
    """The national 10-step status list."""
    return [StatusOut.of(s) for s in w.intake.book.statuses.all()]


# ------------------------------------------------------------------ receive


@router.post("/dossiers", status_code=201, tags=["clerk"])
async def receive(
    body: CounterReceiptIn,
    principal: Receiver,
    w: Deps,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> ReceiptOut:
    """Receive a dossier at the counter (from a queue ticket, if ``ticket_id`` is given).

    Answers with the dossier, its lookup secret and the receipt's address."""
    now = utcnow()
    command = ReceiveDossier(
        command_id=uuid.uuid4(),
        center_id=principal.center_id,
        issued_by=principal.subject,
        issued_at=body.received_at or now,
        data=body.command_data(),
    )
    w.intake.authorize(principal, command, now=now)  # the same check as a bus command's
    contact = body.contact.contact(body.consent_notifications) if body.contact else None
    async with w.runtime.unit_of_work() as conn:
        replay = None
        if idempotency_key:
            replay = await replay_of(
                conn,
                f"http:{principal.center_id}:{idempotency_key}",
                command_type=command.command_type,
                center_id=principal.center_id,
                dossier_id=dossier_id_for(command),
                fingerprint=None,
            )
        if replay is not None:
            receipt = await w.queries.receipt_again(conn, replay)
        else:
            receipt = await w.intake.receive(conn, command, via="http", now=now, contact=contact)
    if receipt.replayed:
        response.status_code = 200
        response.headers[REPLAYED] = "true"
    return _receipt_out(w, receipt)


def _receipt_out(w: Wiring, receipt: Receipt) -> ReceiptOut:
    d = receipt.dossier
    return ReceiptOut(
        dossier=w.views.dossier(d, receipt.history, None),
        secret=receipt.secret,
        receipt_url=f"/v1/dossiers/{d.id}/receipt",
    )


# ------------------------------------------------------------------- reading


@router.get("/dossiers", tags=["clerk"])
async def list_dossiers(
    principal: Reader,
    w: Deps,
    status: Annotated[int | None, Query(ge=1, le=10)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DossierSummary]:
    """The center's dossiers, newest first, optionally in one status."""
    async with w.runtime.unit_of_work() as conn:
        rows = await w.queries.list_dossiers(conn, principal.center_id, status=status, limit=limit)
    return [DossierSummary.of(r) for r in rows]


@router.get("/dossiers/{dossier_id}", tags=["clerk"])
async def get_dossier(dossier_id: uuid.UUID, principal: Reader, w: Deps) -> DossierOut:
    async with w.runtime.unit_of_work() as conn:
        found = await w.queries.details(conn, dossier_id, principal.center_id)
    return w.views.dossier(found.dossier, found.history, found.ticket)


@router.get("/dossiers/{dossier_id}/receipt", response_class=HTMLResponse, tags=["clerk"])
async def print_receipt(dossier_id: uuid.UUID, principal: Reader, w: Deps) -> HTMLResponse:
    """The printable receipt (phiếu tiếp nhận và hẹn trả kết quả), secret included."""
    async with w.runtime.unit_of_work() as conn:
        await w.queries.details(conn, dossier_id, principal.center_id)  # center check
        receipt = await w.queries.receipt_again(conn, dossier_id)
    # It carries the lookup secret: no cache may keep a copy.
    return HTMLResponse(
        receipt_html(w, receipt, public=False), headers={"Cache-Control": "no-store"}
    )


def receipt_html(w: Wiring, receipt: Receipt, *, public: bool) -> str:
    d = receipt.dossier
    return render_receipt(
        ReceiptPage(
            dossier=d,
            secret=receipt.secret,
            center_name=w.settings.center_names.get(d.center_id, d.center_id),
            lookup_url=w.settings.lookup_url,
            tz=w.intake.calendar.tz,
            applicant_name=None if public else d.applicant_name,
        )
    )


# ----------------------------------------------------------------- lifecycle


async def _act(
    w: Wiring,
    principal: Principal,
    dossier_id: uuid.UUID,
    kind: type[Command[Any]],
    body: Any,
    response: Response,
    idempotency_key: str | None,
) -> DossierOut:
    now = utcnow()
    command = kind(
        command_id=uuid.uuid4(),
        command_type=kind.COMMAND_TYPE,
        center_id=principal.center_id,
        issued_by=principal.subject,
        issued_at=body.occurred_at or now,
        dossier_id=dossier_id,
        data=body.model_dump(exclude={"occurred_at"}),
    )
    w.intake.authorize(principal, command, now=now)  # the same check as a bus command's
    async with w.runtime.unit_of_work() as conn:
        replay = None
        if idempotency_key:
            replay = await replay_of(
                conn,
                f"http:{principal.center_id}:{idempotency_key}",
                command_type=command.command_type,
                center_id=principal.center_id,
                dossier_id=dossier_id,
                fingerprint=None,
            )
        if replay is None:
            await w.intake.act(conn, command, via="http", now=now)
        else:
            response.headers[REPLAYED] = "true"
        found = await w.queries.details(conn, dossier_id, principal.center_id)
    return w.views.dossier(found.dossier, found.history, found.ticket)


@router.post("/dossiers/{dossier_id}/assign", tags=["clerk"])
async def assign(
    dossier_id: uuid.UUID,
    body: AssignIn,
    principal: Assigner,
    w: Deps,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> DossierOut:
    """Assign to an officer or department (status 3, processing)."""
    return await _act(w, principal, dossier_id, AssignDossier, body, response, idempotency_key)


@router.post("/dossiers/{dossier_id}/request-supplement", tags=["clerk"])
async def request_supplement(
    dossier_id: uuid.UUID,
    body: RequestSupplementIn,
    principal: Supplementer,
    w: Deps,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> DossierOut:
    """Ask for missing documents, with a reason (status 5; the legal clock pauses)."""
    return await _act(w, principal, dossier_id, RequestSupplement, body, response, idempotency_key)


@router.post("/dossiers/{dossier_id}/provide-supplement", tags=["clerk"])
async def provide_supplement(
    dossier_id: uuid.UUID,
    body: ProvideSupplementIn,
    principal: Supplementer,
    w: Deps,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> DossierOut:
    """The citizen supplied what was missing (status 3; the clock resumes)."""
    return await _act(w, principal, dossier_id, ProvideSupplement, body, response, idempotency_key)


@router.post("/dossiers/{dossier_id}/notify-financial-obligation", tags=["clerk"])
async def notify_financial_obligation(
    dossier_id: uuid.UUID,
    body: NotifyFinancialObligationIn,
    principal: Cashier,
    w: Deps,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> DossierOut:
    """A fee or tax is due (status 6; the clock pauses)."""
    return await _act(
        w, principal, dossier_id, NotifyFinancialObligation, body, response, idempotency_key
    )


@router.post("/dossiers/{dossier_id}/fulfil-financial-obligation", tags=["clerk"])
async def fulfil_financial_obligation(
    dossier_id: uuid.UUID,
    body: FulfilFinancialObligationIn,
    principal: Cashier,
    w: Deps,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> DossierOut:
    """The fee or tax was paid (status 3; the clock resumes)."""
    return await _act(
        w, principal, dossier_id, FulfilFinancialObligation, body, response, idempotency_key
    )


@router.post("/dossiers/{dossier_id}/resolve", tags=["clerk"])
async def resolve(
    dossier_id: uuid.UUID,
    body: ResolveIn,
    principal: Resolver,
    w: Deps,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> DossierOut:
    """Decide: approved, or refused with a reason (status 9)."""
    return await _act(w, principal, dossier_id, ResolveDossier, body, response, idempotency_key)


@router.post("/dossiers/{dossier_id}/return", tags=["clerk"])
async def return_result(
    dossier_id: uuid.UUID,
    body: ReturnResultIn,
    principal: Returner,
    w: Deps,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> DossierOut:
    """Hand the result to the citizen (status 10)."""
    return await _act(w, principal, dossier_id, ReturnResult, body, response, idempotency_key)


@router.post("/dossiers/{dossier_id}/withdraw", tags=["clerk"])
async def withdraw(
    dossier_id: uuid.UUID,
    body: WithdrawIn,
    principal: Withdrawer,
    w: Deps,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> DossierOut:
    """The citizen withdraws the dossier (status 8)."""
    return await _act(w, principal, dossier_id, WithdrawDossier, body, response, idempotency_key)


@router.post("/dossiers/{dossier_id}/stop", tags=["clerk"])
async def stop(
    dossier_id: uuid.UUID,
    body: StopIn,
    principal: Stopper,
    w: Deps,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> DossierOut:
    """Stop processing, or refuse to process, with a reason (status 8)."""
    return await _act(w, principal, dossier_id, StopDossier, body, response, idempotency_key)
