"""Browser pages of the queue: the kiosk, a ticket's status, the display board and the
counter console.

Server-rendered with Jinja2; small plain scripts under ``static/`` keep them live. The board
and the ticket page listen to the display stream and, on each change, fetch their own panel
again as an HTML fragment, so every view of the state has one template. The kiosk is a plain
form that works without scripts. The console is a script over the queue's clerk API and
intake's, with the clerk's token in the tab's ``sessionStorage``: the script must send it as a
bearer header to two origins, which an HttpOnly cookie of this service cannot do.

Vietnamese by default, ``?lang=en`` for English. A database outage renders a plain 503 page
in both languages that reloads itself; an unknown center or ticket, a 404 page.
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from motcua.services.queue.api import limit_contact_tickets
from motcua.services.queue.board import Board
from motcua.services.queue.directory import Center
from motcua.services.queue.domain import PRIORITY_REASONS
from motcua.services.queue.errors import Conflict, NotFound, TooMany
from motcua.services.queue.page_kit import (
    STATUS_LABELS,
    Lang,
    Unavailable,
    content_security_policy,
    fragment_unavailable,
    guarded,
    helpers,
    language,
    line_name,
    not_found_page,
    page_url,
    qr_svg,
    render,
    unavailable_page,
)
from motcua.services.queue.queries import QueueQueries
from motcua.services.queue.schemas import IssueTicketIn
from motcua.services.queue.settings import QueueSettings
from motcua.services.queue.usecases import ContactInput, QueueService, TicketView

router = APIRouter(tags=["pages"], include_in_schema=False)

MAX_FORM_BYTES = 4096
KIOSK_RETURN_SECONDS = 45
CODE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


# ---------------------------------------------------------------- app state


def _service(request: Request) -> QueueService:
    svc: QueueService = request.app.state.queue
    return svc


def _queries(request: Request) -> QueueQueries:
    q: QueueQueries = request.app.state.queries
    return q


def _settings(request: Request) -> QueueSettings:
    return _service(request).settings


def _center(request: Request, center_id: str | None = None) -> Center:
    """The center named by ``?center=`` (or the form), else the configured default."""
    wanted = center_id or request.query_params.get("center") or _settings(request).default_center
    return _service(request).directory.center(wanted[:64])


async def _center_board(request: Request) -> tuple[Center, Board]:
    """The page's center and its board now; NotFound or Unavailable for the page to show."""
    center = _center(request)
    return center, await guarded(lambda: _queries(request).board(center.center_id))


# -------------------------------------------------------------------- kiosk


@router.get("/kiosk", response_class=HTMLResponse)
async def kiosk(request: Request) -> Response:
    try:
        center, board = await _center_board(request)
    except NotFound as exc:
        return not_found_page(request, exc.kind, exc.key)
    except Unavailable:
        return unavailable_page(request)
    return _kiosk_page(request, center, board)


