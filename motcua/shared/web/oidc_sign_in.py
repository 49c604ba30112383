"""Staff sign-in at the province's provider, for the pages of any service.

The authorization-code flow with PKCE (RFC 7636), ``state`` and ``nonce``:

1. ``begin``: three random values (state, nonce, the PKCE verifier) go into a short-lived
   cookie signed with the deployment's auth secret, only the challenge and the state to
   the provider. The cookie is ``SameSite=Lax``: the provider sends the browser back with
   a top-level GET from its own site, which a ``Strict`` cookie would not survive.
2. ``finish``: the provider's ``state`` must match the cookie's (a login started by
   another site cannot be completed here), the code is exchanged with the verifier (a
   stolen code is useless without it), the ID token must carry the cookie's nonce (no
   replayed ID token), and the access token is checked like any bearer token. The flow
   cookie is spent either way.

What the page keeps afterwards is its own business: the dashboard keeps the access token
in its HttpOnly cookie, the counter console hands it to its script (``handoff``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from motcua.shared.auth import AuthError, Principal, ProviderUnavailable, read_signed, signed
from motcua.shared.client_address import forwarded_https
from motcua.shared.oidc import OidcVerifier
from motcua.shared.settings import ServiceSettings
from motcua.shared.web.headers import page_headers

PURPOSE = "oidc-flow"
FLOW_COOKIE = "motcua_oidc_flow"
FLOW_MAX_AGE = 600  # long enough to type a password, short enough to be worth nothing later


class SignInFailed(Exception):
    """The flow could not finish: the message says why, for the sign-in page (401)."""


@dataclass(frozen=True)
class Flow:
    state: str
    nonce: str
    code_verifier: str
    next_url: str


@dataclass(frozen=True)
class SignedIn:
    token: str
    principal: Principal
    next_url: str
    expires_in: int
    id_token: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _seal(settings: ServiceSettings, flow: Flow) -> str:
    return signed(settings.auth_secret.get_secret_value(), PURPOSE, flow.__dict__)


def _open(settings: ServiceSettings, value: str) -> Flow | None:
    try:
        data = read_signed(settings.auth_secret.get_secret_value(), PURPOSE, value)
        return Flow(**{k: str(data[k]) for k in ("state", "nonce", "code_verifier", "next_url")})
    except (AuthError, KeyError):
        return None


def redirect_uri(request: Request, callback_path: str) -> str:
    """The callback's absolute URL as the browser sees it (https behind our Ingress)."""
    settings: ServiceSettings = request.app.state.runtime.settings
    base = str(request.base_url).rstrip("/")
    if forwarded_https(request, settings.trusted_proxies) and base.startswith("http://"):
        base = "https://" + base.removeprefix("http://")
    return base + callback_path


def _secure(request: Request) -> bool:
    settings: ServiceSettings = request.app.state.runtime.settings
    return not settings.dev_mode or forwarded_https(request, settings.trusted_proxies)


async def begin(
    request: Request, verifier: OidcVerifier, *, callback_path: str, next_url: str
) -> Response:
    """Send the browser to the provider's login, the flow's secrets in a cookie."""
    settings: ServiceSettings = request.app.state.runtime.settings
    meta = await verifier.metadata()
    flow = Flow(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(64),
        next_url=next_url,
    )
    challenge = _b64(hashlib.sha256(flow.code_verifier.encode()).digest())
    query = urlencode(
        {
            "response_type": "code",
            "client_id": verifier.settings.client_id,
            "redirect_uri": redirect_uri(request, callback_path),
            "scope": "openid",
            "state": flow.state,
            "nonce": flow.nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    response = RedirectResponse(f"{meta.authorization_endpoint}?{query}", status_code=303)
    response.set_cookie(
        FLOW_COOKIE,
        _seal(settings, flow),
        max_age=FLOW_MAX_AGE,
        path=callback_path,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    return response


async def finish(request: Request, verifier: OidcVerifier, *, callback_path: str) -> SignedIn:
    """The signed-in officer, from the provider's answer at the callback.
    ``SignInFailed`` (why) or ``ProviderUnavailable``."""
    settings: ServiceSettings = request.app.state.runtime.settings
    flow = _open(settings, request.cookies.get(FLOW_COOKIE, ""))
    if flow is None:
        raise SignInFailed("the sign-in was not started here, or took too long: start again")
    params = request.query_params
    if (error := params.get("error")) is not None:
        raise SignInFailed(f"the provider ended the sign-in: {error[:80]}")
    state, code = params.get("state", ""), params.get("code", "")
    if not state or not hmac.compare_digest(state.encode(), flow.state.encode()):
        raise SignInFailed("the sign-in's state does not match: start again")
    if not code:
        raise SignInFailed("the provider sent no code")
    try:
        answer = await verifier.exchange_code(
            code,
            redirect_uri=redirect_uri(request, callback_path),
            code_verifier=flow.code_verifier,
        )
        await verifier.claims(
            answer["id_token"], audience=verifier.settings.client_id, nonce=flow.nonce
        )
        principal = await verifier.verify(
            answer["access_token"],
            max_ttl=settings.token_max_seconds,
            revoked=settings.revoked_token_ids,
        )
    except AuthError as exc:
        raise SignInFailed(str(exc)) from None
    expires_in = answer.get("expires_in")
    return SignedIn(
        token=answer["access_token"],
        principal=principal,
        next_url=flow.next_url,
        expires_in=int(expires_in) if isinstance(expires_in, int | float) else 300,
        id_token=answer["id_token"],
    )


def spend(response: Response, callback_path: str) -> None:
    """The flow cookie is good for one callback."""
    response.delete_cookie(FLOW_COOKIE, path=callback_path)


def continue_to(url: str) -> HTMLResponse:
    """A page that goes on to ``url`` by itself. Not a redirect: the callback is reached
    from the provider's site, and a browser keeps that a redirect chain is cross-site, so
    the ``SameSite=Strict`` cookie just set would be left off the next request; a page
    of ours that moves on is a same-site navigation."""
    escaped = url.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    page = (
        '<!doctype html><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="0;url={escaped}">'
        f'<title>…</title><p><a href="{escaped}">{escaped}</a></p>'
    )
    return HTMLResponse(page, headers=page_headers())


def provider_logout(
    verifier: OidcVerifier | None, post_logout: str, end_session: str | None
) -> str | None:
    """The provider's logout URL that comes back to ``post_logout``, when it has one."""
    if verifier is None or not end_session:
        return None
    query = urlencode(
        {"client_id": verifier.settings.client_id, "post_logout_redirect_uri": post_logout}
    )
    return f"{end_session}?{query}"


__all__ = [
    "FLOW_COOKIE",
    "ProviderUnavailable",
    "SignInFailed",
    "SignedIn",
    "begin",
    "continue_to",
    "finish",
    "provider_logout",
    "redirect_uri",
    "spend",
]
