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

import functools
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from motcua.services.queue import sign_in
from motcua.services.queue.api import limit_contact_tickets
from motcua.services.queue.board import Board
from motcua.services.queue.directory import Center
from motcua.services.queue.domain import PRIORITY_REASONS, Status
from motcua.services.queue.errors import Conflict, NotFound, TooMany
from motcua.services.queue.kiosk_form import error_keys, issue_request
from motcua.services.queue.labels import helpers, line_name, qr_svg
from motcua.services.queue.queries import QueueQueries
from motcua.services.queue.settings import QueueSettings
from motcua.services.queue.usecases import QueueService, TicketView
from motcua.shared.db import UNAVAILABLE
from motcua.shared.logging import get_logger
from motcua.shared.web import Pages, language, page_url, read_form

log = get_logger(__name__)
T = TypeVar("T")
P = ParamSpec("P")

router = APIRouter(tags=["pages"], include_in_schema=False)
PAGES = Pages("motcua.services.queue", scripts=True, referrer="same-origin")

KIOSK_RETURN_SECONDS = 45
CODE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
RETRY_AFTER_SECONDS = 10


# ------------------------------------------------------------ rendering


class Unavailable(Exception):
    """The database is out of reach: the page answers 503."""


async def guarded(read: Callable[[], Awaitable[T]]) -> T:
    try:
        return await read()
    except UNAVAILABLE as exc:
        log.warning("page.database_unavailable", error=repr(exc))
        raise Unavailable from exc


def _helpers(request: Request, center: Center) -> dict[str, Any]:
    return helpers(PAGES.catalog, center, language(request))


def unavailable_page(request: Request) -> HTMLResponse:
    """503 in both languages; it reloads itself, so an unattended screen comes back alone."""
    retry_url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return PAGES.unavailable(
        request,
        detail="unavailable.detail",
        aside="unavailable.aside",
        retry_after=RETRY_AFTER_SECONDS,
        retry_url=retry_url,
        refresh=True,
    )


def not_found_page(request: Request, what: str, key: str) -> HTMLResponse:
    """The 404 page: a ticket's code that is not right, or no such center."""
    lang = language(request)
    t = PAGES.catalog.translator(lang)
    ticket = what == "ticket"
    return PAGES.not_found(
        request,
        heading=t("not_found.ticket" if ticket else "not_found.page"),
        before=t("not_found.ticket_before") if ticket else t("not_found.page_before", what=what),
        key=key,
        after=t("not_found.ticket_after") if ticket else ".",
        links=(
            (page_url("/ticket", lang), t("not_found.find_ticket")),
            (page_url("/kiosk", lang), t("not_found.take_ticket")),
        ),
    )


Handler = Callable[P, Awaitable[Response]]


def _request_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    """The handler's request (FastAPI passes every parameter by name)."""
    request = kwargs.get("request", args[0] if args else None)
    assert isinstance(request, Request)
    return request


def whole_page(handler: Handler[P]) -> Handler[P]:
    """A whole page: an unknown center or ticket shows the 404 page, an outage the 503."""

    async def answer(*args: P.args, **kwargs: P.kwargs) -> Response:
        request = _request_of(args, kwargs)
        try:
            return await handler(*args, **kwargs)
        except NotFound as exc:
            return not_found_page(request, exc.kind, exc.key)
        except Unavailable:
            return unavailable_page(request)

    functools.update_wrapper(answer, handler)  # FastAPI reads the handler's parameters
    return answer


def fragment(handler: Handler[P]) -> Handler[P]:
    """A live panel fetched into a page: an empty 404 or 503, which the page's script
    reads as "gone" or "retry later"."""

    async def answer(*args: P.args, **kwargs: P.kwargs) -> Response:
        try:
            return await handler(*args, **kwargs)
        except NotFound:
            return HTMLResponse("", status_code=404)
        except Unavailable:
            return HTMLResponse(
                "", status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
            )

    functools.update_wrapper(answer, handler)
    return answer


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
@whole_page
async def kiosk(request: Request) -> Response:
    center, board = await _center_board(request)
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
    form = form or {}
    return PAGES.render(
        request,
        "kiosk.html",
        status=status,
        board=board,
        priorities=PRIORITY_REASONS,
        errors=errors or {},
        form=form,
        request_key=secrets.token_urlsafe(18),
        autoprint=_autoprint(request, form),
        **_helpers(request, center),
    )


def _autoprint(request: Request, form: dict[str, str]) -> bool:
    """A kiosk opened with ``?autoprint=1`` prints each ticket at once (with a browser set
    to print silently, e.g. Chromium's ``--kiosk-printing``)."""
    return "1" in (request.query_params.get("autoprint"), form.get("autoprint"))


