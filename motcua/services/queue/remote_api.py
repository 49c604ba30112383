"""HTTP routes of remote tickets: take a number from a phone, confirm arrival.

Who may call: taking a number and confirming arrival, anyone (a citizen's phone, the
kiosk), like the kiosk's own ticket; the door code that proves arrival, only the
center's staff (it is printed for the door and shown on the kiosk's screen).
Refusals answer in the citizen's language (``booking_api.in_language``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from motcua.services.queue.api import CenterId, Clerk, IdempotencyKey, limit_contact_tickets
from motcua.services.queue.booking_api import in_language
from motcua.services.queue.remote_tickets import RemoteTickets
from motcua.services.queue.schemas import ArrivalIn, DoorCodeOut, RemoteTicketIn, TicketOut
from motcua.shared.client_address import client_key
from motcua.shared.runtime import from_app_state

router = APIRouter()

Service = Annotated[RemoteTickets, from_app_state("remote")]
LookupCode = Annotated[str, Path(min_length=4, max_length=16, pattern="^[A-Za-z0-9]+$")]


@router.post(
    "/centers/{center_id}/remote-tickets",
    tags=["remote"],
    status_code=201,
    summary="Take a number for today from a phone",
    description="Inside the center's opening window for remote tickets, within the day's "
    "limits per phone number and per client address. The ticket waits its turn but is "
    "called only once arrival is confirmed; skipped unconfirmed past the grace time, it "
    "becomes a no-show. No priority: that is claimed at the kiosk. The phone (with "
    "consent) gets 'your turn soon' as the line moves.",
    responses={
        200: {"model": TicketOut, "description": "Replayed request"},
        404: {"description": "Unknown center or line"},
        422: {"description": "Malformed, a priority claimed, or outside the opening window"},
        429: {"description": "The day's limit for this phone or this address; Retry-After"},
    },
)
async def take_remote_ticket(
    center_id: CenterId,
    body: RemoteTicketIn,
    request: Request,
    response: Response,
    svc: Service,
    idempotency_key: IdempotencyKey = None,
) -> TicketOut:
    contact = body.contact.as_input()
    settings = svc.tickets.settings
    async with in_language(request):
        svc.tickets.directory.center(center_id).line(body.line_code)
        limit_contact_tickets(request, settings, contact)
        view = await svc.take(
            center_id,
            body.line_code,
            contact,
            client_key(request, settings.trusted_proxies),
            idempotency_key=idempotency_key,
        )
    if view.replayed:
        response.status_code = 200
    return TicketOut.of(view)


@router.post(
    "/centers/{center_id}/tickets/{lookup_code}/arrival",
    tags=["remote"],
    summary="Confirm a remote ticket's arrival: with today's door code (QR or kiosk)",
    responses={
        404: {"description": "Unknown center, or no such ticket here"},
        409: {"description": "The ticket is no longer waiting"},
        422: {"description": "Not today's door code, or not a remote ticket"},
    },
)
async def confirm_arrival(
    center_id: CenterId, lookup_code: LookupCode, body: ArrivalIn, request: Request, svc: Service
) -> TicketOut:
    async with in_language(request):
        view = await svc.confirm_arrival(center_id, lookup_code, body.door_code)
    return TicketOut.of(view)


@router.get(
    "/centers/{center_id}/door-code",
    tags=["remote"],
    summary="Today's door code, for the QR on the center's door and the kiosk's screen",
    responses={404: {"description": "Unknown center"}},
)
async def door_code(center_id: CenterId, _: Clerk, svc: Service) -> DoorCodeOut:
    return DoorCodeOut(door_code=svc.door_code(center_id))
