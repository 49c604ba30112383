"""The pages' sign-in through the province's provider (authorization code, PKCE, state,
nonce), against the in-process provider; the same flow through Keycloak's login form in
Chromium is tests/sso."""

from __future__ import annotations

import re
import secrets
import time
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from motcua.services.deadlines.app import create_app as create_deadlines
from motcua.services.deadlines.settings import DeadlinesSettings
from motcua.services.deadlines.sign_in import COOKIE
from motcua.services.queue.app import create_app as create_queue
from motcua.services.queue.settings import QueueSettings
from motcua.shared.auth import CurrentPrincipal, issue_token
from motcua.shared.oidc import OidcVerifier
from motcua.shared.settings import OidcSettings, ServiceSettings
from motcua.shared.web.oidc_sign_in import FLOW_COOKIE
from tests.support.oidc_provider import ISSUER, FakeProvider

SECRET = secrets.token_urlsafe(48)
OIDC = OidcSettings(issuer=ISSUER, role_claim="realm_access.roles", provider_name="Cổng tỉnh")
CALLBACK = "/dashboard/sign-in/callback"


def _client(provider: FakeProvider | None, service: str = "deadlines") -> httpx.AsyncClient:
    strong = {k: secrets.token_urlsafe(48) for k in ("contact_key", "lookup_pepper")}
    oidc = OIDC if provider is not None else OidcSettings()
    common: dict[str, Any] = {"auth_secret": SECRET, "dev_mode": True, "oidc": oidc, **strong}
    app = (
        create_deadlines(DeadlinesSettings(**common))
        if service == "deadlines"
        else create_queue(QueueSettings(**common))
    )
    if provider is not None:
        app.state.runtime.oidc = OidcVerifier(OIDC, transport=provider.transport)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://staff.test")


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider()


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in response.headers.get_list("set-cookie")}


async def _start(client: httpx.AsyncClient, path: str) -> httpx.Response:
    started = await client.get(path)
    assert started.status_code == 303, started.text
    return started


async def test_the_sign_in_page_offers_the_provider_only_when_one_is_set(
    provider: FakeProvider,
) -> None:
    async with _client(provider) as client:
        page = await client.get("/dashboard/sign-in")
        assert "Đăng nhập bằng Cổng tỉnh" in page.text
        assert 'name="token"' in page.text  # motcua's own tokens are still pasted
    async with _client(None) as client:
        page = await client.get("/dashboard/sign-in")
        assert "sign-in-provider" not in page.text
        assert (await client.get("/dashboard/sign-in/provider")).status_code == 404
        assert (await client.get(CALLBACK)).status_code == 404


async def test_the_flow_signs_a_leader_into_the_dashboards_cookie(provider: FakeProvider) -> None:
    async with _client(provider) as client:
        started = await _start(client, "/dashboard/sign-in/provider?next=/dashboard")
        url = started.headers["location"]
        assert url.startswith(f"{ISSUER}/auth?")
        query = parse_qs(urlsplit(url).query)
        assert query["redirect_uri"] == [f"http://staff.test{CALLBACK}"]
        assert query["code_challenge_method"] == ["S256"]
        flow = _set_cookies(started)[FLOW_COOKIE].lower()
        assert "httponly" in flow
        assert "samesite=lax" in flow
        assert f"path={CALLBACK}" in flow
        code, state = provider.authorize(url, realm_access={"roles": ["leader"]})
        done = await client.get(CALLBACK, params={"code": code, "state": state})
        assert done.status_code == 200, done.text
        assert 'http-equiv="refresh"' in done.text
        assert "/dashboard?center=nam-cuong" in done.text
        cookies = _set_cookies(done)
        kept = cookies[COOKIE]
        assert "httponly" in kept.lower()
        assert "samesite=strict" in kept.lower()
        assert (
            "max-age=0" in cookies[FLOW_COOKIE].lower() or "expires" in cookies[FLOW_COOKIE].lower()
        )
        # The code is spent: the provider refuses it a second time.
        client.cookies.set(FLOW_COOKIE, started.cookies[FLOW_COOKIE], path=CALLBACK)
        again = await client.get(CALLBACK, params={"code": code, "state": state})
        assert again.status_code == 401


