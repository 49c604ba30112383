"""Signing in to the dashboard.

A token of the center (a role holding ``deadlines.dashboard.view``) comes as
``Authorization: Bearer`` or from the sign-in form, which keeps it in a cookie only the
dashboard's pages receive (HttpOnly, SameSite=Strict, path ``/dashboard``, Secure outside
development). The form carries a CSRF token matched against a cookie of its own. No token, or a
bad one: the sign-in page (401), which clears a bad cookie and comes back to the page asked
for once signed in.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from motcua.services.deadlines.pages import PAGES, PATH
from motcua.shared.auth import AuthError, Principal, verify_for
from motcua.shared.client_address import forwarded_https
from motcua.shared.policy import Operation, allows
from motcua.shared.runtime import ServiceRuntime
from motcua.shared.web import here, language, with_lang

router = APIRouter(tags=["pages"], include_in_schema=False)

COOKIE = "motcua_dashboard_token"
COOKIE_MAX_AGE = 12 * 3600  # a token's default lifetime
CSRF_COOKIE = "motcua_dashboard_csrf"
CSRF_MAX_AGE = 3600


def sign_in_page(
    request: Request, *, status: int, error: bool, next_url: str, clear: bool = False
) -> HTMLResponse:
    csrf = _csrf_cookie(request) or secrets.token_urlsafe(32)
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
    _keep(request, response, CSRF_COOKIE, csrf, CSRF_MAX_AGE)
    return response


def _keep(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    """A cookie only the dashboard's pages receive, and no script reads."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PATH,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
    )


def secure_cookies(request: Request) -> bool:
    """Cookies are ``Secure`` unless in development over plain http: behind an Ingress that
    terminates TLS the request URL is http, so the URL alone is not the test."""
    settings = _runtime(request).settings
    return not settings.dev_mode or forwarded_https(request, settings.trusted_proxies)


def _csrf_cookie(request: Request) -> str | None:
    value = request.cookies.get(CSRF_COOKIE, "")
    return value if 32 <= len(value) <= 64 and value.isascii() else None


def _csrf_matches(request: Request, submitted: str) -> bool:
    expected = _csrf_cookie(request)
    return (
        expected is not None
        and submitted.isascii()
        and hmac.compare_digest(expected.encode(), submitted.encode())
    )


def signed_in(request: Request) -> Principal | HTMLResponse:
    """The caller, or the sign-in page to answer with instead."""
    token, from_cookie = _token(request)
    if token:
        try:
            principal = verify_for(_runtime(request).settings, token)
        except AuthError:
            pass
        else:
            if allows(principal.role, Operation.DASHBOARD_VIEW):
                return principal
    return sign_in_page(
        request, status=401, error=bool(token), next_url=here(request), clear=from_cookie
    )


def _safe_next(url: str) -> str:
    """Only a dashboard address of this service, never another site's."""
    return url if url.startswith(PATH) and not url.startswith("//") else PATH


def _token(request: Request) -> tuple[str | None, bool]:
    """The caller's token and whether it came from the cookie."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), False
    cookie = request.cookies.get(COOKIE)
    return (cookie, True) if cookie else (None, False)


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


@router.get(PATH + "/sign-in", response_class=HTMLResponse)
async def sign_in_form(request: Request) -> HTMLResponse:
    next_url = _safe_next(request.query_params.get("next", PATH))
    return sign_in_page(request, status=200, error=False, next_url=next_url)


@router.post(PATH + "/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    """Check the token, keep it in a cookie only these pages receive, go on to the page."""
    body = await request.body()
    form = parse_qs(body[:8192].decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0].strip()
    next_url = _safe_next((form.get("next") or [PATH])[0])
    if not _csrf_matches(request, (form.get("csrf") or [""])[0]):
        return sign_in_page(request, status=403, error=True, next_url=next_url)
    try:
        principal = verify_for(_runtime(request).settings, token)
    except AuthError:
        return sign_in_page(request, status=401, error=True, next_url=next_url)
    if not allows(principal.role, Operation.DASHBOARD_VIEW):
        return sign_in_page(request, status=403, error=True, next_url=next_url)
    if next_url == PATH:
        next_url = with_lang(
            f"{PATH}?{urlencode({'center': principal.center_id})}", language(request)
        )
    response = RedirectResponse(next_url, status_code=303)
    _keep(request, response, COOKIE, token, COOKIE_MAX_AGE)
    response.delete_cookie(CSRF_COOKIE, path=PATH)  # spent: the next form gets a new one
    return response


@router.post(PATH + "/sign-out", response_class=HTMLResponse)
async def sign_out(request: Request) -> Response:
    response = RedirectResponse(with_lang(PATH + "/sign-in", language(request)), status_code=303)
    response.delete_cookie(COOKIE, path=PATH)
    return response
