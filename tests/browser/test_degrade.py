"""Pages degrade clearly: a page whose backing service is down says so in plain words,
never with a stack trace, and recovers by itself.

These tests stay off the justice line and counter 1, which the day-at-the-center test uses.
"""

from __future__ import annotations

from typing import Any

import httpx

from motcua.devtools.embedded import free_port
from tests.browser.conftest import CENTER, Stack, browsing, playwright_api, shot

expect = playwright_api().expect

DESK = {"width": 1366, "height": 900}


async def test_queue_pages_say_the_service_is_unavailable_while_its_database_is_down(
    browser: Any, stack: Stack
) -> None:
    async with browsing(browser, viewport={"width": 1280, "height": 800}) as context:
        board = await context.new_page()
        await board.goto(f"{stack.queue}/board")
        live = board.get_by_test_id("live-status")
        await expect(live).to_have_attribute("data-state", "live")

        await stack.proxy.cut()
        try:
            kiosk = await context.new_page()
            response = await kiosk.goto(f"{stack.queue}/kiosk")
            assert response is not None
            assert response.status == 503
            notice = kiosk.get_by_test_id("service-unavailable")
            await expect(notice).to_contain_text("Dịch vụ tạm thời gián đoạn")
            await expect(notice).to_contain_text("Service temporarily unavailable")
            assert "Traceback" not in await kiosk.content()
            await shot(kiosk, "11-kiosk-unavailable")
            # A board already on the wall keeps its last state and says it lost the feed
            # (at its next regular reload, every 15 s).
            await expect(live).to_have_attribute("data-state", "lost", timeout=30_000)
            await shot(board, "12-board-connection-lost")
        finally:
            await stack.proxy.restore()

        # Both come back by themselves: the 503 page reloads, the board reconnects.
        await expect(kiosk.get_by_test_id("kiosk-form")).to_be_visible(timeout=30_000)
        await expect(live).to_have_attribute("data-state", "live", timeout=30_000)


async def _signed_in_console(context: Any, stack: Stack, counter: str) -> Any:
    desk = await context.new_page()
    await desk.goto(f"{stack.queue}/counter")
    await desk.get_by_test_id("signin-token").fill(stack.token(subject="can-bo-4"))
    await desk.get_by_test_id("signin-submit").click()
    await expect(desk.get_by_test_id("workspace")).to_be_visible()
    await desk.get_by_test_id("counter-select").select_option(counter)
    return desk


async def test_the_console_says_when_intake_cannot_be_reached_or_refuses_it(
    browser: Any, stack: Stack
) -> None:
    async with httpx.AsyncClient(base_url=stack.queue, timeout=10) as client:
        for _ in range(2):
            r = await client.post(f"/centers/{CENTER}/tickets", json={"line_code": "business"})
            assert r.status_code == 201

    settings = stack.apps["queue"].state.queue.settings
    context = await browser.new_context(viewport=DESK)
    try:
        # Intake down: nothing listens where the console looks for it.
        dead = f"http://127.0.0.1:{free_port()}"
        settings.intake_url = dead
        desk = await _signed_in_console(context, stack, "Q4")
        await expect(desk.get_by_test_id("counter-open")).to_be_enabled()
        await desk.get_by_test_id("counter-open").click()
        await desk.get_by_test_id("call-next").click()
        await expect(desk.get_by_test_id("current-number")).to_have_text("C001")
        await desk.get_by_test_id("start-service").click()
        message = desk.get_by_test_id("intake-message")
        await expect(message).to_contain_text("Không kết nối được dịch vụ tiếp nhận hồ sơ")
        await expect(desk.get_by_test_id("receive-dossier")).to_be_disabled()
        await shot(desk, "13-console-intake-down")
        # Intake answers again (the browser is handed its real catalog): "Retry" loads it.
        async with httpx.AsyncClient(timeout=10) as client:
            catalog = (await client.get(f"{stack.intake}/v1/procedures")).text

        async def intake_back(route: Any) -> None:
            await route.fulfill(status=200, content_type="application/json", body=catalog)

        await context.route(f"{dead}/v1/procedures", intake_back)
        await desk.get_by_test_id("intake-retry").click()
        await expect(message).to_be_hidden()
        await expect(desk.locator('option[value="CUTRU-TAMTRU"]')).to_have_count(1)
        await expect(desk.get_by_test_id("receive-dossier")).to_be_enabled()
        # The ticket is not stuck: it can be finished without a dossier.
        await desk.get_by_test_id("finish-service").click()
        await expect(desk.get_by_test_id("current-number")).to_have_text("—")

        # A live service that does not allow the queue's origin (deadlines stands in for an
        # intake without the CORS setting): the browser refuses its answers.
        settings.intake_url = stack.deadlines
        refused = await _signed_in_console(context, stack, "Q4")
        await expect(refused.get_by_test_id("call-next")).to_be_enabled()
        await refused.get_by_test_id("call-next").click()
        await expect(refused.get_by_test_id("current-number")).to_have_text("C002")
        await refused.get_by_test_id("start-service").click()
        await expect(refused.get_by_test_id("intake-message")).to_contain_text("(CORS)")
        await shot(refused, "14-console-intake-cors")
        await refused.get_by_test_id("finish-service").click()
        await expect(refused.get_by_test_id("current-number")).to_have_text("—")
        await refused.get_by_test_id("counter-close").click()
        await expect(refused.get_by_test_id("counter-state")).to_have_attribute(
            "data-open", "false"
        )
    finally:
        settings.intake_url = stack.intake
        await context.close()
