"""Browser pages of appointments and remote tickets, through the same web kit as the
kiosk: plain forms that work without scripts.

* ``/book``: a citizen's phone lists the free slots of a line and books one (the
  confirmation page shows the code and its QR code, for the kiosk).
* ``/kiosk/check-in``: the kiosk takes a booking code and prints the ticket.
* ``/remote``: a number for today from a phone; ``/door`` (the QR code on the center's
  door) and ``/kiosk/arrival`` confirm the citizen is here.

Refusals are shown on the page in the citizen's language, from the same catalog keys
as the API's (``appointment_error.*``).
"""

from __future__ import annotations

import contextlib
import secrets
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from motcua.services.queue.booking import Bookings
from motcua.services.queue.directory import Center
from motcua.services.queue.errors import Conflict, Localized, NotFound
from motcua.services.queue.labels import qr_svg
from motcua.services.queue.pages import (
    PAGES,
    _center,
    _helpers,
    _kiosk_page,
    _queries,
    _settings,
    guarded,
    whole_page,
)
from motcua.services.queue.remote_tickets import RemoteTickets
from motcua.services.queue.schemas import ContactIn
from motcua.services.queue.usecases import ContactInput
from motcua.shared.client_address import client_key
from motcua.shared.web import language, page_url, read_form

router = APIRouter(tags=["pages"], include_in_schema=False)


def _bookings(request: Request) -> Bookings:
    svc: Bookings = request.app.state.bookings
    return svc


def _remote(request: Request) -> RemoteTickets:
    svc: RemoteTickets = request.app.state.remote
    return svc


def _refusal(request: Request, exc: Localized) -> str:
    """A refusal as the citizen reads it."""
    return PAGES.t(language(request), f"appointment_error.{exc.key}", **exc.params)


def _contact(form: dict[str, str], lang: str) -> ContactInput | None:
    """The phone typed on the form, with consent; ``None`` when none was typed."""
    value = form.get("phone", "").strip()
    if not value:
        return None
    consent = form.get("consent") == "yes"
    return ContactIn(kind="phone", value=value, consent=consent, language=lang).as_input()


# -------------------------------------------------------------------- booking


@router.get("/book", response_class=HTMLResponse)
@whole_page
async def book_page(request: Request) -> Response:
    center = _center(request)
    return await _book_page(request, center, request.query_params.get("line"))


