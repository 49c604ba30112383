"""HTTP API of the notify service: the delivery log for staff, opt-out, replies, ratings.

Routes are thin: validate, run the use case inside one unit of work; ``app.py``
maps domain errors to status codes. The citizen-facing HTML pages are in ``pages``.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Header, HTTPException, Query, Request

from motcua.services.notify.errors import NotFound, NotifyError
from motcua.services.notify.repository import delivery_log as deliveries
from motcua.services.notify.schemas import (
    DeliveryOut,
    FeedbackIn,
    FeedbackOut,
    InboundSms,
    OptOutIn,
    OptOutOut,
    Status,
)
from motcua.services.notify.usecases import Notifier
from motcua.shared.auth import Principal
from motcua.shared.http_errors import refusals
from motcua.shared.policy import Operation, allowed
from motcua.shared.runtime import Runtime, from_app_state, runtime_of

router = APIRouter(tags=["notify"])


def notifier_of(request: Request) -> Notifier:
    """The notifier, for the pages (which take the request, not dependencies)."""
    notifier: Notifier = request.app.state.notifier
    return notifier


Service = Annotated[Notifier, from_app_state("notifier")]


@asynccontextmanager
async def unit_of_work(request: Request) -> AsyncIterator[asyncpg.Connection]:
    """The runtime's unit of work for the HTML pages, which show a refusal as a page of
    their own: a domain error leaves as the HTTP error the API would answer with."""
    runtime = await runtime_of(request)
    try:
        async with runtime.unit_of_work() as conn:
            yield conn
    except NotifyError as exc:
        raise runtime.http_error(exc) from None


# ---------------------------------------------------------------- delivery log


DeliveryReader = Annotated[Principal, allowed(Operation.DELIVERIES_READ)]


@router.get("/deliveries", response_model=list[DeliveryOut])
async def list_deliveries(
    rt: Runtime,
    n: Service,
    principal: DeliveryReader,
    center_id: Annotated[str, Query(min_length=1, max_length=64)],
    source_event_id: uuid.UUID | None = None,
    status: Status | None = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    dossier_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """The delivery log of a center, newest first (staff of that center only);
    ``dossier_id`` keeps the messages about one dossier."""
    principal.require_center(center_id)
    async with rt.unit_of_work() as conn:
        return await deliveries.list_deliveries(
            conn,
            center_id,
            keys=n.contact_keys,
            rest=n.rest_keys,
            source_event_id=source_event_id,
            status=status,
            kind=kind,
            dossier_id=dossier_id,
            limit=limit,
        )


@router.get("/deliveries/{delivery_id}", response_model=DeliveryOut)
async def get_delivery(
    rt: Runtime, n: Service, principal: DeliveryReader, delivery_id: uuid.UUID
) -> dict[str, Any]:
    """One delivery with every attempt: the audit trail of one message."""
    async with rt.unit_of_work() as conn:
        found = await deliveries.get_delivery(
            conn, delivery_id, keys=n.contact_keys, rest=n.rest_keys
        )
        if found is None:
            raise NotFound(f"unknown delivery {delivery_id}")
        principal.require_center(found["center_id"])
        return found


# ------------------------------------------------------------ citizens' requests


@router.post("/optout", response_model=OptOutOut)
async def opt_out(rt: Runtime, n: Service, body: OptOutIn) -> OptOutOut:
    """Stop every message to the recipient a link was sent to, at once."""
    async with rt.unit_of_work() as conn:
        new = await n.opt_out_by_link(conn, body.token)
    return OptOutOut(opted_out=True, already=not new)


@router.post("/inbound/sms", response_model=OptOutOut, responses=refusals(401))
async def inbound_sms(
    rt: Runtime,
    n: Service,
    body: InboundSms,
    x_inbound_secret: Annotated[str, Header()] = "",
) -> OptOutOut:
    """Replies from citizens: "TU CHOI" / "STOP" opts the sending number out."""
    expected = n.settings.inbound_secret.get_secret_value()
    if not hmac.compare_digest(x_inbound_secret.encode(), expected.encode()):
        raise HTTPException(401, "missing or wrong X-Inbound-Secret")
    async with rt.unit_of_work() as conn:
        stopped = await n.opt_out_by_reply(conn, body.sender, body.text)
    return OptOutOut(opted_out=stopped)


@router.post("/feedback", response_model=FeedbackOut, status_code=201)
async def submit_feedback(rt: Runtime, n: Service, body: FeedbackIn) -> FeedbackOut:
    """A citizen's rating of a closed dossier; publishes ``feedback.received``."""
    async with rt.unit_of_work() as conn:
        event = await n.submit_feedback(conn, body.token, body.rating, body.comment)
    return FeedbackOut(
        dossier_id=event.data.dossier_id, rating=body.rating, event_id=event.event_id
    )
