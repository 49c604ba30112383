"""Clerk and officer tokens, each scoped to one center.

A token is ``v1.<claims>.<signature>``: base64url JSON claims signed with
HMAC-SHA256 under the deployment's auth secret. Services check the signature,
the lifetime, the revocation list and that every write targets the token's own
center.

Every token carries an id (``i``) and its issue time (``a``). Its lifetime is
capped (``MAX_TTL_SECONDS`` by default; ``ServiceSettings.token_max_hours``): a
longer one is refused when issued and when checked, so a leaked token is worth
hours, not years. To revoke one before it expires, its id goes into
``MOTCUA_REVOKED_TOKENS``: every replica of every service reads the same setting,
so no service asks another, and an id need stay listed only until its token
would have expired anyway, which keeps the list short.

Staff may also come with an access token of the province's OpenID Connect provider
(``motcua.shared.oidc``): ``authenticate`` tells the two kinds apart by shape and checks
each its own way, so every route that takes one takes both.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol, get_args

from fastapi import Depends, HTTPException, Request

from motcua.shared.settings import ServiceSettings

Role = Literal["clerk", "officer", "leader", "admin", "province", "province_admin"]
"""What each may do is ``motcua.shared.policy``'s table; a token with any other role is refused."""

MAX_TTL_SECONDS = 12 * 3600
"""The longest lifetime a token may have unless a deployment sets another cap."""


class AuthError(Exception):
    """The token is missing, malformed, forged, expired, too long-lived or revoked."""


class TokenExpired(AuthError):
    """The token was good but is past its expiry: a page may send its holder to sign in
    again rather than show an error."""


class ProviderUnavailable(Exception):
    """The sign-in provider could not be asked (down, slow, or answering nonsense), so a
    token of its could not be checked: a 503, never a 500, and never a 401 that would
    send a signed-in officer back to a provider that is not there."""


@dataclass(frozen=True)
class Principal:
    subject: str
    center_id: str
    role: Role
    token_id: str = ""

    def require_center(self, center_id: str) -> None:
        if center_id != self.center_id:
            raise HTTPException(403, f"token is for center {self.center_id!r}, not {center_id!r}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, body: str) -> bytes:
    return _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()).encode()


def signed(secret: str, purpose: str, claims: Mapping[str, Any]) -> str:
    """``claims`` as ``<base64url JSON>.<HMAC>`` under ``secret``, for one ``purpose`` only:
    a value signed for one use (a sign-in flow's cookie, a dev sign-in code) is never
    good for another, nor a token. Signed, not encrypted: put nothing secret from the
    reader in it."""
    body = _b64(json.dumps(dict(claims), separators=(",", ":")).encode())
    return f"{body}.{_sign(secret, f'{purpose}.{body}').decode()}"


def read_signed(secret: str, purpose: str, value: str) -> dict[str, Any]:
    """The claims of a ``signed`` value; ``AuthError`` when forged, for another purpose,
    or malformed."""
    body, _, sig = value.partition(".")
    given = sig.encode("utf-8", "surrogatepass")
    if not sig or not hmac.compare_digest(given, _sign(secret, f"{purpose}.{body}")):
        raise AuthError(f"not a valid {purpose} value")
    try:
        claims = json.loads(_unb64(body))
    except ValueError:
        raise AuthError(f"malformed {purpose} value") from None
    if not isinstance(claims, dict):
        raise AuthError(f"malformed {purpose} value")
    return claims


def issue_token(
    secret: str,
    *,
    center_id: str,
    subject: str,
    role: Role = "clerk",
    ttl: int = MAX_TTL_SECONDS,
    max_ttl: int = MAX_TTL_SECONDS,
) -> str:
    """A signed token; ``ValueError`` for a lifetime over ``max_ttl`` (or not positive)."""
    if not 0 < ttl <= max_ttl:
        raise ValueError(f"a token lives at most {max_ttl} seconds, not {ttl}")
    now = int(time.time())
    claims = {"c": center_id, "s": subject, "r": role, "a": now, "e": now + ttl}
    claims["i"] = secrets.token_urlsafe(12)
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"v1.{body}.{_sign(secret, 'v1.' + body).decode()}"


