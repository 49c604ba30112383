"""Signing in to the dashboard: who the caller is, and the cookies that keep it.

A token of the center (a role holding ``deadlines.dashboard.view``) comes as
``Authorization: Bearer`` or from the sign-in form, which keeps it in a cookie only the
dashboard's pages receive (HttpOnly, SameSite=Strict, path ``/dashboard``, Secure outside
development). The form carries a CSRF token matched against a cookie of its own. No token, or a
bad one: the sign-in page (401), which clears a bad cookie and comes back to the page asked
for once signed in.

With the province's provider configured (``MOTCUA_OIDC_ISSUER``), the page also offers
"Sign in with <provider>": the authorization-code flow of ``motcua.shared.web.oidc_sign_in``
ends with the provider's access token in the same cookie, checked like any bearer token.
"""

from __future__ import annotations

import hmac
import secrets
from typing import NamedTuple

from fastapi import Request
from fastapi.responses import Response

from motcua.shared.auth import AuthError, Principal, TokenExpired, authenticate_request
from motcua.shared.client_address import forwarded_https
from motcua.shared.oidc import looks_like_jwt
from motcua.shared.policy import Operation, allows
from motcua.shared.runtime import ServiceRuntime

PATH = "/dashboard"
PROVIDER_PATH = PATH + "/sign-in/provider"
PROVINCE_PATH = PATH + "/province"
CALLBACK_PATH = PATH + "/sign-in/callback"
COOKIE = "motcua_dashboard_token"
COOKIE_MAX_AGE = 12 * 3600  # a token's default lifetime
CSRF_COOKIE = "motcua_dashboard_csrf"
CSRF_MAX_AGE = 3600


def keep(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
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
    settings = runtime_of(request).settings
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


class Caller(NamedTuple):
    principal: Principal | None
    """The signed-in officer allowed to see the dashboard, or None."""
    token_given: bool
    from_cookie: bool
    """The token came from the cookie (to clear a bad one)."""
    renew: bool
    """The cookie held a provider's token that has expired: the provider's session
    usually outlives it, so the way back is a new sign-in there, not an error."""


def may_sign_in(role: str) -> bool:
    """The pages are a center's staff's (their dashboard) and the province's (its
    comparison of the centers, and each center's dashboard, read-only)."""
    return allows(role, Operation.DASHBOARD_VIEW) or allows(role, Operation.PROVINCE_DASHBOARD_VIEW)


async def caller(request: Request) -> Caller:
    """Who signs in. ``ProviderUnavailable`` when the token is the provider's and the
    provider cannot be asked."""
    token, from_cookie = _token(request)
    if token:
        try:
            principal = await authenticate_request(request, token)
        except TokenExpired:
            renew = from_cookie and looks_like_jwt(token) and runtime_of(request).oidc is not None
            return Caller(None, True, from_cookie, renew)
        except AuthError:
            pass
        else:
            if may_sign_in(principal.role):
                return Caller(principal, True, from_cookie, False)
    return Caller(None, bool(token), from_cookie, False)


async def checked(request: Request, token: str, csrf: str) -> tuple[Principal | None, int]:
    """The sign-in form's token, checked: the principal, or None and the page's status
    (403 for a forged form or a role that may not see the dashboard, 401 for a bad token)."""
    if not _csrf_matches(request, csrf):
        return None, 403
    try:
        principal = await authenticate_request(request, token)
    except AuthError:
        return None, 401
    if not may_sign_in(principal.role):
        return None, 403
    return principal, 200


def new_csrf(request: Request) -> str:
    """The form's CSRF value: the one its cookie holds, else a new one."""
    return _csrf_cookie(request) or secrets.token_urlsafe(32)


def safe_next(url: str) -> str:
    """Only a dashboard address of this service, never another site's."""
    return url if url.startswith(PATH) and not url.startswith("//") else PATH


def _token(request: Request) -> tuple[str | None, bool]:
    """The caller's token and whether it came from the cookie."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), False
    cookie = request.cookies.get(COOKIE)
    return (cookie, True) if cookie else (None, False)


def runtime_of(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime
