"""Clerk HTTP API of intake: a bearer token scoped to one center, whose role holds the
route's operation in ``motcua.shared.policy`` (deciding a dossier is an officer's, not a clerk's).

Routes are thin: build the command from the request and the token, run the use
case in one transaction, shape the answer. Errors of the use cases map to
statuses in ``app.py`` (409 for a move the transition table forbids, naming the
allowed ones). An optional ``Idempotency-Key`` makes any write safe to retry.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, NamedTuple

from fastapi import APIRouter, HTTPException, Query, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from motcua.services.intake.catalog import Procedure
from motcua.services.intake.idempotency import replay_of
from motcua.services.intake.queries import Receipt
from motcua.services.intake.receipt import ReceiptPage, render_receipt
from motcua.services.intake.schemas.requests import (
    AcceptIn,
    AssignIn,
    CounterReceiptIn,
    FulfilFinancialObligationIn,
    NotAcceptIn,
    NotifyFinancialObligationIn,
    ProvideSupplementIn,
    RequestSupplementIn,
    ResolveIn,
    ReturnForReworkIn,
    ReturnResultIn,
    StopIn,
    TransferBackIn,
    TransferIn,
    WithdrawIn,
)
from motcua.services.intake.schemas.responses import (
    DossierOut,
    DossierSummary,
    ReceiptOut,
    StatusOut,
)
from motcua.services.intake.usecases import Wiring
from motcua.shared.auth import Principal
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
from motcua.shared.events.envelope import utcnow
from motcua.shared.idempotency_key import idempotency_key
from motcua.shared.policy import Operation, allowed
from motcua.shared.runtime import from_app_state

router = APIRouter(prefix="/v1")

Deps = Annotated[Wiring, from_app_state("intake")]
IdempotencyKey = Annotated[
    str | None,
    idempotency_key(
        8,
        128,
        "Makes a write safe to retry: a repeat with the same key changes nothing and answers "
        "with the dossier the first request produced",
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
Acceptor = Annotated[Principal, allowed(Operation.DOSSIER_ACCEPT)]
Transferrer = Annotated[Principal, allowed(Operation.DOSSIER_TRANSFER)]
Reviewer = Annotated[Principal, allowed(Operation.DOSSIER_REWORK)]


# ---------------------------------------------------------- reference data


@router.get("/procedures", tags=["catalog"])
async def list_procedures(w: Deps) -> list[Procedure]:
    """The procedure catalog: names, service line, time limit, documents, fee, as the
    registry last configured each (retired ones with ``active`` false)."""
    return w.intake.current_catalog()


@router.get("/procedures/{code}", tags=["catalog"])
async def get_procedure(code: str, w: Deps) -> Procedure:
    found = w.intake.current_procedure(code)
    if found is None:
        raise HTTPException(404, f"unknown procedure {code!r}")
    return found


@router.get("/statuses", tags=["catalog"])
async def list_statuses(w: Deps) -> list[StatusOut]:
    """The national 10-step status list."""
    return [StatusOut.of(s) for s in w.intake.book.statuses.all()]


# ------------------------------------------------------------------ receive


@router.post(
    "/dossiers",
    status_code=201,
    tags=["clerk"],
    responses={200: {"model": ReceiptOut, "description": "Replayed: the first request's dossier"}},
)
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
    receipt = await w.receive_once(
        command,
        key=f"http:{principal.center_id}:{idempotency_key}" if idempotency_key else None,
        fingerprint=None,
        via="http",
        now=now,
        contact=contact,
    )
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
    status: Annotated[int | None, Query(ge=1, le=12)] = None,
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
            center_name=w.center_name(d.center_id),
            lookup_url=w.settings.lookup_url,
            tz=w.intake.calendar.tz,
            applicant_name=None if public else d.applicant_name,
            awaiting_acceptance=d.status == w.intake.lifecycle.submitted,
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


class _Move(NamedTuple):
    """One lifecycle move of the clerk API."""

    path: str
    name: str  # the route's name: its OpenAPI operation id and summary
    caller: Any  # Annotated[Principal, allowed(the operation)]
    body: type[BaseModel]
    command: type[Command[Any]]
    doc: str


# The moves differ only in their path, the operation the caller must hold, the
# body and the command it becomes: one table, one route made from each row, each with
# its own name and docstring, so OpenAPI reads as if every route were written by hand.
_MOVES = (
    _Move("assign", "assign", Assigner, AssignIn, AssignDossier,
          "Assign to an officer or department (status 3, processing)."),
    _Move("request-supplement", "request_supplement", Supplementer, RequestSupplementIn,
          RequestSupplement,
          "Ask for missing documents, with a reason (status 5; the legal clock pauses)."),
    _Move("provide-supplement", "provide_supplement", Supplementer, ProvideSupplementIn,
          ProvideSupplement,
          "The citizen supplied what was missing (status 3; the clock resumes)."),
    _Move("notify-financial-obligation", "notify_financial_obligation", Cashier,
          NotifyFinancialObligationIn, NotifyFinancialObligation,
          "A fee or tax is due (status 6; the clock pauses)."),
    _Move("fulfil-financial-obligation", "fulfil_financial_obligation", Cashier,
          FulfilFinancialObligationIn, FulfilFinancialObligation,
          "The fee or tax was paid (status 3; the clock resumes)."),
    _Move("resolve", "resolve", Resolver, ResolveIn, ResolveDossier,
          "Decide: approved, or refused with a reason (status 9)."),
    _Move("return", "return_result", Returner, ReturnResultIn, ReturnResult,
          "Hand the result to the citizen (status 10)."),
    _Move("withdraw", "withdraw", Withdrawer, WithdrawIn, WithdrawDossier,
          "The citizen withdraws the dossier (status 12, portal 7)."),
    _Move("stop", "stop", Stopper, StopIn, StopDossier,
          "Stop processing, or refuse to process, with a reason (status 8)."),
    _Move("accept", "accept", Acceptor, AcceptIn, AcceptDossier,
          "Accept a dossier filed online (status 2, portal 2); the legal clock starts now "
          "and the appointment date is set from now."),
    _Move("not-accept", "not_accept", Acceptor, NotAcceptIn, NotAcceptDossier,
          "Refuse to accept a dossier filed online, with a reason (status 11, portal 3)."),
    _Move("transfer", "transfer", Transferrer, TransferIn, TransferDossier,
          "Send to another agency, liên thông (status 4, portal 4); the clock keeps running."),
    _Move("transfer-back", "transfer_back", Transferrer, TransferBackIn, TransferBackDossier,
          "The other agency sent the dossier back (status 3, portal 4)."),
    _Move("return-for-rework", "return_for_rework", Reviewer, ReturnForReworkIn,
          ReturnForRework,
          "Send the officer's work back to be done again, with a reason (status 7, portal 4)."),
)  # fmt: skip


def _move_route(move: _Move) -> Callable[..., Awaitable[DossierOut]]:
    """The route of one move. Its signature is built from the row's types: FastAPI reads
    a route's parameters from its signature, and an annotation naming a local variable
    (``body: move.body``) is a string it could not resolve."""

    async def route(
        dossier_id: uuid.UUID,
        body: Any,
        principal: Principal,
        w: Wiring,
        response: Response,
        idempotency_key: str | None = None,
    ) -> DossierOut:
        return await _act(w, principal, dossier_id, move.command, body, response, idempotency_key)

    param = inspect.Parameter
    keyword = param.POSITIONAL_OR_KEYWORD
    route.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            param("dossier_id", keyword, annotation=uuid.UUID),
            param("body", keyword, annotation=move.body),
            param("principal", keyword, annotation=move.caller),
            param("w", keyword, annotation=Deps),
            param("response", keyword, annotation=Response),
            param("idempotency_key", keyword, annotation=IdempotencyKey, default=None),
        ],
        return_annotation=DossierOut,
    )
    route.__name__ = route.__qualname__ = move.name
    route.__doc__ = move.doc
    return route


for _move in _MOVES:
    router.post(f"/dossiers/{{dossier_id}}/{_move.path}", tags=["clerk"])(_move_route(_move))