def _kiosk_page(
    request: Request,
    center: Center,
    board: Board,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    lang = language(request)
    form = form or {}
    return render(
        request,
        "kiosk.html",
        status=status,
        board=board,
        priorities=PRIORITY_REASONS,
        errors=errors or {},
        form=form,
        request_key=secrets.token_urlsafe(18),
        autoprint=_autoprint(request, form),
        **helpers(center, lang),
    )


def _autoprint(request: Request, form: dict[str, str]) -> bool:
    """A kiosk opened with ``?autoprint=1`` prints each ticket at once (with a browser set
    to print silently, e.g. Chromium's ``--kiosk-printing``)."""
    return "1" in (request.query_params.get("autoprint"), form.get("autoprint"))


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form, first value of each field; an oversized body counts as empty."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0].strip() for k, v in parsed.items()}


def _kiosk_request(form: dict[str, str]) -> IssueTicketIn:
    """The form as the API's own request model, so the page accepts exactly what it does."""
    contact = None
    if form.get("contact_value") or form.get("consent"):
        contact = {
            "kind": form.get("contact_kind") or "phone",
            "value": form.get("contact_value", ""),
            "consent": form.get("consent") == "yes",
            "language": form.get("contact_language") or "vi",
        }
    return IssueTicketIn.model_validate(
        {
            "line_code": form.get("line_code", ""),
            "priority_reason": form.get("priority_reason") or None,
            "contact": contact,
        }
    )


_KIOSK_ERRORS: dict[str, tuple[str, str]] = {
    "line_code": ("Vui lòng chọn lĩnh vực.", "Please choose a service."),
    "line_again": ("Vui lòng chọn lại lĩnh vực.", "Please choose the service again."),
    "priority_reason": ("Đối tượng ưu tiên không hợp lệ.", "Unknown priority reason."),
    "contact.value": (
        "Số điện thoại hoặc e-mail chưa đúng.",
        "The phone number or e-mail address is not valid.",
    ),
    "contact.consent": (
        "Vui lòng đánh dấu đồng ý nhận thông báo, hoặc để trống ô liên hệ.",
        "Please tick the consent box, or leave the contact empty.",
    ),
    "contact.limit": (
        "Đã lấy quá nhiều số có liên hệ; vui lòng thử lại sau, hoặc để trống ô liên hệ.",
        "Too many tickets with a contact; please retry later, or leave the contact empty.",
    ),
}
# Errors shown beside another field than the one named.
_SHOWN_AT = {"line_again": "line_code", "contact.limit": "contact.value"}


def _kiosk_errors(fields: list[str], lang: Lang) -> dict[str, str]:
    """One message per offending field; a contact's kind or language counts as its value."""
    errors: dict[str, str] = {}
    for field in fields:
        key = field if field in _KIOSK_ERRORS else "line_code"
        if field.startswith("contact.") and key == "line_code":
            key = "contact.value"
        pair = _KIOSK_ERRORS[key]
        errors[_SHOWN_AT.get(key, key)] = pair[1] if lang == "en" else pair[0]
    return errors


@router.post("/kiosk", response_class=HTMLResponse)
async def kiosk_issue(request: Request) -> Response:
    """Issue a ticket from the kiosk form, then show it, ready to print (303, so a reload
    never issues twice; the form's one-time key also makes a double tap one ticket)."""
    form = await _form(request)
    try:
        center = _center(request, form.get("center"))
    except NotFound as exc:
        return not_found_page(request, exc.kind, exc.key)
    try:
        return await _issue_from_form(request, center, form)
    except Unavailable:
        return unavailable_page(request)


async def _issue_from_form(request: Request, center: Center, form: dict[str, str]) -> Response:
    lang = language(request)
    kept = {k: v for k, v in form.items() if k != "request_key"}

    async def again(status: int, fields: list[str]) -> Response:
        board = await guarded(lambda: _queries(request).board(center.center_id))
        errors = _kiosk_errors(fields, lang)
        return _kiosk_page(request, center, board, status=status, errors=errors, form=kept)

    try:
        body = _kiosk_request(form)
    except ValidationError as exc:
        return await again(422, [".".join(str(p) for p in e["loc"]) for e in exc.errors()])
    if body.line_code not in center.lines:
        return await again(422, ["line_code"])
    contact = (
        ContactInput(body.contact.kind, body.contact.value, body.contact.language)
        if body.contact
        else None
    )
    try:
        limit_contact_tickets(request, _settings(request), contact)
    except TooMany:
        return await again(429, ["contact.limit"])
    key = form.get("request_key") or None
    try:
        view = await guarded(
            lambda: _service(request).issue(
                center.center_id,
                body.line_code,
                priority_reason=body.priority_reason,
                contact=contact,
                idempotency_key=f"kiosk:{key}"[:64] if key else None,
            )
        )
    except Conflict:
        # The key already issued a ticket on another line (a form resubmitted after "back").
        return await again(409, ["line_again"])
    params = {
        "kiosk": "1",
        "contact": "1" if contact else "",
        "autoprint": "1" if _autoprint(request, form) else "",
    }
    target = page_url(f"/ticket/{view.ticket.lookup_code}", lang, **params)
    return RedirectResponse(target, status_code=303)


# ------------------------------------------------------------------- ticket


def public_base(request: Request) -> str:
    configured = _settings(request).public_url
    return (configured or str(request.base_url)).rstrip("/")


def _code(raw: str) -> str | None:
    code = raw.strip().upper()
    return code if 4 <= len(code) <= 16 and set(code) <= CODE_CHARS else None


async def _ticket(request: Request, raw: str) -> TicketView:
    code = _code(raw)
    if code is None:
        raise NotFound("ticket lookup code", raw[:16])
    return await guarded(lambda: _queries(request).ticket_by_code(code))


@router.get("/ticket", response_class=HTMLResponse)
async def ticket_search(request: Request) -> Response:
    """A form to type the code printed on a ticket; with ``?code=`` it goes to the ticket."""
    lang = language(request)
    raw = request.query_params.get("code", "")
    if raw:
        code = _code(raw)
        if code is not None:
            return RedirectResponse(page_url(f"/ticket/{code}", lang), status_code=303)
    status = 422 if raw else 200
    return render(request, "ticket_search.html", status=status, code=raw[:16], invalid=bool(raw))


@router.get("/ticket/{code}", response_class=HTMLResponse)
async def ticket_page(request: Request, code: str) -> Response:
    lang = language(request)
    try:
        view = await _ticket(request, code)
    except NotFound as exc:
        return not_found_page(request, "ticket", exc.key)
    except Unavailable:
        return unavailable_page(request)
    t = view.ticket
    center = _service(request).directory.center(t.center_id)
    status_url = public_base(request) + page_url(f"/ticket/{t.lookup_code}", lang)
    kiosk_mode = request.query_params.get("kiosk") == "1"
    autoprint = _autoprint(request, {})
    config = {
        "panelUrl": page_url(f"/ticket/{t.lookup_code}/panel", lang),
        "streamUrl": f"/centers/{center.center_id}/display/stream",
        "kiosk": kiosk_mode,
        "kioskUrl": page_url(
            "/kiosk", lang, center=center.center_id, autoprint="1" if autoprint else ""
        ),
        "returnSeconds": KIOSK_RETURN_SECONDS,
        "autoPrint": autoprint,
    }
    return render(
        request,
        "ticket.html",
        view=view,
        qr=qr_svg(status_url, lang),
        status_url=status_url,
        kiosk_mode=kiosk_mode,
        contact_given=request.query_params.get("contact") == "1",
        config=config,
        return_seconds=KIOSK_RETURN_SECONDS,
        **helpers(center, lang),
    )


@router.get("/ticket/{code}/panel", response_class=HTMLResponse)
async def ticket_panel(request: Request, code: str) -> Response:
    """The live part of the ticket page, fetched again on each change of its center."""
    try:
        view = await _ticket(request, code)
    except NotFound:
        return HTMLResponse("", status_code=404)
    except Unavailable:
        return fragment_unavailable()
    center = _service(request).directory.center(view.ticket.center_id)
    return render(request, "ticket_panel.html", view=view, **helpers(center, language(request)))


# -------------------------------------------------------------------- board


@router.get("/board", response_class=HTMLResponse)
async def board_page(request: Request) -> Response:
    lang = language(request)
    try:
        center, board = await _center_board(request)
    except NotFound as exc:
        return not_found_page(request, exc.kind, exc.key)
    except Unavailable:
        return unavailable_page(request)
    config = {
        "panelUrl": page_url("/board/panel", lang, center=center.center_id),
        "streamUrl": f"/centers/{center.center_id}/display/stream",
        "lang": lang,
        "counters": {c.counter_id: c.name for c in center.counters.values()},
        "timezone": center.timezone,
    }
    return render(request, "board.html", board=board, config=config, **helpers(center, lang))


@router.get("/board/panel", response_class=HTMLResponse)
async def board_panel(request: Request) -> Response:
    try:
        center, board = await _center_board(request)
    except NotFound:
        return HTMLResponse("", status_code=404)
    except Unavailable:
        return fragment_unavailable()
    return render(request, "board_panel.html", board=board, **helpers(center, language(request)))


# ------------------------------------------------------------------ counter


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


@router.get("/counter", response_class=HTMLResponse)
async def counter_page(request: Request) -> Response:
    lang = language(request)
    try:
        center, board = await _center_board(request)
    except NotFound as exc:
        return not_found_page(request, exc.kind, exc.key)
    except Unavailable:
        return unavailable_page(request)
    intake_url = _settings(request).intake_url.rstrip("/")
    config = {
        "center": center.center_id,
        "lang": lang,
        "intakeUrl": intake_url,
        "streamUrl": f"/centers/{center.center_id}/display/stream",
        "counters": [
            {"id": c.counter_id, "name": c.name, "lines": list(c.line_codes)}
            for c in center.counters.values()
        ],
        "lines": {code: line_name(center, code, lang) for code in center.lines},
        "statuses": {k: v[1] if lang == "en" else v[0] for k, v in STATUS_LABELS.items()},
    }
    origin = _origin(intake_url)
    return render(
        request,
        "counter.html",
        csp=content_security_policy(connect=f" {origin}" if origin else "", framed=True),
        board=board,
        config=config,
        **helpers(center, lang),
    )
