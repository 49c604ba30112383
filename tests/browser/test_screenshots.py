"""The screenshots of the user guides (docs/vi, docs/en), taken from the running pages.

Each page the guides show is opened in a browser and checked to have rendered; with
``MOTCUA_SCREENSHOTS=<folder>`` set (``make screenshots`` sets it to
docs/assets/screenshots) each is also saved there as a PNG, so that the guides show the
pages as they are today. Without the variable it is an ordinary test of the same pages.

It works on the "other procedures" line and counter Q2, asserts nothing about ticket
numbers, and marks absent any ticket the other browser tests left waiting there, so that it
passes alone or after them.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import CENTER, Stack, page_errors, playwright_api
from tests.support.waiting import eventually

expect = playwright_api().expect

# Small enough for the repository, wide enough for the console's two columns.
VIEWPORT = {"width": 1280, "height": 800}
LINE = "other"
COUNTER = "Q2"
PROCEDURE = "CUTRU-TAMTRU"


async def received(stack: Stack) -> int:
    """Dossiers of this test's procedure the deadlines service has counted, near today."""
    today = datetime.now(UTC).date()
    period = {"from": str(today - timedelta(days=2)), "to": str(today + timedelta(days=2))}
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(
            f"{stack.deadlines}/v1/statistics/on-time",
            params={"center": CENTER, **period},
            headers=stack.auth(),
        )
    answer.raise_for_status()
    rows = answer.json()["by_procedure"]
    return sum(r["received"] for r in rows if r["procedure_code"] == PROCEDURE)


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
        # Tickets the other browser tests left waiting on the line come first: mark them absent.
        current = page.get_by_test_id("current-number")
        for _ in range(20):
            await page.get_by_test_id("call-next").click()
            await expect(current).not_to_have_text("—")
            if (await current.inner_text()).strip() == ticket:
                break
            await page.get_by_test_id("no-show").click()
            await expect(current).to_have_text("—")
        await expect(current).to_have_text(ticket)
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

        # The leaders' dashboard, once the bus has carried the dossier to deadlines.
        await eventually(lambda: received(stack), until=lambda n: n > 0, what="the dossier")
        await page.goto(f"{stack.deadlines}/dashboard?center={CENTER}")
        await page.get_by_test_id("sign-in-token").fill(stack.token("leader", "lanh-dao"))
        await page.get_by_test_id("sign-in-submit").click()
        row = page.locator(f'[data-testid="row-procedure"][data-key="{PROCEDURE}"]')
        await expect(row.get_by_test_id("cell-received")).not_to_have_attribute("data-value", "0")
        await save(page, "dashboard")
    finally:
        await context.close()
