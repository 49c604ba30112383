"""The staff sign-in through Keycloak's own login form, in Debian's Chromium: the
dashboard as a leader, the counter console as a clerk."""

from __future__ import annotations

from typing import Any

import pytest

from motcua.devtools.keycloak import Keycloak
from tests.sso.conftest import CENTER, Services

pytestmark = pytest.mark.timeout(600)


async def _log_in_at_keycloak(page: Any, keycloak: Keycloak, user: str) -> None:
    await page.wait_for_url(f"{keycloak.issuer}/protocol/openid-connect/auth*")
    await page.fill("#username", user)
    await page.fill("#password", user)
    await page.click("#kc-login")


async def test_a_leader_reaches_the_dashboard_through_keycloaks_login(
    browser: Any, keycloak: Keycloak, services: Services
) -> None:
    context = await browser.new_context()
    try:
        page = await context.new_page()
        first = await page.goto(f"{services.deadlines}/dashboard?lang=en")
        assert first is not None
        assert first.status == 401
        await page.click("[data-testid=sign-in-provider]")
        await _log_in_at_keycloak(page, keycloak, "dev-leader")
        await page.wait_for_url(f"{services.deadlines}/dashboard?*")
        await page.wait_for_selector("[data-testid=sign-out]")
        cookies = {c["name"]: c for c in await context.cookies()}
        kept = cookies["motcua_dashboard_token"]
        assert kept["httpOnly"]
        assert kept["sameSite"] == "Strict"
        assert kept["value"].count(".") == 2  # Keycloak's access token, a JWT
        assert "motcua_oidc_flow" not in cookies  # spent by the callback
    finally:
        await context.close()


async def test_a_clerk_reaches_the_counter_console_through_keycloaks_login(
    browser: Any, keycloak: Keycloak, services: Services
) -> None:
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(f"{services.queue}/counter?center={CENTER}&lang=en")
        await page.click("[data-testid=signin-provider]")
        await _log_in_at_keycloak(page, keycloak, "dev-clerk")
        await page.wait_for_url(f"{services.queue}/counter?*")
        await page.wait_for_selector("[data-testid=workspace]:not([hidden])")
        who = await page.text_content("[data-testid=signed-in-as]")
        assert who is not None
        assert "dev-clerk" in who
        # Signing out ends the provider's session too (a shared counter PC).
        await page.click("[data-testid=signout]")
        await page.wait_for_url(f"{keycloak.issuer}/protocol/openid-connect/logout*")
    finally:
        await context.close()