async def _book_page(
    request: Request,
    center: Center,
    line_code: str | None,
    *,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    days: dict[date, list[Any]] = {}
    if line_code is not None:
        center.line(line_code)
        slots = await guarded(
            lambda: _bookings(request).free_slots(center.center_id, line_code, None)
        )
        for slot in slots[:200]:
            days.setdefault(center.local_day(slot.start), []).append(slot)
    return PAGES.render(
        request,
        "book.html",
        status=status,
        request_key=secrets.token_urlsafe(18),
        line_code=line_code,
        days=days,
        error=error,
        form=form or {},
        **_helpers(request, center),
    )


@router.post("/book", response_class=HTMLResponse)
@whole_page
async def book_submit(request: Request) -> Response:
    form = {k: v.strip() for k, v in (await read_form(request)).items()}
    center = _center(request, form.get("center"))
    line_code = form.get("line_code") or None
    lang = language(request)

    async def again(status: int, message: str) -> Response:
        return await _book_page(request, center, line_code, status=status, error=message, form=form)

    try:
        contact = _contact(form, lang)
    except ValidationError:
        return await again(422, PAGES.t(lang, "booking.phone_or_consent"))
    try:
        slot_start = datetime.fromisoformat(form.get("slot_start", ""))
    except ValueError:
        return await again(422, PAGES.t(lang, "booking.choose_slot"))
    try:
        booked = await guarded(
            lambda: _bookings(request).book(
                center.center_id,
                line_code or "",
                slot_start,
                contact=contact,
                idempotency_key=f"page:{form['request_key']}"[:64]
                if form.get("request_key")
                else None,
            )
        )
    except Localized as exc:
        return await again(409 if isinstance(exc, Conflict) else 422, _refusal(request, exc))
    code = booked.appointment.code
    return RedirectResponse(
        page_url(f"/booking/{code}", lang, center=center.center_id), status_code=303
    )


@router.get("/booking/{code}", response_class=HTMLResponse)
@whole_page
async def booking_page(request: Request, code: str) -> Response:
    center = _center(request)
    try:
        booking = await guarded(lambda: _bookings(request).by_code(center.center_id, code))
    except Localized:
        raise NotFound("booking", code[:16]) from None
    lang = language(request)
    return PAGES.render(
        request,
        "booking.html",
        booking=booking,
        qr=qr_svg(booking.code, PAGES.t(lang, "booking.qr_title")),
        **_helpers(request, center),
    )


@router.post("/booking/{code}/cancel", response_class=HTMLResponse)
@whole_page
async def booking_cancel(request: Request, code: str) -> Response:
    form = await read_form(request)
    center = _center(request, form.get("center"))
    # Cancelled already, or gone: the booking page then says what it is now.
    with contextlib.suppress(Localized):
        await guarded(lambda: _bookings(request).cancel(center.center_id, code))
    lang = language(request)
    return RedirectResponse(
        page_url(f"/booking/{code}", lang, center=center.center_id), status_code=303
    )


# ---------------------------------------------------------------------- kiosk


async def _kiosk_refused(request: Request, center: Center, exc: Localized) -> Response:
    """The kiosk again, saying why the code was refused (422 or 409, as the API would)."""
    board = await guarded(lambda: _queries(request).board(center.center_id))
    status = 409 if isinstance(exc, Conflict) else 404 if isinstance(exc, NotFound) else 422
    errors = {"code": _refusal(request, exc)}
    return _kiosk_page(request, center, board, status=status, errors=errors)


@router.post("/kiosk/check-in", response_class=HTMLResponse)
@whole_page
async def kiosk_check_in(request: Request) -> Response:
    """A booking code at the kiosk: its ticket, placed in the queue at the slot."""
    form = {k: v.strip() for k, v in (await read_form(request)).items()}
    center = _center(request, form.get("center"))
    try:
        _, view = await guarded(
            lambda: _bookings(request).check_in(center.center_id, form.get("booking_code", ""))
        )
    except Localized as exc:
        return await _kiosk_refused(request, center, exc)
    lang = language(request)
    target = page_url(f"/ticket/{view.ticket.lookup_code}", lang, kiosk="1")
    return RedirectResponse(target, status_code=303)


@router.post("/kiosk/arrival", response_class=HTMLResponse)
@whole_page
async def kiosk_arrival(request: Request) -> Response:
    """A remote ticket's code at the kiosk: the citizen is here (the kiosk is at the
    center, so it vouches with today's door code itself)."""
    form = {k: v.strip() for k, v in (await read_form(request)).items()}
    center = _center(request, form.get("center"))
    remote = _remote(request)
    try:
        view = await guarded(
            lambda: remote.confirm_arrival(
                center.center_id, form.get("ticket_code", ""), remote.door_code(center.center_id)
            )
        )
    except Localized as exc:
        return await _kiosk_refused(request, center, exc)
    lang = language(request)
    target = page_url(f"/ticket/{view.ticket.lookup_code}", lang, kiosk="1")
    return RedirectResponse(target, status_code=303)


# --------------------------------------------------------------------- remote


@router.get("/remote", response_class=HTMLResponse)
@whole_page
async def remote_page(request: Request) -> Response:
    return _remote_page(request, _center(request))


def _remote_page(
    request: Request,
    center: Center,
    *,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    return PAGES.render(
        request,
        "remote.html",
        status=status,
        request_key=secrets.token_urlsafe(18),
        error=error,
        form=form or {},
        **_helpers(request, center),
    )


@router.post("/remote", response_class=HTMLResponse)
@whole_page
async def remote_submit(request: Request) -> Response:
    form = {k: v.strip() for k, v in (await read_form(request)).items()}
    center = _center(request, form.get("center"))
    lang = language(request)
    try:
        contact = _contact(form, lang)
    except ValidationError:
        contact = None
    if contact is None:
        message = PAGES.t(lang, "booking.phone_or_consent")
        return _remote_page(request, center, status=422, error=message, form=form)
    line = form.get("line_code", "")
    center.line(line)
    try:
        view = await guarded(
            lambda: _remote(request).take(
                center.center_id,
                line,
                contact,
                client_key(request, _settings(request).trusted_proxies),
                idempotency_key=f"remote:{form['request_key']}"[:64]
                if form.get("request_key")
                else None,
            )
        )
    except Localized as exc:
        status = 429 if exc.retry_after else 422
        return _remote_page(request, center, status=status, error=_refusal(request, exc), form=form)
    return RedirectResponse(page_url(f"/ticket/{view.ticket.lookup_code}", lang), status_code=303)


@router.get("/door", response_class=HTMLResponse)
@whole_page
async def door_page(request: Request) -> Response:
    """The page the QR code on the center's door opens: the citizen says which ticket."""
    center = _center(request)
    return PAGES.render(
        request,
        "door.html",
        door=request.query_params.get("code", "")[:16],
        error=None,
        ticket_code=request.query_params.get("ticket", "")[:16],
        **_helpers(request, center),
    )


@router.post("/door", response_class=HTMLResponse)
@whole_page
async def door_submit(request: Request) -> Response:
    form = {k: v.strip() for k, v in (await read_form(request)).items()}
    center = _center(request, form.get("center"))
    try:
        view = await guarded(
            lambda: _remote(request).confirm_arrival(
                center.center_id, form.get("ticket_code", ""), form.get("door", "")
            )
        )
    except Localized as exc:
        return PAGES.render(
            request,
            "door.html",
            status=422,
            door=form.get("door", "")[:16],
            ticket_code=form.get("ticket_code", "")[:16],
            error=_refusal(request, exc),
            **_helpers(request, center),
        )
    lang = language(request)
    return RedirectResponse(page_url(f"/ticket/{view.ticket.lookup_code}", lang), status_code=303)