@pytest.mark.parametrize("wrong", ["state", "cookie", "nonce", "provider_error"])
async def test_a_callback_that_does_not_match_signs_nobody_in(
    provider: FakeProvider, wrong: str
) -> None:
    async with _client(provider) as client:
        started = await _start(client, "/dashboard/sign-in/provider")
        extra = {"id_nonce": "replayed"} if wrong == "nonce" else {}
        code, state = provider.authorize(started.headers["location"], **extra)
        params = {"code": code, "state": state}
        if wrong == "state":
            params["state"] = state[::-1]  # a login another site started
        if wrong == "cookie":
            client.cookies.clear()
        if wrong == "provider_error":
            params = {"error": "access_denied", "state": state}
        done = await client.get(CALLBACK, params=params)
        assert done.status_code == 401
        assert COOKIE not in _set_cookies(done)


async def test_the_console_gets_a_clerks_token_in_its_hand_off_page(
    provider: FakeProvider,
) -> None:
    async with _client(provider, "queue") as client:
        started = await _start(client, "/counter/sign-in/provider?center=nam-cuong")
        code, state = provider.authorize(started.headers["location"])
        done = await client.get("/counter/sign-in/callback", params={"code": code, "state": state})
        assert done.status_code == 200, done.text
        assert done.headers["cache-control"] == "no-store"
        [token] = re.findall(r'data-token="([^"]+)"', done.text)
        assert token.count(".") == 2
        assert 'data-next="/counter?' in done.text


async def test_provider_down_is_a_503_and_motcua_tokens_still_pass(
    provider: FakeProvider,
) -> None:
    app = FastAPI()

    now = [time.time()]

    class Runtime:
        settings = ServiceSettings(auth_secret=SECRET, oidc=OIDC)
        oidc = OidcVerifier(OIDC, transport=provider.transport, clock=lambda: now[0])

    app.state.runtime = Runtime()

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, str]:
        return {"role": principal.role}

    provider.down = True
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
        jwt_answer = await client.get(
            "/me", headers={"Authorization": f"Bearer {provider.token()}"}
        )
        assert jwt_answer.status_code == 503
        assert jwt_answer.headers["retry-after"]
        own = issue_token(SECRET, center_id="nam-cuong", subject="c1")
        ok = await client.get("/me", headers={"Authorization": f"Bearer {own}"})
        assert ok.json() == {"role": "clerk"}
        provider.down = False
        now[0] += OIDC.jwks_refetch_seconds  # asked again once the interval has passed
        assert (
            await client.get("/me", headers={"Authorization": f"Bearer {provider.token()}"})
        ).json() == {"role": "clerk"}


async def test_signing_out_ends_the_providers_session_too(provider: FakeProvider) -> None:
    async with _client(provider) as client:
        client.cookies.set(COOKIE, provider.token(), path="/dashboard")
        out = await client.post("/dashboard/sign-out")
        assert out.status_code == 303
        logout = urlsplit(out.headers["location"])
        assert f"{logout.scheme}://{logout.netloc}{logout.path}" == f"{ISSUER}/logout"
        back = parse_qs(logout.query)["post_logout_redirect_uri"]
        assert back == ["http://staff.test/dashboard/sign-in"]
        assert "max-age=0" in _set_cookies(out)[COOKIE].lower()
        # A motcua token's sign-out stays here: the provider knows nothing of it.
        client.cookies.set(COOKIE, issue_token(SECRET, center_id="nam-cuong", subject="l"))
        local = await client.post("/dashboard/sign-out")
        assert local.headers["location"].startswith("/dashboard/sign-in")


async def test_an_expired_provider_token_sends_a_navigation_back_to_the_provider(
    provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = int(time.time())
    expired = provider.token(iat=now - 1200, exp=now - 600)
    async with _client(provider) as client:
        client.cookies.set(COOKIE, expired, path="/dashboard")
        navigate = {"Sec-Fetch-Mode": "navigate"}
        page = await client.get("/dashboard?lang=en", headers=navigate)
        assert page.status_code == 303
        assert (
            page.headers["location"] == "/dashboard/sign-in/provider?next=%2Fdashboard%3Flang%3Den"
        )
        # The live view's background fetch cannot follow the provider: it gets the 401 page
        # and reloads, which is a navigation.
        fetched = await client.get("/dashboard?lang=en", headers={"Sec-Fetch-Mode": "cors"})
        assert fetched.status_code == 401
        # An expired motcua token has no provider session to go back to.
        with monkeypatch.context() as past:  # issued two hours ago, for one
            past.setattr("motcua.shared.auth.time", SimpleNamespace(time=lambda: now - 7200))
            old = issue_token(SECRET, center_id="nam-cuong", subject="l", role="leader", ttl=3600)
        client.cookies.set(COOKIE, old, path="/dashboard")
        assert (await client.get("/dashboard", headers=navigate)).status_code == 401
