"""Keycloak's access tokens at the services' APIs: the right one is accepted and kept to
its center; every kind of wrong one is refused with a 401 that says why; a rotation of
the realm's keys needs no restart."""

from __future__ import annotations

import asyncio
import base64
import json

import httpx
import jwt
import pytest

from motcua.devtools.keycloak import Keycloak
from motcua.shared.auth import AuthError
from motcua.shared.oidc import OidcVerifier
from motcua.shared.settings import OidcSettings
from tests.sso.conftest import CENTER, Services

pytestmark = pytest.mark.timeout(600)


async def _tickets(services: Services, token: str, center: str = CENTER) -> httpx.Response:
    # Async: the services answer on this test's event loop.
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(
            f"{services.queue}/centers/{center}/tickets",
            params={"status": "called"},
            headers={"Authorization": f"Bearer {token}"},
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_a_clerk_token_is_accepted_and_kept_to_its_center(
    keycloak: Keycloak, services: Services
) -> None:
    token = keycloak.password_token("dev-clerk")
    assert (await _tickets(services, token)).status_code == 200
    other = await _tickets(services, token, center="dong-hoa")
    assert other.status_code == 403, other.text


@pytest.mark.parametrize(
    ("user", "client", "why"),
    [
        ("dev-clerk", "other-app", "aud"),  # another application's token: no motcua audience
        ("stranger", "motcua-tests", "unknown center 'atlantis'"),
        ("no-role", "motcua-tests", "no motcua role"),
    ],
)
async def test_tokens_not_for_motcua_are_refused(
    keycloak: Keycloak, services: Services, user: str, client: str, why: str
) -> None:
    response = await _tickets(services, keycloak.password_token(user, client_id=client))
    assert response.status_code == 401
    assert why in response.text


async def test_another_issuers_token_is_refused(keycloak: Keycloak, services: Services) -> None:
    # The master realm is another issuer of the same server, with keys of its own.
    master = httpx.post(  # noqa: ASYNC210 - Keycloak is another process
        f"{keycloak.url}/realms/master/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": "admin",
            "password": "dev-only-keycloak-admin",
        },
        timeout=10,
    ).json()["access_token"]
    response = await _tickets(services, master)
    assert response.status_code == 401
    assert "issuer" in response.text


async def test_alg_none_and_a_forged_signature_are_refused(
    keycloak: Keycloak, services: Services
) -> None:
    header, body, signature = keycloak.password_token("dev-clerk").split(".")
    unsigned = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    response = await _tickets(services, f"{unsigned}.{body}.")
    assert response.status_code == 401
    assert "algorithm 'none'" in response.text
    # The claims changed to another center, the provider's signature kept.
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["motcua_center"] = "dong-hoa"
    forged = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    response = await _tickets(services, forged, center="dong-hoa")
    assert response.status_code == 401
    assert "signature" in response.text


async def test_an_expired_token_is_refused(keycloak: Keycloak) -> None:
    token = keycloak.password_token("dev-clerk")
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    later = OidcVerifier(
        OidcSettings(issuer=keycloak.issuer), clock=lambda: expires + 61
    )  # past the minute of leeway
    try:
        with pytest.raises(AuthError, match="expired"):
            await later.verify(token, max_ttl=3600)
    finally:
        await later.close()


async def test_a_key_rotation_needs_no_restart(keycloak: Keycloak, services: Services) -> None:
    verifier = services.apps["queue"].state.runtime.oidc
    before = keycloak.password_token("dev-clerk")
    assert (await _tickets(services, before)).status_code == 200
    fetches = verifier.jwks_fetches
    keycloak.rotate_keys()
    await asyncio.sleep(
        1.1
    )  # the refetch interval the tier sets (a made-up kid flood costs one fetch)
    after = keycloak.password_token("dev-clerk")
    old_kid = jwt.get_unverified_header(before)["kid"]
    new_kid = jwt.get_unverified_header(after)["kid"]
    assert new_kid != old_kid, "Keycloak still signs with the old key"
    assert (await _tickets(services, after)).status_code == 200
    assert verifier.jwks_fetches == fetches + 1
    # The old key stays published until it is removed: its tokens still verify.
    assert (await _tickets(services, before)).status_code == 200
