"""Public HTTP API of intake: online submission and citizen lookup (no token).

* Online submission takes a contact, an explicit consent and an idempotency key
  (``Idempotency-Key`` header or ``idempotency_key`` field): the same key and
  body return the same dossier, code and secret; the same key with another body
  is a 409.
* Lookup takes a code and a secret in the body (never the URL, which proxies
  log). A wrong secret and an unknown code give the same 404 with the same body.
* Both are rate-limited per client address (429 with ``Retry-After``); see
  ``ratelimit`` for why the buckets live in process.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse

from motcua.services.intake.api import REPLAYED, IdempotencyKey, receipt_html
from motcua.services.intake.domain import format_secret
from motcua.services.intake.idempotency import request_hash
from motcua.services.intake.queries import Receipt
from motcua.services.intake.schemas.requests import LookupIn, OnlineSubmissionIn
from motcua.services.intake.schemas.responses import LookupOut, OnlineReceiptOut
from motcua.services.intake.usecases import Wiring
from motcua.shared.client_address import client_key
from motcua.shared.events.commands import ReceiveData, ReceiveDossier
from motcua.shared.events.envelope import utcnow
from motcua.shared.http_errors import refusals
from motcua.shared.ratelimit import TokenBuckets
from motcua.shared.runtime import from_app_state

router = APIRouter(prefix="/v1/public", tags=["public"])

Deps = Annotated[Wiring, from_app_state("intake")]
NO_MATCH = "no dossier matches this code and secret"
ONLINE_CLERK = "online"


def client_address(w: Wiring, request: Request) -> str:
    """The key rate limits apply to: the client as our own proxies saw it (never what the
    client wrote into X-Forwarded-For), an IPv6 client by its /64."""
    return client_key(request, w.settings.trusted_proxies)


def _limit(w: Wiring, request: Request, buckets: TokenBuckets, what: str) -> None:
    retry_after = buckets.retry_after(client_address(w, request))
    if retry_after is not None:
        raise HTTPException(
            429, f"too many {what}; retry later", headers={"Retry-After": str(retry_after)}
        )


@router.post(
    "/dossiers",
    status_code=201,
    responses={
        200: {"model": OnlineReceiptOut, "description": "Replayed: the first request's dossier"},
        **refusals(429),
    },
)
async def submit_online(
    body: OnlineSubmissionIn,
    request: Request,
    response: Response,
    w: Deps,
    idempotency_key: IdempotencyKey = None,
) -> OnlineReceiptOut:
    """File a dossier online. Answers with its code, lookup secret and appointment date.

    The idempotency key is required, as the header or the body's ``idempotency_key``:
    the same key and body return the same dossier; the same key with another body is a
    409."""
    _limit(w, request, w.submissions, "submissions")
    if idempotency_key and body.idempotency_key and idempotency_key != body.idempotency_key:
        raise HTTPException(
            422,
            {
                "error": "invalid request",
                "details": [{"field": "idempotency_key", "error": "differs from the header"}],
            },
        )
    key = idempotency_key or body.idempotency_key
    if not key:
        raise HTTPException(
            422,
            {
                "error": "invalid request",
                "details": [
                    {"field": "Idempotency-Key", "error": "an idempotency key is required"}
                ],
            },
        )
    now = utcnow()
    command = ReceiveDossier(
        command_id=uuid.uuid4(),
        center_id=body.center_id,
        issued_by=ONLINE_CLERK,
        issued_at=now,
        data=ReceiveData(
            procedure_code=body.procedure_code,
            channel="online",
            applicant_name=body.applicant_name,
            documents_received=body.documents,
            note=body.note,
        ),
    )
    fingerprint = request_hash(body.model_dump(mode="json", exclude={"idempotency_key"}))
    receipt = await w.receive_once(
        command,
        key=f"online:{body.center_id}:{key}",
        fingerprint=fingerprint,
        via="online",
        now=now,
        contact=body.contact.contact(body.consent_notifications),
    )
    if receipt.replayed:
        response.status_code = 200
        response.headers[REPLAYED] = "true"
    return w.views.online(receipt.dossier, receipt.secret, w.settings.lookup_url)


async def _find(w: Wiring, body: LookupIn) -> Receipt:
    async with w.runtime.unit_of_work() as conn:
        found = await w.queries.lookup(conn, body.code, body.secret)
    if found is None:
        raise HTTPException(404, NO_MATCH)
    record, history = found
    return Receipt(record, format_secret(body.secret), history)


@router.post("/lookup", responses=refusals(429))
async def lookup(body: LookupIn, request: Request, w: Deps) -> LookupOut:
    """Status timeline, current step and appointment date of a dossier, by code and
    secret. Shows no personal data."""
    _limit(w, request, w.lookups, "lookups")
    found = await _find(w, body)
    return w.views.lookup(found.dossier, found.history)


@router.post("/receipt", response_class=HTMLResponse, responses=refusals(429, json_route=False))
async def public_receipt(body: LookupIn, request: Request, w: Deps) -> str:
    """The printable receipt, for a citizen who filed online (without personal data)."""
    _limit(w, request, w.lookups, "lookups")
    found = await _find(w, body)
    return receipt_html(w, found, public=True)
