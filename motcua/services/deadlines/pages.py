"""The leaders' pages through the shared web kit: the dashboard (what it shows is
``dashboard``'s), a dossier's timeline, a late dossier's apology letter (the page, and the
document to print and sign), their sign-in (who may see them is ``sign_in``'s), and their
403, 404, 422 and 503 pages. It needs a token of the center (any role): without one, the
sign-in page; another center's token, a 403 page; database away, a 503 page. Vietnamese by
default, ``?lang=en``.

Waiting times belong to the queue service, which this service never calls: the page's
script draws today's from the queue's public statistics, or says they are missing.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from motcua.services.deadlines import dashboard, letters, queries, sign_in
from motcua.services.deadlines.errors import DeadlinesError, InvalidInput, NotFound
from motcua.services.deadlines.letters import ApologyLetter
from motcua.services.deadlines.sign_in import COOKIE, COOKIE_MAX_AGE, CSRF_COOKIE, PATH
from motcua.services.deadlines.statistics import ReportQuery
from motcua.services.deadlines.timeline import Timeline
from motcua.services.deadlines.usecases import Deadlines
from motcua.shared.auth import Principal
from motcua.shared.db import UNAVAILABLE
from motcua.shared.logging import get_logger
from motcua.shared.policy import Operation, allows
from motcua.shared.web import Pages, here, language, with_lang

log = get_logger(__name__)

router = APIRouter(tags=["pages"], include_in_schema=False)
PAGES = Pages("motcua.services.deadlines", scripts=True, referrer="same-origin")
RETRY_AFTER_UNAVAILABLE = 5


def message(request: Request, status: int, kind: str, **context: Any) -> HTMLResponse:
    """The 403 and 422 pages."""
    return PAGES.render(request, "message.html", status=status, kind=kind, **context)


def unavailable(request: Request) -> HTMLResponse:
    """The 503 page; its retry asks for the same page again."""
    return PAGES.unavailable(
        request,
        detail="unavailable.detail",
        retry_after=RETRY_AFTER_UNAVAILABLE,
        retry_url=here(request),
    )


# ------------------------------------------------------------------ dashboard


@router.get(PATH, response_class=HTMLResponse)
async def dashboard_page(request: Request) -> HTMLResponse:
    lang = language(request)
    principal = _signed_in(request)
    if isinstance(principal, HTMLResponse):
        return principal
    params = request.query_params
    center = params.get("center") or principal.center_id
    if center != principal.center_id:
        return message(request, 403, "forbidden", own=principal.center_id, asked=center)
    d: Deadlines = request.app.state.deadlines
    now = d.clock()
    tz = d.calendars.default.tz
    try:
        start, end, as_of = dashboard.parse_period(
            params.get("from", ""),
            params.get("to", ""),
            params.get("as_of", ""),
            now.astimezone(tz).date(),
        )
        query = ReportQuery.build(
            center_id=center,
            start=start,
            end=end,
            as_of=as_of,
            now=now,
            tz=tz,
            calendar=d.calendars.default,
        )
    except dashboard.BadPeriod as exc:
        return message(request, 422, "bad_period", field=exc.field)
    except DeadlinesError as exc:
        field = exc.field if isinstance(exc, InvalidInput) else "to"
        return message(request, 422, "bad_period", field=field)
    try:
        snap = await dashboard.snapshot(
            d,
            request.app.state.runtime,
            query,
            now,
            with_risks=allows(principal.role, Operation.RISKS_READ),
        )
    except UNAVAILABLE as exc:
        log.warning("page.database_unavailable", page="dashboard", error=repr(exc))
        return unavailable(request)
    return PAGES.render(
        request,
        "dashboard.html",
        csp=PAGES.csp(connect=f" {_queue_origin(request)}"),
        queue_waiting_url=_queue_waiting_url(request, center),
        **dashboard.context(snap, query, lang, live=as_of is None),
    )


def _queue_origin(request: Request) -> str:
    parts = urlsplit(request.app.state.runtime.settings.queue_url)
    return f"{parts.scheme}://{parts.netloc}"


def _queue_waiting_url(request: Request, center: str) -> str:
    base = request.app.state.runtime.settings.queue_url.rstrip("/")
    return f"{base}/centers/{quote(center, safe='')}/stats/waiting"


# ------------------------------------------------------------- apology letter


T = TypeVar("T", ApologyLetter, Timeline)


async def _of_dossier(
    request: Request,
    dossier_id: str,
    read: Callable[[asyncpg.Connection, uuid.UUID], Awaitable[T]],
    *,
    missing: str,
) -> T | HTMLResponse:
    """What ``read`` finds of a dossier, for the signed-in staff of its center; or the page
    to answer with instead: sign-in, 403 (another center's), 404 (``missing``), 503."""
    principal = _signed_in(request)
    if isinstance(principal, HTMLResponse):
        return principal
    try:
        wanted = uuid.UUID(dossier_id)
        async with request.app.state.runtime.read() as conn:
            found = await read(conn, wanted)
    except (ValueError, NotFound):
        return message(request, 404, missing)
    except UNAVAILABLE as exc:
        log.warning("page.database_unavailable", page=missing, error=repr(exc))
        return unavailable(request)
    if found.center_id != principal.center_id:
        return message(request, 403, "forbidden", own=principal.center_id, asked=found.center_id)
    return found


async def _letter(request: Request, dossier_id: str) -> ApologyLetter | HTMLResponse:
    d: Deadlines = request.app.state.deadlines

    async def read(conn: asyncpg.Connection, wanted: uuid.UUID) -> ApologyLetter:
        return await queries.apology_letter(conn, wanted, center_names=d.settings.center_names)

    return await _of_dossier(request, dossier_id, read, missing="no_letter")


@router.get(PATH + "/dossiers/{dossier_id}/apology-letter", response_class=HTMLResponse)
async def apology_letter_page(request: Request, dossier_id: str) -> HTMLResponse:
    """The letter on screen, with the link to the document the leader prints and signs."""
    letter = await _letter(request, dossier_id)
    if isinstance(letter, HTMLResponse):
        return letter
    return PAGES.render(
        request,
        "apology_letter.html",
        letter=letter,
        text=letters.render(letter),
        document_url=f"{PATH}/dossiers/{letter.dossier_id}/apology-letter.html",
    )


@router.get(PATH + "/dossiers/{dossier_id}/apology-letter.html", response_class=HTMLResponse)
async def apology_letter_document(request: Request, dossier_id: str) -> HTMLResponse:
    """The letter as one self-contained HTML document, laid out for A4 and a signature."""
    letter = await _letter(request, dossier_id)
    if isinstance(letter, HTMLResponse):
        return letter
    return HTMLResponse(letters.render_document(letter))


# -------------------------------------------------------------------- timeline


@router.get(PATH + "/dossiers/{dossier_id}/timeline", response_class=HTMLResponse)
async def timeline_page(request: Request, dossier_id: str) -> HTMLResponse:
    """A dossier's story in time order, for the staff of its center."""
    found = await _of_dossier(request, dossier_id, queries.dossier_timeline, missing="no_dossier")
    if isinstance(found, HTMLResponse):
        return found
    d: Deadlines = request.app.state.deadlines
    return PAGES.render(
        request,
        "timeline.html",
        **dashboard.timeline_context(found, language(request), d.calendars.default.tz),
    )


# -------------------------------------------------------------------- sign-in


def sign_in_page(
    request: Request, *, status: int, error: bool, next_url: str, clear: bool = False
) -> HTMLResponse:
    csrf = sign_in.new_csrf(request)
    response = PAGES.render(
        request, "sign_in.html", status=status, error=error, next_url=next_url, csrf=csrf
    )
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    if clear:
        response.delete_cookie(COOKIE, path=PATH)
    # Double submit: the form carries the value this cookie holds. Another site can make
    # a browser post the form, but can neither read the cookie nor set it, so its post
    # lacks the matching value (no signing a victim in with the attacker's token).
    sign_in.keep(request, response, CSRF_COOKIE, csrf, sign_in.CSRF_MAX_AGE)
    return response


def _signed_in(request: Request) -> Principal | HTMLResponse:
    """The caller, or the sign-in page to answer with instead (it comes back here)."""
    principal, token_given, from_cookie = sign_in.caller(request)
    if principal is not None:
        return principal
    return sign_in_page(
        request, status=401, error=token_given, next_url=here(request), clear=from_cookie
    )


@router.get(PATH + "/sign-in", response_class=HTMLResponse)
async def sign_in_form(request: Request) -> HTMLResponse:
    next_url = sign_in.safe_next(request.query_params.get("next", PATH))
    return sign_in_page(request, status=200, error=False, next_url=next_url)


@router.post(PATH + "/sign-in", response_class=HTMLResponse)
async def sign_in_submit(request: Request) -> Response:
    """Check the token, keep it in a cookie only these pages receive, go on to the page."""
    body = await request.body()
    form = parse_qs(body[:8192].decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0].strip()
    next_url = sign_in.safe_next((form.get("next") or [PATH])[0])
    principal, status = sign_in.checked(request, token, (form.get("csrf") or [""])[0])
    if principal is None:
        return sign_in_page(request, status=status, error=True, next_url=next_url)
    if next_url == PATH:
        next_url = with_lang(
            f"{PATH}?{urlencode({'center': principal.center_id})}", language(request)
        )
    response = RedirectResponse(next_url, status_code=303)
    sign_in.keep(request, response, COOKIE, token, COOKIE_MAX_AGE)
    response.delete_cookie(CSRF_COOKIE, path=PATH)  # spent: the next form gets a new one
    return response


@router.post(PATH + "/sign-out", response_class=HTMLResponse)
async def sign_out(request: Request) -> Response:
    response = RedirectResponse(with_lang(PATH + "/sign-in", language(request)), status_code=303)
    response.delete_cookie(COOKIE, path=PATH)
    return response
