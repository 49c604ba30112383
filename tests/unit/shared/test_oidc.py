"""The provider's tokens, checked against a provider served in-process
(tests/support/oidc_provider.py); Keycloak itself is tests/sso."""

from __future__ import annotations

import base64
import time
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI

from motcua.shared.auth import (
    AuthError,
    CurrentPrincipal,
    ProviderUnavailable,
    authenticate,
    issue_token,
)
from motcua.shared.centers import CenterBook
from motcua.shared.events.catalog import CenterConfigured
from motcua.shared.oidc import OidcVerifier, looks_like_jwt
from motcua.shared.settings import OidcSettings, ServiceSettings
from tests.support.oidc_provider import ISSUER
from tests.support.oidc_provider import FakeProvider as Provider


@pytest.fixture
def provider() -> Provider:
    return Provider()


def verifier(provider: Provider, clock: Any = time.time, **settings: Any) -> OidcVerifier:
    config = OidcSettings(issuer=ISSUER, role_claim="realm_access.roles", **settings)
    return OidcVerifier(config, transport=httpx.MockTransport(provider.handle), clock=clock)


async def test_a_clerk_token_gives_its_center_and_role(provider: Provider) -> None:
    principal = await verifier(provider).verify(provider.token(), max_ttl=3600)
    assert (principal.center_id, principal.role) == ("nam-cuong", "clerk")
    assert principal.token_id == "onrt:abc"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"aud": "other-app"}, "audience"),
        ({"iss": "https://evil.example/realms/province"}, "issuer"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 3900}, "expired"),
        ({"iat": int(time.time()) + 3600, "exp": int(time.time()) + 3900}, "not valid yet"),
        ({"motcua_center": None}, "center"),
        ({"motcua_center": "../../etc"}, "center"),
        ({"realm_access": {"roles": ["superuser"]}}, "role"),
        ({"realm_access": {"roles": ["clerk", "admin"]}}, "several"),
        ({"typ": "ID"}, "not an access token"),
        ({"sub": None}, "sub"),
    ],
)
async def test_bad_claims_are_refused_by_name(
    provider: Provider, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(AuthError, match=message):
        await verifier(provider).verify(provider.token(**overrides), max_ttl=3600)


async def test_an_unknown_center_is_refused_when_centers_are_listed(provider: Provider) -> None:
    checker = verifier(provider, centers=("dong-hoa",))
    with pytest.raises(AuthError, match="unknown center 'nam-cuong'"):
        await checker.verify(provider.token(), max_ttl=3600)


def _center(center_id: str, revision: int = 1, *, active: bool = True) -> CenterConfigured:
    return CenterConfigured.model_validate(
        {
            "center_id": center_id,
            "name": center_id,
            "name_en": center_id,
            "code": "C",
            "active": active,
            "lines": [{"code": "justice", "prefix": "A"}],
            "counters": [{"counter_id": "Q1", "name": "Q1", "line_codes": ["justice"]}],
            "revision": revision,
        }
    )


async def test_the_centers_follow_the_registry_without_a_restart(provider: Provider) -> None:
    checker = verifier(provider)
    book = CenterBook()
    checker.centers = book
    # Nothing from the registry yet: any well-formed center, as before it was deployed.
    assert (await checker.verify(provider.token(), max_ttl=3600)).center_id == "nam-cuong"
    book.remember(_center("dong-hoa"))
    with pytest.raises(AuthError, match="'nam-cuong', which the center registry does not hold"):
        await checker.verify(provider.token(), max_ttl=3600)
    book.remember(_center("nam-cuong"))  # the registry adds the center later
    assert (await checker.verify(provider.token(), max_ttl=3600)).center_id == "nam-cuong"
    book.remember(_center("nam-cuong", 2, active=False))  # then retires it
    with pytest.raises(AuthError, match="'nam-cuong', which the center registry has retired"):
        await checker.verify(provider.token(), max_ttl=3600)


async def test_the_static_list_still_restricts_the_registrys_centers(provider: Provider) -> None:
    checker = verifier(provider, centers=("dong-hoa",))
    book = CenterBook()
    book.remember(_center("nam-cuong"))
    checker.centers = book
    with pytest.raises(AuthError, match="unknown center 'nam-cuong'"):
        await checker.verify(provider.token(), max_ttl=3600)


async def test_a_retired_centers_token_is_a_401_naming_the_center() -> None:
    """Through the HTTP dependency every route uses, not only the verifier."""
    provider = Provider()
    app = FastAPI()
    settings = ServiceSettings(dev_mode=True)
    checker = verifier(provider)
    book = CenterBook()
    book.remember(_center("nam-cuong", active=False))
    checker.centers = book
    app.state.runtime = SimpleNamespace(settings=settings, oidc=checker)

    @app.get("/who")
    async def who(principal: CurrentPrincipal) -> str:
        return principal.center_id

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        answer = await client.get("/who", headers={"Authorization": f"Bearer {provider.token()}"})
    assert answer.status_code == 401
    assert "retired" in answer.json()["detail"]


async def test_alg_none_and_hmac_with_the_public_key_are_refused(provider: Provider) -> None:
    good = provider.token()
    _, body, _ = good.split(".")
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","kid":"k1"}').rstrip(b"=").decode()
    with pytest.raises(AuthError, match="algorithm 'none'"):
        await verifier(provider).verify(f"{none_header}.{body}.", max_ttl=3600)
    # The classic confusion: HS256 "signed" with the provider's public key as the secret.
    hs_header = base64.urlsafe_b64encode(b'{"alg":"HS256","kid":"k1"}').rstrip(b"=").decode()
    with pytest.raises(AuthError, match="algorithm 'HS256'"):
        await verifier(provider).verify(f"{hs_header}.{body}.c2ln", max_ttl=3600)


async def test_a_forged_signature_is_refused(provider: Provider) -> None:
    header, body, sig = provider.token().split(".")
    forged = sig[:-4] + ("AAAA" if not sig.endswith("AAAA") else "BBBB")
    with pytest.raises(AuthError, match="signature"):
        await verifier(provider).verify(f"{header}.{body}.{forged}", max_ttl=3600)
    # Signed by a key the provider does not publish, under a kid it does.
    stranger = ec.generate_private_key(ec.SECP256R1())
    other = jwt.encode(
        jwt.decode(provider.token(), options={"verify_signature": False}),
        stranger,
        algorithm="ES256",
        headers={"kid": "k1"},
    )
    with pytest.raises(AuthError):
        await verifier(provider).verify(other, max_ttl=3600)


async def test_a_token_outliving_the_cap_is_refused(provider: Provider) -> None:
    now = int(time.time())
    with pytest.raises(AuthError, match="longer than the 600 seconds"):
        await verifier(provider).verify(provider.token(iat=now, exp=now + 3600), max_ttl=600)


async def test_a_revoked_token_id_is_refused(provider: Provider) -> None:
    with pytest.raises(AuthError, match="revoked"):
        await verifier(provider).verify(provider.token(), max_ttl=3600, revoked={"onrt:abc"})


async def test_a_rotated_key_is_fetched_once_and_made_up_kids_cost_no_fetch(
    provider: Provider,
) -> None:
    now = [time.time()]
    checker = verifier(provider, clock=lambda: now[0])
    await checker.verify(provider.token(), max_ttl=3600)
    assert provider.jwks_requests == 1
    # The provider rotates; 31 s later a token under the new key fetches the set once.
    provider.rotate("k2")
    now[0] += 31
    principal = await checker.verify(provider.token(kid="k2"), max_ttl=3600)
    assert principal.role == "clerk"
    assert provider.jwks_requests == 2
    # A flood of made-up key ids within the refetch interval asks the provider nothing.
    for n in range(20):
        with pytest.raises(AuthError, match="key the provider does not publish"):
            await checker.verify(_with_kid(provider, f"x{n}"), max_ttl=3600)
    assert provider.jwks_requests == 2


def _with_kid(provider: Provider, kid: str) -> str:
    """A token naming a key id the provider never published (signed with k1)."""
    claims = jwt.decode(provider.token(), options={"verify_signature": False})
    return jwt.encode(claims, provider.keys["k1"], algorithm="RS256", headers={"kid": kid})


async def test_provider_down_is_unavailable_yet_known_keys_still_verify(
    provider: Provider,
) -> None:
    provider.down = True
    attempts = []
    provider_handle = provider.handle

    def counting(request: httpx.Request) -> httpx.Response:
        attempts.append(request.url.path)
        return provider_handle(request)

    cold = OidcVerifier(
        OidcSettings(issuer=ISSUER, role_claim="realm_access.roles"),
        transport=httpx.MockTransport(counting),
    )
    for _ in range(5):  # an outage is a 503 each time, and asked about once
        with pytest.raises(ProviderUnavailable):
            await cold.verify(provider.token(), max_ttl=3600)
    assert len(attempts) == 1
    provider.down = False
    now = [time.time()]
    warm = verifier(provider, clock=lambda: now[0])
    long_lived = provider.token(exp=int(now[0]) + 8000)
    await warm.verify(long_lived, max_ttl=9000)
    provider.down = True
    now[0] += 4000  # past the key set's age: the refetch fails, the held key still serves
    assert (await warm.verify(long_lived, max_ttl=9000)).center_id == "nam-cuong"
    assert provider.jwks_requests == 1


async def test_motcua_tokens_never_ask_the_provider(provider: Provider) -> None:
    provider.down = True
    settings = ServiceSettings(dev_mode=True)
    own = issue_token(settings.auth_secret.get_secret_value(), center_id="nam-cuong", subject="c1")
    principal = await authenticate(settings, verifier(provider), own)
    assert principal.subject == "c1"
    assert provider.jwks_requests == 0
    with pytest.raises(AuthError, match="not configured"):
        await authenticate(settings, None, provider.token())


def test_jwt_shape() -> None:
    assert looks_like_jwt(Provider().token())
    assert not looks_like_jwt("v1.eyJhIjoxfQ.sig")
    assert not looks_like_jwt("a.b")


def test_only_asymmetric_algorithms_can_be_configured() -> None:
    with pytest.raises(ValueError, match="RS256"):
        OidcSettings(issuer=ISSUER, algorithms="HS256")
    with pytest.raises(ValueError, match="RS256"):
        OidcSettings(issuer=ISSUER, algorithms="none")
    with pytest.raises(ValueError, match="https"):
        OidcVerifier(OidcSettings(issuer="http://sso.example.gov.vn/realms/p"))
    assert OidcSettings(issuer="http://127.0.0.1:8080/realms/p").algorithms == ("RS256", "ES256")
