"""The dashboard's sign-in: a CSRF token on the form, and a Secure cookie behind TLS."""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx

from motcua.services.deadlines.app import create_app
from motcua.services.deadlines.settings import DeadlinesSettings
from motcua.services.deadlines.sign_in import COOKIE, CSRF_COOKIE
from motcua.shared.auth import issue_token

SECRET = secrets.token_urlsafe(48)


def _client(peer: str = "127.0.0.1", **settings: Any) -> httpx.AsyncClient:
    # Strong values for every secret: a production-mode process refuses weak ones.
    strong = {k: secrets.token_urlsafe(48) for k in ("contact_key", "lookup_pepper")}
    app = create_app(DeadlinesSettings(auth_secret=SECRET, **strong, **settings))
    transport = httpx.ASGITransport(app=app, client=(peer, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://dashboard.test")


def _token() -> str:
    return issue_token(SECRET, center_id="nam-cuong", subject="lanh-dao", role="leader")


async def _form_csrf(client: httpx.AsyncClient, **headers: str) -> tuple[str, httpx.Response]:
    form = await client.get("/dashboard/sign-in", headers=headers)
    [csrf] = re.findall(r'name="csrf" value="([^"]+)"', form.text)
    return csrf, form


async def test_a_post_without_the_forms_csrf_token_signs_nobody_in() -> None:
    async with _client() as client:
        forged = await client.post("/dashboard/sign-in", data={"token": _token()})
        assert forged.status_code == 403
        assert COOKIE not in forged.headers.get("set-cookie", "")
        csrf, _ = await _form_csrf(client)
        wrong = await client.post(
            "/dashboard/sign-in", data={"token": _token(), "csrf": csrf[::-1]}
        )
        assert wrong.status_code == 403
        ok = await client.post("/dashboard/sign-in", data={"token": _token(), "csrf": csrf})
        assert ok.status_code == 303
        assert f"{COOKIE}=" in ok.headers["set-cookie"]


async def test_another_sites_form_lacks_the_cookie_even_with_a_value() -> None:
    async with _client() as attacker, _client() as victim:
        csrf, _ = await _form_csrf(attacker)  # the attacker's own valid pair
        r = await victim.post("/dashboard/sign-in", data={"token": _token(), "csrf": csrf})
        assert r.status_code == 403


async def _cookie_after_sign_in(client: httpx.AsyncClient, **headers: str) -> str:
    csrf, _ = await _form_csrf(client, **headers)
    # A browser sends a Secure cookie back over https only; here the hop is plain http.
    sent = headers | {"Cookie": f"{CSRF_COOKIE}={csrf}"}
    r = await client.post(
        "/dashboard/sign-in", data={"token": _token(), "csrf": csrf}, headers=sent
    )
    assert r.status_code == 303, r.text
    return next(c for c in r.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}="))


async def test_the_cookie_is_secure_behind_a_tls_terminating_proxy() -> None:
    https = {"X-Forwarded-Proto": "https"}
    async with _client(trusted_proxies="127.0.0.1") as behind_ingress:
        assert "secure" in (await _cookie_after_sign_in(behind_ingress, **https)).lower()
    async with _client(peer="203.0.113.9", trusted_proxies="127.0.0.1") as direct:
        # Anyone can write the header: only our proxy's counts (dev mode, plain http).
        assert "secure" not in (await _cookie_after_sign_in(direct, **https)).lower()


async def test_outside_development_the_cookie_is_always_secure() -> None:
    async with _client(dev_mode=False) as client:
        assert "secure" in (await _cookie_after_sign_in(client)).lower()
