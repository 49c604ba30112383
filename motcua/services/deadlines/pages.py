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
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import asyncpg
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from motcua.services.deadlines import dashboard, letters, queries, scorecard, sign_in, standings
from motcua.services.deadlines.errors import DeadlinesError, InvalidInput, NotFound
from motcua.services.deadlines.letters import ApologyLetter
from motcua.services.deadlines.sign_in import (
    CALLBACK_PATH,
    COOKIE,
    COOKIE_MAX_AGE,
    CSRF_COOKIE,
    PATH,
    PROVIDER_PATH,
    PROVINCE_PATH,
)
from motcua.services.deadlines.statistics import ReportQuery
from motcua.services.deadlines.timeline import Timeline
from motcua.services.deadlines.usecases import Deadlines
from motcua.shared import dev_sign_in
from motcua.shared.auth import AuthError, Principal, ProviderUnavailable
from motcua.shared.db import UNAVAILABLE
from motcua.shared.logging import get_logger
from motcua.shared.oidc import looks_like_jwt
from motcua.shared.policy import Operation, allows
from motcua.shared.web import Pages, here, language, oidc_sign_in, with_lang

log = get_logger(__name__)

router = APIRouter(tags=["pages"], include_in_schema=False)
dev_router = APIRouter(tags=["pages"], include_in_schema=False)
"""Mounted by ``create_app`` in dev mode only: outside it, these routes do not exist."""
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
async def dashboard_page(request: Request) -> Response:
    lang = language(request)
    principal = await _page_caller(request, "dashboard")
    if isinstance(principal, Response):
        return principal
    params = request.query_params
    center = params.get("center") or principal.center_id
    # The province opens any center's dashboard from its comparison, to read only: the
    # page changes nothing, and the forecast stays the center's leaders'.
    province = allows(principal.role, Operation.PROVINCE_DASHBOARD_VIEW)
    if center != principal.center_id and not province:
        return message(request, 403, "forbidden", own=principal.center_id, asked=center)
    d: Deadlines = request.app.state.deadlines
    now = d.clock()
    asked = _period_query(request, d, center, now)
    if isinstance(asked, Response):
        return asked
    query, as_of = asked
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
        scorecard=standings.scorecard_section(snap.scorecard, lang) if snap.scorecard else None,
        **dashboard.context(snap, query, lang, live=as_of is None),
    )


# ------------------------------------------------------------------- province


@router.get(PROVINCE_PATH, response_class=HTMLResponse)
async def province_page(request: Request) -> Response:
    """Every center of the registry side by side for the province's supervisor: on-time
    rate, overdue dossiers, the 766 score, satisfaction and waiting times, sortable, each
    a link to the center's dashboard. A center's staff get the 403 page."""
    principal = await _page_caller(request, "province")
    if isinstance(principal, Response):
        return principal
    if not allows(principal.role, Operation.PROVINCE_DASHBOARD_VIEW):
        return message(request, 403, "province_only")
    params = request.query_params
    d: Deadlines = request.app.state.deadlines
    now = d.clock()
    asked = _period_query(request, d, None, now, bounded=True)
    if isinstance(asked, Response):
        return asked
    query, _ = asked
    sort = params.get("sort", standings.DEFAULT_SORT)
    if sort not in standings.SORTS:
        return message(request, 422, "bad_period", field="sort")
    ids, names = d.registry()
    try:
        async with request.app.state.runtime.unit_of_work(
            readonly=True, isolation="repeatable_read"
        ) as conn:
            found = await queries.province_scorecard(conn, query, now, ids, names)
            waits = await queries.province_waits(conn, query)
    except UNAVAILABLE as exc:
        log.warning("page.database_unavailable", page="province", error=repr(exc))
        return unavailable(request)
    return PAGES.render(
        request,
        "province.html",
        **standings.province_context(
            found,
            language(request),
            sort=sort,
            descending=params.get("order") != "asc",
            waits=waits,
        ),
    )


