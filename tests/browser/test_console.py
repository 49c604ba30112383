"""The counter console: its sign-in, and the actions on a ticket at a counter.

These tests use counter 3 (land) and the land line, which no other browser test touches."""

from __future__ import annotations

from typing import Any

import httpx

from motcua.shared.auth import issue_token
from tests.browser.conftest import (
    CENTER,
    SECRET,
    Stack,
    browsing,
    page_errors,
    playwright_api,
)

expect = playwright_api().expect


async def test_the_console_signs_in_only_with_a_token_of_its_center(
    browser: Any, stack: Stack
) -> None:
    async with browsing(browser, viewport={"width": 1024, "height": 800}) as context:
        desk = await context.new_page()
        errors = page_errors(desk)
        await desk.goto(f"{stack.queue}/counter?lang=en")
        token = desk.get_by_test_id("signin-token")
        message = desk.get_by_test_id("console-message")

        await desk.get_by_test_id("signin-submit").click()
        await expect(message).to_have_text("Please enter the access token.")

        await token.fill("v1.not-a.token")
        await desk.get_by_test_id("signin-submit").click()
        await expect(message).to_contain_text("not valid or has expired")
        await expect(desk.get_by_test_id("workspace")).to_be_hidden()

        await token.fill(issue_token(SECRET, center_id="elsewhere", subject="x"))
        await desk.get_by_test_id("signin-submit").click()
        await expect(message).to_contain_text("for another center")
        await expect(desk.get_by_test_id("workspace")).to_be_hidden()
        assert await desk.evaluate("sessionStorage.length") == 0

        await token.fill(stack.token(subject="can-bo-2"))
        await desk.get_by_test_id("signin-submit").click()
        await expect(desk.get_by_test_id("workspace")).to_be_visible()
        await desk.reload()
        await expect(desk.get_by_test_id("signed-in-as")).to_contain_text("can-bo-2")
        await desk.get_by_test_id("signout").click()
        await expect(desk.get_by_test_id("signin-section")).to_be_visible()
        assert await desk.evaluate("sessionStorage.getItem('motcua.queue.token')") is None
        # Refused requests log as failed loads; nothing else may go wrong on the page.
        assert [e for e in errors if "status of 40" not in e] == []


async def test_the_console_recalls_until_no_show_and_transfers(browser: Any, stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.queue, timeout=10) as client:
        for _ in range(2):
            r = await client.post(f"/centers/{CENTER}/tickets", json={"line_code": "land"})
            assert r.status_code == 201
    async with browsing(browser, viewport={"width": 1366, "height": 900}) as context:
        desk = await context.new_page()
        await desk.goto(f"{stack.queue}/counter")
        await desk.get_by_test_id("signin-token").fill(stack.token(subject="can-bo-3"))
        await desk.get_by_test_id("signin-submit").click()
        await desk.get_by_test_id("counter-select").select_option("Q3")
        await expect(desk.get_by_test_id("counter-open")).to_be_enabled()
        await desk.get_by_test_id("counter-open").click()
        message = desk.get_by_test_id("console-message")
        status = desk.get_by_test_id("current-status")

        await desk.get_by_test_id("call-next").click()
        await expect(desk.get_by_test_id("current-number")).to_have_text("B001")
        for calls in (2, 3):
            await desk.get_by_test_id("recall").click()
            await expect(message).to_have_text(f"Đã gọi lại số B001 ({calls} lần gọi)")
        # Past the allowed calls the ticket is a no-show and the counter is free again.
        await desk.get_by_test_id("recall").click()
        await expect(message).to_have_text("Đã ghi nhận vắng mặt: B001")
        await expect(desk.get_by_test_id("current-number")).to_have_text("—")

        await desk.get_by_test_id("call-next").click()
        await expect(desk.get_by_test_id("current-number")).to_have_text("B002")
        await expect(status).to_have_attribute("data-status", "called")
        await desk.get_by_test_id("transfer-line").select_option("other")
        await desk.get_by_test_id("transfer").click()
        await expect(message).to_have_text("Đã chuyển số B002 → Lĩnh vực khác")
        await expect(desk.get_by_test_id("current-number")).to_have_text("—")
        await expect(desk.get_by_test_id("waiting-count-other")).to_have_text("1")
        await desk.get_by_test_id("call-next").click()
        await expect(message).to_have_text("Không còn ai chờ ở các lĩnh vực của quầy này.")
        await desk.get_by_test_id("counter-close").click()
        await expect(desk.get_by_test_id("counter-state")).to_have_attribute("data-open", "false")
    async with httpx.AsyncClient(base_url=stack.queue, timeout=10) as client:
        moved = await client.get(
            f"/centers/{CENTER}/tickets", params={"status": "waiting"}, headers=stack.auth()
        )
        assert [(t["number"], t["line_code"]) for t in moved.json()] == [("B002", "other")]
        gone = await client.get(
            f"/centers/{CENTER}/tickets", params={"status": "no_show"}, headers=stack.auth()
        )
        assert [t["number"] for t in gone.json()] == ["B001"]