@router.post("/kiosk", response_class=HTMLResponse)
@whole_page
async def kiosk_issue(request: Request) -> Response:
    """Issue a ticket from the kiosk form, then show it, ready to print (303, so a reload
    never issues twice; the form's one-time key also makes a double tap one ticket)."""
    form = {k: v.strip() for k, v in (await read_form(request)).items()}
    return await _issue_from_form(request, _center(request, form.get("center")), form)


async def _issue_from_form(request: Request, center: Center, form: dict[str, str]) -> Response:
    lang = language(request)
    kept = {k: v for k, v in form.items() if k != "request_key"}

    async def again(status: int, fields: list[str]) -> Response:
        board = await guarded(lambda: _queries(request).board(center.center_id))
        errors = {at: PAGES.t(lang, f"kiosk_error.{key}") for at, key in error_keys(fields)}
        return _kiosk_page(request, center, board, status=status, errors=errors, form=kept)

    try:
        body = issue_request(form)
    except ValidationError as exc:
        return await again(422, [".".join(str(p) for p in e["loc"]) for e in exc.errors()])
    if body.line_code not in center.lines:
        return await again(422, ["line_code"])
    contact = body.contact.as_input() if body.contact else None
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
    """The ticket of a lookup code; NotFound names a ticket whatever the code's fault."""
    code = _code(raw)
    if code is None:
        raise NotFound("ticket", raw[:16])
    try:
        return await guarded(lambda: _queries(request).ticket_by_code(code))
    except NotFound as exc:
        raise NotFound("ticket", exc.key) from None


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
    return PAGES.render(
        request, "ticket_search.html", status=status, code=raw[:16], invalid=bool(raw)
    )


@router.get("/ticket/{code}", response_class=HTMLResponse)
@whole_page
async def ticket_page(request: Request, code: str) -> Response:
    lang = language(request)
    view = await _ticket(request, code)
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
    return PAGES.render(
        request,
        "ticket.html",
        view=view,
        qr=qr_svg(status_url, PAGES.t(lang, "qr_title")),
        status_url=status_url,
        kiosk_mode=kiosk_mode,
        contact_given=request.query_params.get("contact") == "1",
        config=config,
        return_seconds=KIOSK_RETURN_SECONDS,
        **_helpers(request, center),
    )


@router.get("/ticket/{code}/panel", response_class=HTMLResponse)
@fragment
async def ticket_panel(request: Request, code: str) -> Response:
    """The live part of the ticket page, fetched again on each change of its center."""
    view = await _ticket(request, code)
    center = _service(request).directory.center(view.ticket.center_id)
    return PAGES.render(request, "ticket_panel.html", view=view, **_helpers(request, center))


# -------------------------------------------------------------------- board


@router.get("/board", response_class=HTMLResponse)
@whole_page
async def board_page(request: Request) -> Response:
    lang = language(request)
    center, board = await _center_board(request)
    config = {
        "panelUrl": page_url("/board/panel", lang, center=center.center_id),
        "streamUrl": f"/centers/{center.center_id}/display/stream",
        "lang": lang,
        "counters": {c.counter_id: c.name for c in center.counters.values()},
        "timezone": center.timezone,
    }
    return PAGES.render(
        request, "board.html", board=board, config=config, **_helpers(request, center)
    )


@router.get("/board/panel", response_class=HTMLResponse)
@fragment
async def board_panel(request: Request) -> Response:
    center, board = await _center_board(request)
    return PAGES.render(request, "board_panel.html", board=board, **_helpers(request, center))


# ------------------------------------------------------------------ counter


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


@router.get("/counter", response_class=HTMLResponse)
@whole_page
async def counter_page(request: Request) -> Response:
    lang = language(request)
    center, board = await _center_board(request)
    intake_url = _settings(request).intake_url.rstrip("/")
    config: dict[str, Any] = {
        "center": center.center_id,
        "lang": lang,
        "intakeUrl": intake_url,
        "streamUrl": f"/centers/{center.center_id}/display/stream",
        "counters": [
            {"id": c.counter_id, "name": c.name, "lines": list(c.line_codes)}
            for c in center.counters.values()
        ],
        "lines": {code: line_name(center, code, lang) for code in center.lines},
        "statuses": {s.value: PAGES.t(lang, f"status.{s.value}") for s in Status},
    }
    oidc = request.app.state.runtime.oidc
    if oidc is not None:
        config["providerLogout"] = await sign_in.provider_logout(request, oidc, center.center_id)
    origin = _origin(intake_url)
    return PAGES.render(
        request,
        "counter.html",
        provider=oidc.settings.provider_name if oidc is not None else None,
        provider_url=page_url(sign_in.PROVIDER_PATH, lang, center=center.center_id),
        csp=PAGES.csp(connect=f" {origin}" if origin else "", framed=True),
        board=board,
        config=config,
        **_helpers(request, center),
    )
