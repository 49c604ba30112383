"""A day at the center in a browser: a citizen takes a ticket at the kiosk, sees it on the
display board and on a phone, is called and served at the counter console, leaves with a
printed receipt, looks the dossier up at home, and the leaders' dashboard counts it.

One test, because each step needs the one before; each step takes a screenshot into
tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.browser.conftest import (
    ARTIFACTS,
    CENTER,
    SPEECH_RECORDER,
    Stack,
    page_errors,
    playwright_api,
    shot,
)
from tests.support.waiting import eventually

expect = playwright_api().expect

TV = {"width": 1920, "height": 1080}
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1366, "height": 900}
KIOSK = {"width": 1280, "height": 1024}


async def test_a_citizen_from_the_kiosk_to_the_leaders_dashboard(
    browser: Any, stack: Stack
) -> None:
    kiosk_ctx = await browser.new_context(viewport=KIOSK)
    phone_ctx = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    tv_ctx = await browser.new_context(viewport=TV)
    await tv_ctx.add_init_script(SPEECH_RECORDER)
    desk_ctx = await browser.new_context(viewport=DESK)
    leader_ctx = await browser.new_context(viewport=DESK)
    try:
        # -- 1. The kiosk: one touch on a service prints a ticket.
        kiosk = await kiosk_ctx.new_page()
        errors = page_errors(kiosk)
        await kiosk.goto(f"{stack.queue}/kiosk")
        await expect(kiosk.get_by_test_id("center-name")).to_contain_text("Nam Cường")
        await shot(kiosk, "01-kiosk")
        await kiosk.get_by_test_id("lang-switch").click()
        await expect(kiosk.locator("h1")).to_have_text("Take a queue ticket")
        await shot(kiosk, "01-kiosk-en")
        await kiosk.get_by_test_id("lang-switch").click()
        await expect(kiosk.locator("h1")).to_have_text("Lấy số thứ tự")
        await kiosk.get_by_test_id("line-justice").click()
        await expect(kiosk.get_by_test_id("ticket-number")).to_have_text("A001")
        await expect(kiosk.get_by_test_id("ticket-qr").locator("svg")).to_be_visible()
        await expect(kiosk.get_by_test_id("ticket-position")).to_have_text("1")
        code = (await kiosk.get_by_test_id("ticket-lookup-code").inner_text()).strip()
        status_url = await kiosk.get_by_test_id("ticket-qr").get_attribute("data-url")
        assert status_url == f"{stack.queue}/ticket/{code}"
        await shot(kiosk, "02-kiosk-ticket")
        await kiosk.emulate_media(media="print")
        await shot(kiosk, "02-kiosk-ticket-print")

        # The QR code's page, on the citizen's phone.
        phone = await phone_ctx.new_page()
        page_errors(phone, errors)
        await phone.goto(status_url)
        await expect(phone.get_by_test_id("ticket-status")).to_have_attribute(
            "data-status", "waiting"
        )

        # -- 2. The display board counts the ticket; announcements switched on by hand.
        board = await tv_ctx.new_page()
        page_errors(board, errors)
        await board.goto(f"{stack.queue}/board")
        justice = board.locator('[data-testid="board-line"][data-line="justice"]')
        await expect(justice.get_by_test_id("board-line-waiting")).to_have_text("1")
        await expect(board.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
        await board.get_by_test_id("speech-toggle").click()
        await expect(board.get_by_test_id("speech-toggle")).to_have_attribute(
            "aria-pressed", "true"
        )
        await shot(board, "03-board")

        # -- 3. The counter console: sign in, open counter 1, call the next ticket.
        desk = await desk_ctx.new_page()
        page_errors(desk, errors)
        await desk.goto(f"{stack.queue}/counter")
        await desk.get_by_test_id("signin-token").fill(stack.token())
        await desk.get_by_test_id("signin-submit").click()
        await expect(desk.get_by_test_id("workspace")).to_be_visible()
        await expect(desk.get_by_test_id("signed-in-as")).to_have_text(f"can-bo-1 · {CENTER}")
        await desk.get_by_test_id("counter-select").select_option("Q1")
        await desk.get_by_test_id("counter-open").click()
        await expect(desk.get_by_test_id("counter-state")).to_have_attribute("data-open", "true")
        await desk.get_by_test_id("call-next").click()
        await expect(desk.get_by_test_id("current-number")).to_have_text("A001")
        await expect(desk.get_by_test_id("current-status")).to_have_attribute(
            "data-status", "called"
        )

        # The board highlights the call and says it in Vietnamese.
        await expect(board.get_by_test_id("call-banner")).to_be_visible()
        await expect(board.get_by_test_id("call-text")).to_have_text("Mời số A001 đến quầy 1")
        q1 = board.locator('.counter-card[data-counter="Q1"]')
        await expect(q1).to_have_class(re.compile(r"\bflash\b"))
        await expect(q1.get_by_test_id("board-counter-number")).to_have_text("A001")
        await board.wait_for_function("window.__spoken.length >= 2")
        spoken = await board.evaluate("window.__spoken")
        assert spoken[-1] == {"text": "Mời số A 0 0 1 đến quầy 1", "lang": "vi-VN"}
        await shot(board, "04-board-call")
        await phone.goto(f"{status_url}?lang=en")
        await expect(phone.get_by_test_id("ticket-status-label")).to_contain_text("Called")
        await shot(phone, "05-phone-called-en")
        await phone.goto(status_url)
        # ... and the phone shows where to go, without a reload.
        await expect(phone.get_by_test_id("ticket-status")).to_have_attribute(
            "data-status", "called"
        )
        await expect(phone.get_by_test_id("ticket-counter")).to_have_text("Quầy 1")
        await shot(phone, "05-phone-called")

        # -- 4. Serve, receive a dossier from the ticket, print the receipt.
        await desk.get_by_test_id("start-service").click()
        await expect(desk.get_by_test_id("receive-section")).to_be_visible()
        procedure = desk.get_by_test_id("procedure-select")
        await expect(procedure.locator('option[value="CT-BANSAO"]')).to_have_count(1)
        await procedure.select_option("CT-BANSAO")
        documents = desk.get_by_test_id("document-item")
        await expect(documents).to_have_count(2)
        await documents.nth(0).check()
        await desk.get_by_test_id("applicant-name").fill("Nguyễn Văn An")
        await shot(desk, "06-console-receive")
        await desk.get_by_test_id("receive-dossier").click()
        await expect(desk.get_by_test_id("dossier-code")).to_have_text(re.compile(r"^NC-"))
        dossier_code = (await desk.get_by_test_id("dossier-code").inner_text()).strip()
        receipt = desk.frame_locator('[data-testid="receipt-frame"]')
        await expect(receipt.locator("h1")).to_have_text("PHIẾU TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ")
        await expect(receipt.locator("body")).to_contain_text(dossier_code)
        await expect(receipt.locator("body")).to_contain_text("Nguyễn Văn An")
        await expect(desk.get_by_test_id("console-message")).to_contain_text(
            f"Đã kết thúc số và gắn hồ sơ {dossier_code}"
        )
        await expect(desk.get_by_test_id("current-number")).to_have_text("—")
        await expect(desk.get_by_test_id("print-receipt")).to_be_enabled()
        await shot(desk, "07-console-receipt")
        text = await receipt.locator("body").inner_text()
        found = re.search(r"Mã tra cứu \(bí mật\):\s*(\S+)", text)
        assert found is not None, text
        secret = found.group(1)

        # The receipt as printed on paper.
        printed = await desk_ctx.new_page()
        await printed.set_content(await receipt.locator(":root").evaluate("e => e.outerHTML"))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await printed.pdf(path=str(ARTIFACTS / "browser-08-receipt.pdf"), format="A4")
        await printed.emulate_media(media="print")
        await shot(printed, "08-receipt")

        # The ticket was finished with the dossier's link.
        async with httpx.AsyncClient(timeout=10) as client:
            ticket = (await client.get(f"{stack.queue}/tickets/{code}")).json()
            assert ticket["status"] == "served"
            assert ticket["dossier_id"] is not None
            dossier = await client.get(
                f"{stack.intake}/v1/dossiers/{ticket['dossier_id']}", headers=stack.auth()
            )
            assert dossier.json()["code"] == dossier_code
            assert dossier.json()["ticket"]["ticket_id"] == ticket["ticket_id"]
        await expect(phone.get_by_test_id("ticket-status")).to_have_attribute(
            "data-status", "served"
        )
        # No script error, no blocked resource, on any of the queue's pages.
        assert errors == [], "\n".join(errors)

        # -- 5. The citizen looks the dossier up with the code and secret on the receipt.
        # Intake's page, built alongside this one: its data-testids are taken from
        # motcua/services/intake/templates/pages/lookup.html.
        lookup = await phone_ctx.new_page()
        await lookup.goto(f"{stack.intake}/lookup?code={dossier_code}")
        await expect(lookup.get_by_test_id("lookup-code")).to_have_value(dossier_code)
        await lookup.get_by_test_id("lookup-secret").fill(secret)
        await lookup.get_by_test_id("lookup-submit").click()
        await expect(lookup.get_by_test_id("lookup-result")).to_be_visible()
        await expect(lookup.get_by_test_id("dossier-code")).to_have_text(dossier_code)
        await expect(lookup.get_by_test_id("current-step")).to_have_attribute("data-status", "2")
        assert "Nguyễn Văn An" not in await lookup.content()
        await shot(lookup, "09-lookup")

        # -- 6. The leaders' dashboard counts it once the bus has carried it to deadlines.
        # Deadlines' page, built alongside this one: data-testids from
        # motcua/services/deadlines/templates/pages/dashboard.html and sign_in.html.
        dashboard = await leader_ctx.new_page()
        await dashboard.goto(f"{stack.deadlines}/dashboard?center={CENTER}")
        await dashboard.get_by_test_id("sign-in-token").fill(stack.token("leader", "lanh-dao"))
        await dashboard.get_by_test_id("sign-in-submit").click()
        received = dashboard.get_by_test_id("kpi-received")
        await expect(received).to_be_visible()

        async def counted() -> str | None:
            await dashboard.reload()
            return await received.get_attribute("data-value")

        await eventually(counted, until=lambda v: v == "1", interval=0.5, what="1 received")
        await expect(dashboard.get_by_test_id("kpi-in-progress")).to_have_attribute(
            "data-value", "1"
        )
        # Today's waiting times come from the queue's public statistics: the one call.
        bars = dashboard.get_by_test_id("waiting-bar")
        await expect(bars).to_have_count(8)
        values = [await b.get_attribute("data-value") for b in await bars.all()]
        assert sorted(values) == ["0"] * 7 + ["1"]
        await expect(dashboard.get_by_test_id("queue-stats-unavailable")).to_be_hidden()
        await shot(dashboard, "10-dashboard")
    finally:
        for ctx in (kiosk_ctx, phone_ctx, tv_ctx, desk_ctx, leader_ctx):
            await ctx.close()
