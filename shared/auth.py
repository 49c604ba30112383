"""Clerk and officer tokens, each scoped to one center.

A token is ``v1.<claims>.<signature>``: base64url JSON claims signed with
HMAC-SHA256 under the deployment's auth secret. Services check the signature,
the expiry, and that every write targets the token's own center.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Annotated, Literal, get_args

from fastapi import Depends, HTTPException, Request

Role = Literal["clerk", "officer", "leader", "admin", "province"]
"""What each may do is ``shared.policy``'s table; a token with any other role is refused."""


class AuthError(Exception):
    """The token is missing, malformed, forged or expired."""


@dataclass(frozen=True)
class Principal:
    subject: str
    center_id: str
    role: Role

    def require_center(self, center_id: str) -> None:
        if center_id != self.center_id:
            raise HTTPException(403, f"token is for center {self.center_id!r}, not {center_id!r}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, body: str) -> str:
    return _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())


def issue_token(
    secret: str, *, center_id: str, subject: str, role: Role = "clerk", ttl: int = 12 * 3600
) -> str:
    claims = {"c": center_id, "s": subject, "r": role, "e": int(time.time()) + ttl}
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"v1.{body}.{_sign(secret, 'v1.' + body)}"


def verify_token(secret: str, token: str) -> Principal:
    try:
        version, body, sig = token.split(".")
    except ValueError:
        raise AuthError("malformed token") from None
    if version != "v1" or not hmac.compare_digest(sig, _sign(secret, f"{version}.{body}")):
        raise AuthError("invalid token signature")
    try:
        claims = json.loads(_unb64(body))
        principal = Principal(
            subject=str(claims["s"]), center_id=str(claims["c"]), role=claims["r"]
        )
        expires = int(claims["e"])
    except (ValueError, KeyError, TypeError):
        raise AuthError("malformed token claims") from None
    if expires < time.time():
        raise AuthError("token expired")
    # A signed yet unknown role (``superuser``) would fall through every ``role in``
    # check as "not allowed", but also past every ``role !=`` check: refuse it here.
    if principal.role not in get_args(Role):
        raise AuthError(f"unknown role {principal.role!r}")
    return principal


def bearer(secret_of: str | None = None) -> object:
    """FastAPI dependency: the caller's ``Principal`` from ``Authorization: Bearer``."""

    async def dependency(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        secret = secret_of or request.app.state.runtime.settings.auth_secret.get_secret_value()
        try:
            return verify_token(secret, token.strip())
        except AuthError as exc:
            raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None

    return Depends(dependency)


CurrentPrincipal = Annotated[Principal, bearer()]
