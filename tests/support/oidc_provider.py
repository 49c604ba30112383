"""An OpenID Connect provider in the test process: its discovery document, key set and
token endpoint over httpx's mock transport, with keys that rotate and an outage switch.
The real provider is Keycloak, in tests/sso; this one is for the fast tiers."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://sso.example.gov.vn/realms/province"


class FakeProvider:
    def __init__(self) -> None:
        self.keys: dict[str, Any] = {"k1": rsa.generate_private_key(65537, 2048)}
        self.down = False
        self.jwks_requests = 0
        self.codes: dict[str, dict[str, Any]] = {}
        """Codes it issued: what the token endpoint will answer for each."""

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def authorize(self, url: str, **claims: Any) -> tuple[str, str]:
        """What the login page does once the officer has typed a password: a code for
        the PKCE challenge and nonce of ``url``. Returns the code and the state."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert query["code_challenge_method"] == "S256"
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "challenge": query["code_challenge"],
            "nonce": query["nonce"],
            "redirect_uri": query["redirect_uri"],
            "claims": claims,
        }
        return code, query["state"]

    def rotate(self, kid: str) -> None:
        self.keys[kid] = rsa.generate_private_key(65537, 2048)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            return httpx.Response(502)
        path = request.url.path
        if path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(
                200,
                json={
                    "issuer": ISSUER,
                    "jwks_uri": f"{ISSUER}/certs",
                    "authorization_endpoint": f"{ISSUER}/auth",
                    "token_endpoint": f"{ISSUER}/token",
                    "end_session_endpoint": f"{ISSUER}/logout",
                },
            )
        if path.endswith("/certs"):
            self.jwks_requests += 1
            keys = []
            for kid, key in self.keys.items():
                jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
                keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
            keys.append({"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"})
            return httpx.Response(200, json={"keys": keys})
        if path.endswith("/token"):
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            grant = self.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "").encode()
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest())
            if (
                grant is None
                or challenge.rstrip(b"=").decode() != grant["challenge"]
                or form.get("redirect_uri") != grant["redirect_uri"]
            ):
                return httpx.Response(400, json={"error": "invalid_grant"})
            claims = dict(grant["claims"])
            nonce = claims.pop("id_nonce", grant["nonce"])  # a test may make it wrong
            return httpx.Response(
                200,
                json={
                    "access_token": self.token(**claims),
                    "id_token": self.token(aud="motcua", typ="ID", nonce=nonce),
                    "expires_in": 300,
                },
            )
        return httpx.Response(404)

    def token(self, kid: str = "k1", **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": ["account", "motcua"],
            "sub": "8d1f6c1e-0000-4000-8000-000000000001",
            "jti": "onrt:abc",
            "iat": now,
            "exp": now + 300,
            "typ": "Bearer",
            "motcua_center": "nam-cuong",
            "realm_access": {"roles": ["default-roles-province", "clerk", "offline_access"]},
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, self.keys[kid], algorithm="RS256", headers={"kid": kid})
