"""The screenshots of the user guides (docs/vi, docs/en), taken from the running pages.

Each page the guides show is opened in a browser and checked to have rendered; with
``MOTCUA_SCREENSHOTS=<folder>`` set (``make screenshots`` sets it to
docs/assets/screenshots) each is also saved there as a PNG, so that the guides show the
pages as they are today. Without the variable it is an ordinary test of the same pages.

It works on the "other procedures" line and counter Q2, which the other browser tests
leave alone, and asserts nothing about ticket numbers, so that it passes after them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import CENTER, Stack, page_errors, playwright_api
from tests.support.waiting import eventually

expect = playwright_api().expect

# Small enough for the repository, wide enough for the console's two columns.
VIEWPORT = {"width": 1280, "height": 800}
LINE = "other"
COUNTER = "Q2"
PROCEDURE = "CUTRU-TAMTRU"


@pytest.fixture
def folder() -> Path | None:
    """Where to save the screenshots: ``MOTCUA_SCREENSHOTS``, or nowhere when it is unset."""
    named = os.environ.get("MOTCUA_SCREENSHOTS")
    if not named:
        return None
    path = Path(named)
    path.mkdir(parents=True, exist_ok=True)
    return path


async def test_the_pages_of_the_user_guides(
    browser: Any, stack: Stack, folder: Path | None
) -> None:
    async def save(page: Any, name: str) -> None:
        """Save the page's viewport as ``<name>.png`` when screenshots are asked for."""
        if folder is not None:
            await page.screenshot(path=str(folder / f"{name}.png"), full_page=False)

    context = await browser.new_context(viewport=VIEWPORT, locale="vi-VN")
    try:
        page = await context.new_page()
        errors = page_errors(page)

        # The kiosk, then a ticket on the line this test uses.
        await page.goto(f"{stack.queue}/kiosk")
        await expect(page.get_by_test_id("center-name")).to_contain_text("Nam Cường")
        await save(page, "kiosk")
        await page.get_by_test_id(f"line-{LINE}").click()
        await expect(page.get_by_test_id("ticket-number")).to_have_text(re.compile(r"^E\d{3}$"))
        ticket = (await page.get_by_test_id("ticket-number").inner_text()).strip()

        # The counter console: sign in, open the counter, call and serve the ticket.
        await page.goto(f"{stack.queue}/counter")
        await expect(page.get_by_test_id("signin-section")).to_be_visible()
        await save(page, "console-sign-in")
        await page.get_by_test_id("signin-token").fill(stack.token())
        await page.get_by_test_id("signin-submit").click()
        await expect(page.get_by_test_id("signed-in-as")).to_have_text(f"can-bo-1 · {CENTER}")
        await page.get_by_test_id("counter-select").select_option(COUNTER)
        await page.get_by_test_id("counter-open").click()
        await expect(page.get_by_test_id("counter-state")).to_have_attribute("data-open", "true")
        await page.get_by_test_id("call-next").click()
        await expect(page.get_by_test_id("current-number")).to_have_text(ticket)
        await save(page, "console")
        await page.get_by_test_id("start-service").click()
        await expect(page.get_by_test_id("receive-section")).to_be_visible()
        procedure = page.get_by_test_id("procedure-select")
        await expect(procedure.locator(f'option[value="{PROCEDURE}"]')).to_have_count(1)
        await procedure.select_option(PROCEDURE)
        await page.get_by_test_id("document-item").first.check()
        await page.get_by_test_id("applicant-name").fill("Trần Thị Bình")
        await page.get_by_test_id("receive-section").scroll_into_view_if_needed()
        await save(page, "console-receive")
        await page.get_by_test_id("receive-dossier").click()
        await expect(page.get_by_test_id("dossier-code")).to_have_text(re.compile(r"^NC-"))
        code = (await page.get_by_test_id("dossier-code").inner_text()).strip()
        receipt = page.frame_locator('[data-testid="receipt-frame"]')
        await expect(receipt.locator("body")).to_contain_text(code)
        await page.get_by_test_id("receipt-section").scroll_into_view_if_needed()
        await save(page, "console-receipt")
        text = await receipt.locator("body").inner_text()
        found = re.search(r"Mã tra cứu \(bí mật\):\s*(\S+)", text)
        assert found is not None, text

        # The display board, with the call still on it.
        await page.goto(f"{stack.queue}/board")
        await expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
        await save(page, "board")

        # The citizen's lookup, with the code and secret printed on the receipt.
        await page.goto(f"{stack.intake}/lookup?code={code}")
        await expect(page.get_by_test_id("lookup-code")).to_have_value(code)
        await page.get_by_test_id("lookup-secret").fill(found.group(1))
        await page.get_by_test_id("lookup-submit").click()
        await expect(page.get_by_test_id("lookup-result")).to_be_visible()
        await expect(page.get_by_test_id("dossier-code")).to_have_text(code)
        await save(page, "lookup")
        # No script error, no blocked resource, on the pages before the dashboard's sign-in
        # (whose 401 the browser reports as a console error).
        assert errors == [], "\n".join(errors)

        # The leaders' dashboard, signed in with a leader's token.
        await page.goto(f"{stack.deadlines}/dashboard?center={CENTER}")
        await page.get_by_test_id("sign-in-token").fill(stack.token("leader", "lanh-dao"))
        await page.get_by_test_id("sign-in-submit").click()
        received = page.get_by_test_id("kpi-received")
        await expect(received).to_be_visible()

        async def counted() -> str | None:
            await page.reload()
            return await received.get_attribute("data-value")

        # The dossier reaches the dashboard over the bus: wait for it to be counted.
        await eventually(counted, until=lambda v: v not in (None, "0"), interval=0.5)
        await expect(page.get_by_test_id("headline")).not_to_be_empty()
        await save(page, "dashboard")
    finally:
        await context.close()
