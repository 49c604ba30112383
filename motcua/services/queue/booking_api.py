"""HTTP routes of appointments: free slots, book, read, reschedule, cancel, check in.

Who may call: anyone, like the kiosk (check-in is the kiosk's own). A citizen books
from a phone with no account; the booking code is the proof of the booking, as a
ticket's lookup code is of the ticket. What a booking sends (a confirmation, a
reminder) is limited per client address and per recipient, as for tickets with a
contact. A refusal answers in the
citizen's language: ``?lang=en``, else an ``Accept-Language`` that prefers English,
else Vietnamese.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from motcua.services.queue.api import CenterId, IdempotencyKey, limit_contact_tickets
from motcua.services.queue.booking import Booked, Bookings
from motcua.services.queue.errors import Localized
from motcua.services.queue.schemas import AppointmentOut, BookIn, RescheduleIn, SlotOut, TicketOut
from motcua.shared.http_errors import Responses
from motcua.shared.runtime import from_app_state
from motcua.shared.web.i18n import Lang, catalog

router = APIRouter()

Service = Annotated[Bookings, from_app_state("bookings")]
BookingCode = Annotated[str, Path(min_length=4, max_length=16, pattern="^[A-Za-z0-9-]+$")]
PACKAGE = "motcua.services.queue"

_REFUSALS: Responses = {
    404: {"description": "Unknown center or line, or a code not given at this center"},
    409: {"description": "The slot or the day is full, or the booking is no longer open"},
    422: {"description": "A slot in the past, on a day off or outside office hours"},
}


def citizen_language(request: Request) -> Lang:
    """The language the citizen reads: ``?lang=``, else the browser's first choice."""
    asked = request.query_params.get("lang")
    if asked in ("vi", "en"):
        return "en" if asked == "en" else "vi"
    preferred = request.headers.get("accept-language", "").split(",")[0].strip().lower()
    return "en" if preferred.startswith("en") else "vi"


@asynccontextmanager
async def in_language(request: Request) -> AsyncIterator[None]:
    """Put a booking refusal in the citizen's language on its way out."""
    try:
        yield
    except Localized as exc:
        lang = citizen_language(request)
        exc.localize(catalog(PACKAGE).text(lang, f"appointment_error.{exc.key}", **exc.params))
        raise


def _answer(booked: Booked, response: Response) -> AppointmentOut:
    """A replayed booking is 200, not the route's 201: nothing new was created."""
    if booked.replayed:
        response.status_code = 200
    return AppointmentOut.of(booked.appointment)


@router.get(
    "/centers/{center_id}/lines/{line_code}/slots",
    tags=["appointments"],
    summary="Free slots of a line, from the working calendar and the counters serving it",
    description="Slots open for booking now: on `day` (a local date) or on every day "
    "booking is open. Full slots and days that reached the line's daily cap are left out.",
    responses={404: {"description": "Unknown center or line"}},
)
async def free_slots(
    center_id: CenterId,
    line_code: Annotated[str, Path(min_length=1, max_length=32)],
    svc: Service,
    day: Annotated[date | None, Query()] = None,
) -> list[SlotOut]:
    return [SlotOut.of(s) for s in await svc.free_slots(center_id, line_code, day)]


@router.post(
    "/centers/{center_id}/appointments",
    tags=["appointments"],
    status_code=201,
    summary="Book a slot",
    description="Answers the booking with its code. With a contact (and consent) the "
    "citizen gets a confirmation and a reminder the working day before. Repeating a "
    "request with the same `Idempotency-Key` returns the same booking (200). Of citizens "
    "racing for the last place, one books and the others get 409.",
    responses={
        **_REFUSALS,
        200: {"model": AppointmentOut, "description": "Replayed request"},
        429: {"description": "Too many bookings with a contact; Retry-After"},
    },
)
async def book(
    center_id: CenterId,
    body: BookIn,
    request: Request,
    response: Response,
    svc: Service,
    idempotency_key: IdempotencyKey = None,
) -> AppointmentOut:
    contact = body.contact.as_input() if body.contact else None
    async with in_language(request):
        svc.directory.center(center_id).line(body.line_code)
        limit_contact_tickets(request, svc.settings, contact)
        booked = await svc.book(
            center_id,
            body.line_code,
            body.slot_start,
            contact=contact,
            idempotency_key=idempotency_key,
        )
    return _answer(booked, response)


@router.get(
    "/centers/{center_id}/appointments/{code}",
    tags=["appointments"],
    summary="A booking by its code",
    responses={404: _REFUSALS[404]},
)
async def get_appointment(
    center_id: CenterId, code: BookingCode, request: Request, svc: Service
) -> AppointmentOut:
    async with in_language(request):
        return AppointmentOut.of(await svc.by_code(center_id, code))


@router.post(
    "/centers/{center_id}/appointments/{code}/reschedule",
    tags=["appointments"],
    summary="Move a booking to another slot of its line (same code)",
    description="The new place is taken before the old one is freed: a full slot leaves "
    "the booking where it was. A retry with the same `Idempotency-Key` changes nothing.",
    responses=_REFUSALS,
)
async def reschedule(
    center_id: CenterId,
    code: BookingCode,
    body: RescheduleIn,
    request: Request,
    response: Response,
    svc: Service,
    idempotency_key: IdempotencyKey = None,
) -> AppointmentOut:
    async with in_language(request):
        booked = await svc.reschedule(
            center_id, code, body.slot_start, idempotency_key=idempotency_key
        )
    return _answer(booked, response)


@router.post(
    "/centers/{center_id}/appointments/{code}/cancel",
    tags=["appointments"],
    summary="Cancel a booking; its place is free again at once",
    description="A retry with the same `Idempotency-Key` changes nothing.",
    responses=_REFUSALS,
)
async def cancel(
    center_id: CenterId,
    code: BookingCode,
    request: Request,
    response: Response,
    svc: Service,
    idempotency_key: IdempotencyKey = None,
) -> AppointmentOut:
    async with in_language(request):
        booked = await svc.cancel(center_id, code, idempotency_key=idempotency_key)
    return _answer(booked, response)


@router.post(
    "/centers/{center_id}/appointments/{code}/check-in",
    tags=["kiosk"],
    status_code=201,
    summary="Check a booking in at the kiosk: a ticket marked as an appointment",
    description="The kiosk takes the booking code (typed, or read from the QR code on the "
    "confirmation) from `check_in_early_minutes` before the slot to "
    "`check_in_late_minutes` after it. The ticket takes its place in the queue at the "
    "slot's start. A code checks in once.",
    responses={
        404: _REFUSALS[404],
        409: {"description": "The code was used already, or its check-in window has closed"},
        422: {"description": "Too early: the check-in window has not opened"},
    },
)
async def check_in(
    center_id: CenterId, code: BookingCode, request: Request, svc: Service
) -> TicketOut:
    async with in_language(request):
        _, view = await svc.check_in(center_id, code)
    return TicketOut.of(view)