def _period_query(
    request: Request,
    d: Deadlines,
    center: str | None,
    now: datetime,
    *,
    bounded: bool = False,
) -> tuple[ReportQuery, datetime | None] | Response:
    """The page's period (``from``, ``to``, ``as_of``; the current month by default) and
    the instant asked for, or the 422 page naming the field; ``bounded``: no longer than
    a scorecard's period (the province's page reads every center)."""
    params = request.query_params
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
        if bounded:
            scorecard.check_period(start, end)
    except dashboard.BadPeriod as exc:
        return message(request, 422, "bad_period", field=exc.field)
    except DeadlinesError as exc:
        field = exc.field if isinstance(exc, InvalidInput) else "to"
        return message(request, 422, "bad_period", field=field)
    return query, as_of


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
) -> T | Response:
    """What ``read`` finds of a dossier, for the signed-in staff of its center; or the page
    to answer with instead: sign-in, 403 (another center's), 404 (``missing``), 503."""
    principal = await _signed_in(request)
    if isinstance(principal, Response):
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


async def _letter(request: Request, dossier_id: str) -> ApologyLetter | Response:
    d: Deadlines = request.app.state.deadlines

    async def read(conn: asyncpg.Connection, wanted: uuid.UUID) -> ApologyLetter:
        return await queries.apology_letter(conn, wanted, center_names=d.settings.center_names)

    return await _of_dossier(request, dossier_id, read, missing="no_letter")


@router.get(PATH + "/dossiers/{dossier_id}/apology-letter", response_class=HTMLResponse)
async def apology_letter_page(request: Request, dossier_id: str) -> Response:
    """The letter on screen, with the link to the document the leader prints and signs."""
    letter = await _letter(request, dossier_id)
    if isinstance(letter, Response):
        return letter
    return PAGES.render(
        request,
        "apology_letter.html",
        letter=letter,
        text=letters.render(letter),
        document_url=f"{PATH}/dossiers/{letter.dossier_id}/apology-letter.html",
    )


@router.get(PATH + "/dossiers/{dossier_id}/apology-letter.html", response_class=HTMLResponse)
async def apology_letter_document(request: Request, dossier_id: str) -> Response:
    """The letter as one self-contained HTML document, laid out for A4 and a signature."""
    letter = await _letter(request, dossier_id)
    if isinstance(letter, Response):
        return letter
    return HTMLResponse(letters.render_document(letter))


# -------------------------------------------------------------------- timeline


