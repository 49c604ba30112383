"""Staff tokens from the province's OpenID Connect provider.

A province signs its officers in once, at its own provider (Keycloak, or any OpenID
Connect provider); the services then accept the provider's access tokens as well as
motcua's own ``v1.`` tokens, which stay for service accounts and the dev stack. The two
are told apart by shape (``auth.authenticate``): a JWT is three base64url parts whose
first is a JSON header; a motcua token starts with ``v1.``.

What is checked, in this order, so that a foreign or malformed token costs no request to
the provider:

1. the header: an algorithm the deployment allows (asymmetric only: ``none`` and the
   HMAC family cannot even be configured, so a token signed with the public key as an
   HMAC secret is refused) and a key id;
2. the issuer, read before the signature: a token of another issuer is refused without
   fetching anything;
3. the signature, with the key of that id from the provider's JWKS. The key set is
   fetched once and cached; a key id it does not hold (the provider rotated its keys)
   fetches it again, at most once per ``jwks_refetch_seconds``, so a flood of tokens
   with made-up key ids cannot make us flood the provider;
4. audience, expiry, not-before and issue time (with ``clock_skew_seconds`` of leeway),
   the lifetime cap and the revocation list motcua's own tokens have;
5. the center and the role, from the claims the deployment names. A token without a
   center, or without exactly one role motcua knows, is refused: it would otherwise
   pass every ``role !=`` check. The center must be one the registry publishes and has
   not retired, when the service follows the registry (``motcua.shared.centers``), and
   one of ``MOTCUA_OIDC_CENTERS`` when that optional list is set.

The provider being away never fails motcua's own tokens (they never reach this module)
and fails a provider's token with ``ProviderUnavailable`` (a 503), not a 500. Keys
fetched before the outage keep working through it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, get_args

import httpx
import jwt
from jwt.exceptions import PyJWKError, PyJWTError

from motcua.shared.auth import AuthError, Principal, ProviderUnavailable, Role, TokenExpired
from motcua.shared.events.catalog import CenterConfigured
from motcua.shared.logging import get_logger
from motcua.shared.settings import OidcSettings

log = get_logger(__name__)

_ROLES: frozenset[Role] = frozenset(get_args(Role))
_SAFE_ISSUER = re.compile(r"^(https://|http://(127\.0\.0\.1|localhost|\[::1\])[:/])")
_CENTER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Keycloak marks what is not an access token in ``typ``: an ID token carries our client id
# as its audience too, and must not be usable as a bearer token.
_NOT_ACCESS = frozenset({"ID", "Refresh", "Logout", "Offline"})


@dataclass(frozen=True)
class ProviderMetadata:
    """What discovery (``/.well-known/openid-configuration``) says, the part we use."""

    issuer: str
    jwks_uri: str
    authorization_endpoint: str
    token_endpoint: str
    end_session_endpoint: str | None


def looks_like_jwt(token: str) -> bool:
    """Three base64url parts, the first a JSON object naming an algorithm."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] == "v1":
        return False
    try:
        header = json.loads(_unb64(parts[0]))
    except ValueError:
        return False
    return isinstance(header, dict) and "alg" in header


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def claim(claims: Mapping[str, Any], path: str) -> Any:
    """A claim by name, or by a dotted path into nested objects (``realm_access.roles``).
    A name that exists as it is wins over the path (Keycloak's mappers may put dots in
    claim names)."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


class CenterRegister(Protocol):
    """The centers as the registry last published them, which a service follows
    (``motcua.shared.centers.CenterBook``)."""

    def __len__(self) -> int: ...

    def get(self, center_id: str) -> CenterConfigured | None: ...


def check_registered(center: str, register: CenterRegister | None) -> None:
    """``AuthError`` for a center the registry retired, or never published once it has
    published any. A token's center is the provider's word, and the provider does not
    learn that a ward merged away: the registry does, and every follower with it, without
    a restart. Before the registry's first event reaches the service (a deployment
    without the registry yet) there is nothing to follow, and only the static list
    applies."""
    if register is None or len(register) == 0:
        return
    config = register.get(center)
    if config is None:
        raise AuthError(f"token is for center {center!r}, which the center registry does not hold")
    if not config.active:
        raise AuthError(f"token is for center {center!r}, which the center registry has retired")


def principal_from(
    claims: Mapping[str, Any], settings: OidcSettings, register: CenterRegister | None = None
) -> Principal:
    """The center and role the deployment's claims name; ``AuthError`` naming the claim
    when either is missing, malformed or unknown, and naming the center when the
    registry (``register``) or the deployment's list (``MOTCUA_OIDC_CENTERS``, an extra
    restriction) does not allow it."""
    center = claim(claims, settings.center_claim)
    if isinstance(center, list) and len(center) == 1:
        center = center[0]
    if not isinstance(center, str) or not _CENTER.match(center):
        raise AuthError(f"token has no valid center in claim {settings.center_claim!r}")
    if settings.centers and center not in settings.centers:
        raise AuthError(f"token is for unknown center {center!r}")
    check_registered(center, register)
    raw = claim(claims, settings.role_claim)
    values = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    roles: list[Role] = sorted({v for v in values if v in _ROLES})
    if not roles:
        raise AuthError(f"token has no motcua role in claim {settings.role_claim!r}")
    if len(roles) > 1:
        # Guessing the highest would let a provider-side mistake widen someone's rights.
        raise AuthError(f"token has several motcua roles {roles} in claim {settings.role_claim!r}")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise AuthError("token has no subject")
    jti = claims.get("jti")
    return Principal(
        subject=subject, center_id=center, role=roles[0], token_id=str(jti) if jti else ""
    )


class OidcVerifier:
    """Checks a provider's tokens; holds the discovery document and the key set.

    One per process (the service runtime's). Nothing is fetched until the first token
    arrives. ``clock`` is for tests that need a token to have expired."""

    def __init__(
        self,
        settings: OidcSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if settings.issuer is None:
            raise ValueError("OpenID Connect needs MOTCUA_OIDC_ISSUER")
        # Keys fetched over plain http from anywhere but this machine could be swapped on
        # the way; the dev stack's and the tests' Keycloak listen on loopback.
        if not _SAFE_ISSUER.match(settings.issuer):
            raise ValueError(
                f"MOTCUA_OIDC_ISSUER {settings.issuer!r} must be an https URL (or http on loopback)"
            )
        self.settings = settings
        self.issuer = settings.issuer.rstrip("/")
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._clock = clock
        self._metadata: ProviderMetadata | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._tried_at = float("-inf")
        self._failing = False
        self._lock = asyncio.Lock()
        self.jwks_fetches = 0
        """How many times the key set was fetched (tests and metrics read it)."""
        self.centers: CenterRegister | None = None
        """The registry's centers, once the service follows them (``centers.follow``)."""

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.settings.http_timeout_seconds, transport=self._transport
            )
        return self._client

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = await self._http().get(url, headers={"accept": "application/json"})
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("oidc.fetch_failed", what=what, error=f"{type(exc).__name__}: {exc}")
            raise ProviderUnavailable(
                f"the sign-in provider did not answer for its {what}"
            ) from None
        if not isinstance(body, dict):
            raise ProviderUnavailable(f"the sign-in provider's {what} is not a JSON object")
        return body

    async def metadata(self) -> ProviderMetadata:
        """The discovery document, fetched once. Its issuer must be ours exactly
        (OpenID Connect Discovery 1.0, section 4.3): a document that names another
        issuer is an attempt to swap providers."""
        if self._metadata is not None:
            return self._metadata
        doc = await self._get_json(
            f"{self.issuer}/.well-known/openid-configuration", "discovery document"
        )
        if str(doc.get("issuer", "")).rstrip("/") != self.issuer:
            raise ProviderUnavailable(
                f"the discovery document names issuer {doc.get('issuer')!r}, not {self.issuer!r}"
            )
        try:
            self._metadata = ProviderMetadata(
                issuer=str(doc["issuer"]),
                jwks_uri=str(doc["jwks_uri"]),
                authorization_endpoint=str(doc["authorization_endpoint"]),
                token_endpoint=str(doc["token_endpoint"]),
                end_session_endpoint=doc.get("end_session_endpoint"),
            )
        except KeyError as exc:
            raise ProviderUnavailable(f"the discovery document lacks {exc.args[0]}") from None
        return self._metadata

    async def _refresh_keys(self) -> None:
        meta = await self.metadata()
        body = await self._get_json(meta.jwks_uri, "key set")
        keys: dict[str, jwt.PyJWK] = {}
        for item in body.get("keys", []):
            # Encryption keys and keys of algorithms we do not allow are no use to us.
            if not isinstance(item, dict) or item.get("use", "sig") != "sig" or "kid" not in item:
                continue
            if "alg" in item and item["alg"] not in self.settings.algorithms:
                continue
            try:
                keys[str(item["kid"])] = jwt.PyJWK(item)
            except PyJWKError:
                continue
        self._keys = keys
        self._fetched_at = self._clock()
        self.jwks_fetches += 1
        log.info("oidc.jwks_fetched", keys=len(keys))

    def _holds(self, kid: str) -> bool:
        """The key is in a set young enough to trust without asking."""
        age = self._clock() - self._fetched_at
        return kid in self._keys and age < self.settings.jwks_max_age_seconds

    async def _key(self, kid: str) -> jwt.PyJWK:
        """The key of that id. The set is fetched again when the id is new to it (a
        rotation) or the set is older than ``jwks_max_age_seconds``, but tried at most
        once per ``jwks_refetch_seconds``, success or not: neither made-up key ids nor
        an outage turn every request into a request to the provider."""
        if (
            kid in self._keys
            and self._clock() - self._fetched_at < self.settings.jwks_max_age_seconds
        ):
            return self._keys[kid]
        async with self._lock:
            # Another request may have fetched while this one waited for the lock.
            if (
                kid in self._keys
                and self._clock() - self._fetched_at < self.settings.jwks_max_age_seconds
            ):
                return self._keys[kid]
            if self._clock() - self._tried_at >= self.settings.jwks_refetch_seconds:
                self._tried_at = self._clock()
                try:
                    await self._refresh_keys()
                    self._failing = False
                except ProviderUnavailable:
                    self._failing = True
                    # Keys we already hold still verify through an outage.
                    if kid not in self._keys:
                        raise
            elif self._failing and kid not in self._keys:
                raise ProviderUnavailable("the sign-in provider's key set could not be fetched")
        if kid not in self._keys:
            raise AuthError("token is signed with a key the provider does not publish")
        return self._keys[kid]

    async def exchange_code(
        self, code: str, *, redirect_uri: str, code_verifier: str
    ) -> dict[str, Any]:
        """The token endpoint's answer to an authorization code (with its PKCE verifier):
        ``access_token``, ``id_token``, ``expires_in``. ``AuthError`` when the provider
        refuses the code (spent, expired, another client's)."""
        meta = await self.metadata()
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.settings.client_id,
            "code_verifier": code_verifier,
        }
        secret = self.settings.client_secret
        auth = (
            httpx.BasicAuth(self.settings.client_id, secret.get_secret_value())
            if secret
            else httpx.USE_CLIENT_DEFAULT
        )
        try:
            response = await self._http().post(meta.token_endpoint, data=data, auth=auth)
        except httpx.HTTPError:
            raise ProviderUnavailable("the sign-in provider did not answer for a token") from None
        if response.status_code >= 500:
            raise ProviderUnavailable("the sign-in provider failed to issue a token")
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else response.status_code
            raise AuthError(f"the sign-in provider refused the code ({error})")
        if not isinstance(body.get("access_token"), str) or not isinstance(
            body.get("id_token"), str
        ):
            raise AuthError("the sign-in provider's answer lacks an access or an ID token")
        return body

    async def verify(self, token: str, *, max_ttl: int, revoked: Collection[str] = ()) -> Principal:
        """The principal of a provider's access token; ``AuthError`` (401) when it is
        not good, ``ProviderUnavailable`` (503) when the provider cannot be asked."""
        claims = await self.claims(token, audience=self.settings.audience)
        if claims.get("typ") in _NOT_ACCESS:
            raise AuthError(f"token is an {claims['typ']} token, not an access token")
        issued = claims["iat"]
        if not isinstance(issued, int | float) or claims["exp"] - issued > max_ttl:
            raise AuthError(f"token lives longer than the {max_ttl} seconds allowed")
        principal = principal_from(claims, self.settings, self.centers)
        if principal.token_id and principal.token_id in revoked:
            raise AuthError("token revoked")
        return principal

    async def claims(
        self, token: str, *, audience: str, nonce: str | None = None
    ) -> dict[str, Any]:
        """A token's claims once its signature, issuer, audience and times hold (and its
        nonce, for an ID token at sign-in)."""
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except PyJWTError:
            raise AuthError("malformed token") from None
        alg = header.get("alg")
        if alg not in self.settings.algorithms:
            raise AuthError(f"token algorithm {alg!r} is not allowed")
        if str(unverified.get("iss", "")).rstrip("/") != self.issuer:
            raise AuthError(f"token issuer {unverified.get('iss')!r} is not trusted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("token names no signing key")
        key = await self._key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                audience=audience,
                issuer=unverified["iss"],
                # The times are checked below against our own clock.
                options={
                    "require": ["exp", "iat", "iss", "aud", "sub"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidAudienceError:
            raise AuthError(f"token is not meant for audience {audience!r}") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(f"token lacks the {exc.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise AuthError("invalid token signature") from None
        except PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from None
        except (TypeError, ValueError):
            # An EC algorithm named over an RSA key id (or the reverse): the key cannot
            # even be used that way.
            raise AuthError(f"token algorithm {alg!r} does not fit its signing key") from None
        self._check_times(claims)
        if nonce is not None and claims.get("nonce") != nonce:
            raise AuthError("the sign-in's nonce does not match")
        return claims

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        now, skew = self._clock(), self.settings.clock_skew_seconds
        try:
            expires, issued = float(claims["exp"]), float(claims["iat"])
            not_before = float(claims.get("nbf", issued))
        except (TypeError, ValueError):
            raise AuthError("token times are not numbers") from None
        if expires <= now - skew:
            raise TokenExpired("token expired")
        if not_before > now + skew or issued > now + skew:
            raise AuthError("token is not valid yet")