def token_id(token: str) -> str:
    """The id of a token, read without checking it (to revoke it)."""
    try:
        return str(json.loads(_unb64(token.split(".")[1]))["i"])
    except (IndexError, ValueError, KeyError, TypeError):
        raise AuthError("malformed token") from None


def verify_token(
    secret: str,
    token: str,
    *,
    max_ttl: int = MAX_TTL_SECONDS,
    revoked: Collection[str] = (),
) -> Principal:
    try:
        version, body, sig = token.split(".")
    except ValueError:
        raise AuthError("malformed token") from None
    # Bytes, not str: compare_digest raises on a str holding non-ASCII characters, and
    # such a signature is merely a wrong one.
    given = sig.encode("utf-8", "surrogatepass")
    if version != "v1" or not hmac.compare_digest(given, _sign(secret, f"{version}.{body}")):
        raise AuthError("invalid token signature")
    try:
        claims = json.loads(_unb64(body))
        principal = Principal(
            subject=str(claims["s"]),
            center_id=str(claims["c"]),
            role=claims["r"],
            token_id=str(claims["i"]),
        )
        issued, expires = int(claims["a"]), int(claims["e"])
    except (ValueError, KeyError, TypeError):
        raise AuthError("malformed token claims") from None
    now = time.time()
    if expires < now:
        raise TokenExpired("token expired")
    # Both ends: a token signed for longer than the cap, or dated in the future to
    # stretch its life, is refused whatever its expiry says.
    if expires - issued > max_ttl or expires - now > max_ttl:
        raise AuthError(f"token lives longer than the {max_ttl} seconds allowed")
    if principal.token_id in revoked:
        raise AuthError("token revoked")
    # A signed yet unknown role (``superuser``) would fall through every ``role in``
    # check as "not allowed", but also past every ``role !=`` check: refuse it here.
    if principal.role not in get_args(Role):
        raise AuthError(f"unknown role {principal.role!r}")
    return principal


def verify_for(settings: ServiceSettings, token: str) -> Principal:
    """Check a token against a service's settings: its secret, lifetime cap and
    revocation list."""
    return verify_token(
        settings.auth_secret.get_secret_value(),
        token,
        max_ttl=settings.token_max_seconds,
        revoked=settings.revoked_token_ids,
    )


class TokenVerifier(Protocol):
    """What checks a provider's tokens (``motcua.shared.oidc.OidcVerifier``)."""

    async def verify(
        self, token: str, *, max_ttl: int, revoked: Collection[str] = ()
    ) -> Principal: ...


async def authenticate(
    settings: ServiceSettings, oidc: TokenVerifier | None, token: str
) -> Principal:
    """Either kind of token: motcua's own (``v1.``), checked here with no I/O whatever the
    provider's state, or the provider's JWT, checked by ``oidc``. ``AuthError`` for a bad
    token, ``ProviderUnavailable`` when the provider cannot be asked."""
    if token.startswith("v1."):
        return verify_for(settings, token)
    if oidc is None:
        raise AuthError("malformed token (single sign-on is not configured: MOTCUA_OIDC_ISSUER)")
    return await oidc.verify(
        token, max_ttl=settings.token_max_seconds, revoked=settings.revoked_token_ids
    )


async def authenticate_request(request: Request, token: str) -> Principal:
    """``authenticate`` with the settings and provider of the service serving ``request``."""
    runtime = request.app.state.runtime
    return await authenticate(runtime.settings, getattr(runtime, "oidc", None), token)


def bearer(secret_of: str | None = None) -> object:
    """FastAPI dependency: the caller's ``Principal`` from ``Authorization: Bearer``."""

    async def dependency(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        try:
            if secret_of is not None:
                return verify_token(secret_of, token.strip())
            return await authenticate_request(request, token.strip())
        except AuthError as exc:
            raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
        except ProviderUnavailable as exc:
            raise HTTPException(503, str(exc), headers={"Retry-After": "5"}) from None

    return Depends(dependency)


CurrentPrincipal = Annotated[Principal, bearer()]