@router.get(PATH + "/dossiers/{dossier_id}/timeline", response_class=HTMLResponse)
async def timeline_page(request: Request, dossier_id: str) -> Response:
    """A dossier's story in time order, for the staff of its center."""
    found = await _of_dossier(request, dossier_id, queries.dossier_timeline, missing="no_dossier")
    if isinstance(found, Response):
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
    oidc = request.app.state.runtime.oidc
    response = PAGES.render(
        request,
        "sign_in.html",
        status=status,
        error=error,
        next_url=next_url,
        csrf=csrf,
        provider=oidc.settings.provider_name if oidc is not None else None,
        provider_url=f"{PROVIDER_PATH}?{urlencode({'next': next_url})}",
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


async def _page_caller(request: Request, page: str) -> Principal | Response:
    """The caller of a page that may take the provider's token, or the page to answer
    with instead (sign-in, or 503 while the provider cannot be asked)."""
    try:
        return await _signed_in(request)
    except ProviderUnavailable as exc:
        log.warning("page.sign_in_provider_unavailable", page=page, error=str(exc))
        return unavailable(request)


async def _signed_in(request: Request) -> Principal | Response:
    """The caller, or the sign-in page to answer with instead (it comes back here)."""
    principal, token_given, from_cookie, renew = await sign_in.caller(request)
    if principal is not None:
        return principal
    # A page the browser navigates to (a reload, the live view's own reload on a 401)
    # goes back to the provider, whose session brings it straight back signed in; the
    # live view's background fetch gets the 401 page, as it cannot follow the provider.
    if renew and request.headers.get("sec-fetch-mode") == "navigate":
        back = RedirectResponse(
            f"{PROVIDER_PATH}?{urlencode({'next': here(request)})}", status_code=303
        )
        back.delete_cookie(COOKIE, path=PATH)
        return back
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
    try:
        principal, status = await sign_in.checked(request, token, (form.get("csrf") or [""])[0])
    except ProviderUnavailable:
        return unavailable(request)
    if principal is None:
        return sign_in_page(request, status=status, error=True, next_url=next_url)
    response = RedirectResponse(_landing(request, principal, next_url), status_code=303)
    sign_in.keep(request, response, COOKIE, token, COOKIE_MAX_AGE)
    response.delete_cookie(CSRF_COOKIE, path=PATH)  # spent: the next form gets a new one
    return response


def _landing(request: Request, principal: Principal, next_url: str) -> str:
    """Where a fresh sign-in goes: the page asked for, or the dashboard of its center
    (the province's: its comparison of the centers)."""
    if next_url != PATH:
        return next_url
    if allows(principal.role, Operation.PROVINCE_DASHBOARD_VIEW):
        return with_lang(PROVINCE_PATH, language(request))
    return with_lang(f"{PATH}?{urlencode({'center': principal.center_id})}", language(request))


@router.get(PROVIDER_PATH, response_class=HTMLResponse)
async def sign_in_with_provider(request: Request) -> Response:
    """Off to the province's provider; it comes back to the callback. Anyone may start
    a sign-in: whom it signs in is held to ``sign_in.may_sign_in`` at the callback."""
    oidc = request.app.state.runtime.oidc
    if oidc is None:
        raise HTTPException(404, "single sign-on is not configured (MOTCUA_OIDC_ISSUER)")
    next_url = sign_in.safe_next(request.query_params.get("next", PATH))
    try:
        return await oidc_sign_in.begin(
            request, oidc, callback_path=CALLBACK_PATH, next_url=next_url
        )
    except ProviderUnavailable:
        return unavailable(request)


@router.get(CALLBACK_PATH, response_class=HTMLResponse)
async def sign_in_callback(request: Request) -> Response:
    """The provider's answer: the access token into the dashboard's cookie, or the sign-in
    page saying why not."""
    oidc = request.app.state.runtime.oidc
    if oidc is None:
        raise HTTPException(404, "single sign-on is not configured (MOTCUA_OIDC_ISSUER)")
    try:
        done = await oidc_sign_in.finish(request, oidc, callback_path=CALLBACK_PATH)
    except ProviderUnavailable:
        return unavailable(request)
    except oidc_sign_in.SignInFailed as exc:
        log.info("page.sign_in_refused", page="dashboard", why=str(exc))
        response = sign_in_page(request, status=401, error=True, next_url=PATH)
    else:
        if not sign_in.may_sign_in(done.principal.role):
            response = sign_in_page(request, status=403, error=True, next_url=PATH)
        else:
            response = oidc_sign_in.continue_to(_landing(request, done.principal, done.next_url))
            max_age = min(done.expires_in, COOKIE_MAX_AGE)
            sign_in.keep(request, response, COOKIE, done.token, max_age)
    oidc_sign_in.spend(response, CALLBACK_PATH)
    return response


@router.post(PATH + "/sign-out", response_class=HTMLResponse)
async def sign_out(request: Request) -> Response:
    back = with_lang(PATH + "/sign-in", language(request))
    # A provider's session outlives our cookie: without its logout, the next "Sign in
    # with" would sign the same officer in again without asking.
    oidc = request.app.state.runtime.oidc
    target = back
    if oidc is not None and looks_like_jwt(request.cookies.get(COOKIE, "")):
        try:
            meta = await oidc.metadata()
        except ProviderUnavailable:
            meta = None
        if meta is not None and meta.end_session_endpoint:
            absolute = oidc_sign_in.redirect_uri(request, back)
            target = oidc_sign_in.provider_logout(oidc, absolute, meta.end_session_endpoint) or back
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(COOKIE, path=PATH)
    return response


@dev_router.get(PATH + "/sign-in/dev", response_class=HTMLResponse)
async def dev_sign_in_link(request: Request) -> Response:
    """The dev stack's one-click link (``motcua.shared.dev_sign_in``): a one-time code
    traded for a leader's token in the dashboard's cookie. Whoever holds a valid code
    may call it, in dev mode only; the code is the proof."""
    settings = request.app.state.runtime.settings
    ttl = min(COOKIE_MAX_AGE, settings.token_max_seconds)
    try:
        taken, token = dev_sign_in.redeem(
            settings,
            request.app.state.dev_codes,
            request.query_params.get("code", ""),
            "dashboard",
            ttl=ttl,
        )
    except AuthError as exc:
        log.info("page.dev_sign_in_refused", why=str(exc))
        return sign_in_page(request, status=401, error=True, next_url=PATH)
    principal = Principal(taken.subject, taken.center_id, taken.role)
    response = oidc_sign_in.continue_to(_landing(request, principal, PATH))
    sign_in.keep(request, response, COOKIE, token, ttl)
    return response
