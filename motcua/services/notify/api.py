"""HTTP API of the notify service: the delivery log for staff, opt-out, replies, ratings.

Routes are thin: validate, run the use case inside one transaction, map domain
errors to status codes. The citizen-facing HTML pages are in ``pages``.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Header, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from motcua.services.notify.errors import Conflict, Invalid, NotFound, NotifyError
from motcua.services.notify.repository import delivery_log as deliveries
from motcua.services.notify.usecases import Notifier
from motcua.shared.auth import Principal
from motcua.shared.policy import Operation, allowed
from motcua.shared.runtime import ServiceRuntime

router = APIRouter(tags=["notify"])

Status = Literal["pending", "sending", "sent", "failed", "suppressed"]


def runtime_of(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


def notifier_of(request: Request) -> Notifier:
    notifier: Notifier = request.app.state.notifier
    return notifier


def http_error(exc: NotifyError) -> HTTPException:
    if isinstance(exc, Invalid):
        details = [{"field": exc.field, "error": str(exc)}]
        return HTTPException(422, {"error": "invalid request", "details": details})
    if isinstance(exc, NotFound):
        return HTTPException(404, str(exc))
    if isinstance(exc, Conflict):
        return HTTPException(409, str(exc))
    return HTTPException(400, str(exc))


@asynccontextmanager
async def unit_of_work(request: Request) -> AsyncIterator[asyncpg.Connection]:
    """One connection, one transaction; domain errors leave as HTTP errors."""
    try:
        async with runtime_of(request).pool.acquire() as conn, conn.transaction():
            yield conn
    except NotifyError as exc:
        raise http_error(exc) from None


# ---------------------------------------------------------------- delivery log


class AttemptOut(BaseModel):
    attempt: int
    channel: str
    outcome: str
    error: str | None
    segments: int | None
    started_at: datetime
    finished_at: datetime


class DeliveryOut(BaseModel):
    """One intended message. The recipient is only ever its opaque reference."""

    id: uuid.UUID
    source_event_id: uuid.UUID
    center_id: str
    kind: str
    channel: str
    recipient_ref: str
    language: str
    title: str
    body: str = Field(
        description="The message as composed, with values only the citizen may read (the "
        f"dossier's lookup secret) masked as {deliveries.MASK}"
    )
    segments: int | None
    status: Status
    attempts: int
    due_at: datetime
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None
    log: list[AttemptOut] | None = None


DeliveryReader = Annotated[Principal, allowed(Operation.DELIVERIES_READ)]


@router.get("/deliveries", response_model=list[DeliveryOut])
async def list_deliveries(
    request: Request,
    principal: DeliveryReader,
    center_id: Annotated[str, Query(min_length=1, max_length=64)],
    source_event_id: uuid.UUID | None = None,
    status: Status | None = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """The delivery log of a center, newest first (staff of that center only)."""
    principal.require_center(center_id)
    async with unit_of_work(request) as conn:
        return await deliveries.list_deliveries(
            conn,
            center_id,
            keys=notifier_of(request).contact_keys,
            rest=notifier_of(request).rest_keys,
            source_event_id=source_event_id,
            status=status,
            kind=kind,
            limit=limit,
        )


@router.get("/deliveries/{delivery_id}", response_model=DeliveryOut)
async def get_delivery(
    request: Request, principal: DeliveryReader, delivery_id: uuid.UUID
) -> dict[str, Any]:
    """One delivery with every attempt: the audit trail of one message."""
    async with unit_of_work(request) as conn:
        found = await deliveries.get_delivery(
            conn,
            delivery_id,
            keys=notifier_of(request).contact_keys,
            rest=notifier_of(request).rest_keys,
        )
        if found is None:
            raise NotFound(f"unknown delivery {delivery_id}")
        principal.require_center(found["center_id"])
        return found


# ------------------------------------------------------------ citizens' requests


class OptOutIn(BaseModel):
    token: str = Field(min_length=2, max_length=64, description="From the link in a message")


class OptOutOut(BaseModel):
    opted_out: bool
    already: bool = False


@router.post("/optout", response_model=OptOutOut)
async def opt_out(request: Request, body: OptOutIn) -> OptOutOut:
    """Stop every message to the recipient a link was sent to, at once."""
    async with unit_of_work(request) as conn:
        new = await notifier_of(request).opt_out_by_link(conn, body.token)
    return OptOutOut(opted_out=True, already=not new)


class InboundSms(BaseModel):
    """A reply the SMS gateway forwards."""

    model_config = ConfigDict(populate_by_name=True)

    sender: str = Field(alias="from", min_length=3, max_length=32)
    text: str = Field(max_length=1600)


@router.post("/inbound/sms", response_model=OptOutOut)
async def inbound_sms(
    request: Request,
    body: InboundSms,
    x_inbound_secret: Annotated[str, Header()] = "",
) -> OptOutOut:
    """Replies from citizens: "TU CHOI" / "STOP" opts the sending number out."""
    expected = notifier_of(request).settings.inbound_secret.get_secret_value()
    if not hmac.compare_digest(x_inbound_secret.encode(), expected.encode()):
        raise HTTPException(401, "missing or wrong X-Inbound-Secret")
    async with unit_of_work(request) as conn:
        stopped = await notifier_of(request).opt_out_by_reply(conn, body.sender, body.text)
    return OptOutOut(opted_out=stopped)


class FeedbackIn(BaseModel):
    token: str = Field(min_length=2, max_length=64, description="From the rating link")
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)


class FeedbackOut(BaseModel):
    dossier_id: uuid.UUID
    rating: int
    event_id: uuid.UUID


@router.post("/feedback", response_model=FeedbackOut, status_code=201)
async def submit_feedback(request: Request, body: FeedbackIn) -> FeedbackOut:
    """A citizen's rating of a closed dossier; publishes ``feedback.received``."""
    async with unit_of_work(request) as conn:
        event = await notifier_of(request).submit_feedback(
            conn, body.token, body.rating, body.comment
        )
    return FeedbackOut(
        dossier_id=event.data.dossier_id, rating=body.rating, event_id=event.event_id
    )
