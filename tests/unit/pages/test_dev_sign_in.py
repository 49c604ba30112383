"""The dev stack's one-click sign-in: a code signs in once, only the page it names, only
for a minute, and outside dev mode its route does not exist."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import httpx
import pytest

from motcua.devtools.landing import sign_in_location
from motcua.services.deadlines.app import create_app as create_deadlines
from motcua.services.deadlines.settings import DeadlinesSettings
from motcua.services.deadlines.sign_in import COOKIE
from motcua.services.queue.app import create_app as create_queue
from motcua.services.queue.settings import QueueSettings
from motcua.shared.auth import AuthError, verify_token
from motcua.shared.dev_sign_in import CODE_SECONDS, mint, read

SECRET = secrets.token_urlsafe(48)
DASHBOARD = "/dashboard/sign-in/dev"
COUNTER = "/counter/sign-in/dev"


def _client(service: str, **settings: Any) -> httpx.AsyncClient:
    strong = {k: secrets.token_urlsafe(48) for k in ("contact_key", "lookup_pepper")}
    if service == "deadlines":
        app = create_deadlines(DeadlinesSettings(auth_secret=SECRET, **strong, **settings))
    else:
        app = create_queue(QueueSettings(auth_secret=SECRET, **strong, **settings))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://dev.test")


def _cookie_token(response: httpx.Response) -> str | None:
    for cookie in response.headers.get_list("set-cookie"):
        if cookie.startswith(f"{COOKIE}="):
            return cookie.split(";")[0].split("=", 1)[1]
    return None


async def test_the_leaders_link_signs_in_once() -> None:
    code = mint(SECRET, "dashboard", "nam-cuong")
    async with _client("deadlines", dev_mode=True) as client:
        first = await client.get(DASHBOARD, params={"code": code})
        assert first.status_code == 200
        token = _cookie_token(first)
        assert token is not None
        principal = verify_token(SECRET, token)
        assert (principal.role, principal.center_id) == ("leader", "nam-cuong")
        assert "/dashboard?center=nam-cuong" in first.text  # it goes on to the dashboard
        again = await client.get(DASHBOARD, params={"code": code})
        assert again.status_code == 401
        assert _cookie_token(again) is None


async def test_the_clerks_link_hands_the_console_a_clerks_token_once() -> None:
    code = mint(SECRET, "counter", "nam-cuong")
    async with _client("queue", dev_mode=True) as client:
        first = await client.get(COUNTER, params={"code": code})
        assert first.status_code == 200
        [token] = re.findall(r'data-token="([^"]+)"', first.text)
        assert verify_token(SECRET, token).role == "clerk"
        assert first.headers["cache-control"] == "no-store"
        again = await client.get(COUNTER, params={"code": code})
        assert again.status_code == 401
        assert "data-token" not in again.text


async def test_a_code_opens_only_its_page_and_only_with_our_secret() -> None:
    async with _client("deadlines", dev_mode=True) as client:
        console_code = mint(SECRET, "counter", "nam-cuong")
        assert (await client.get(DASHBOARD, params={"code": console_code})).status_code == 401
        foreign = mint(secrets.token_urlsafe(48), "dashboard", "nam-cuong")
        assert (await client.get(DASHBOARD, params={"code": foreign})).status_code == 401
        assert (await client.get(DASHBOARD, params={"code": "v1.e30.x"})).status_code == 401
        assert (await client.get(DASHBOARD)).status_code == 401


def test_a_code_lives_a_minute() -> None:
    code = mint(SECRET, "dashboard", "nam-cuong", now=time.time() - CODE_SECONDS - 1)
    with pytest.raises(AuthError, match="expired"):
        read(SECRET, code, "dashboard")


@pytest.mark.parametrize(("service", "path"), [("deadlines", DASHBOARD), ("queue", COUNTER)])
async def test_outside_dev_mode_the_route_does_not_exist(service: str, path: str) -> None:
    code = mint(SECRET, "dashboard" if service == "deadlines" else "counter", "nam-cuong")
    async with _client(service, dev_mode=False) as client:
        assert (await client.get(path, params={"code": code})).status_code == 404


def test_the_landing_links_mint_a_fresh_code_each_click() -> None:
    urls = {"deadlines": "http://127.0.0.1:8004", "queue": "http://127.0.0.1:8001"}
    first = sign_in_location("/sign-in/leader", urls, SECRET, "nam-cuong")
    second = sign_in_location("/sign-in/leader", urls, SECRET, "nam-cuong")
    assert first is not None
    assert second is not None
    assert first.startswith(f"http://127.0.0.1:8004{DASHBOARD}?code=dev1.")
    assert first != second
    clerk = sign_in_location("/sign-in/clerk", urls, SECRET, "nam-cuong")
    assert clerk is not None
    assert clerk.startswith(f"http://127.0.0.1:8001{COUNTER}?code=")
    assert sign_in_location("/sign-in/admin", urls, SECRET, "nam-cuong") is None
