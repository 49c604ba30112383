"""Come at your time, in a browser: book on the phone, get the SMS in the dev inbox,
check in at the kiosk, see the number called on the board and the booking counted on
the leaders' dashboard; take a number from the phone, confirm arrival by the door's
QR code, get called.

The queue's clock is frozen on a working morning (slots and check-in windows are
real times), and notify runs beside the package's stack with its dev inbox, on the
same topics and database. Both tests leave the counters they open closed, for the
package's other tests.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from motcua.devtools.embedded import free_port
from motcua.services.notify.app import create_app as create_notify
from motcua.services.notify.settings import NotifySettings
from motcua.services.queue.usecases import QueueService
from motcua.shared.settings import DatabaseSettings
from tests.browser.conftest import (
    CENTER,
    CONTACT_KEY,
    SECRET,
    Stack,
    page_errors,
    playwright_api,
    shot,
)
from tests.support.serving import serve
from tests.support.waiting import eventually

expect = playwright_api().expect

PHONE = {"width": 390, "height": 844}
KIOSK = {"width": 1280, "height": 1024}
TV = {"width": 1920, "height": 1080}
DESK = {"width": 1366, "height": 900}
MORNING = datetime(2025, 11, 27, 1, 0, tzinfo=UTC)  # Thursday 08:00 in Hanoi
SLOT_0900 = "2025-11-27T02:00:00+00:00"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(stack: Stack) -> Iterator[Clock]:
    service: QueueService = stack.apps["queue"].state.queue
    real = service.clock
    fake = Clock(MORNING)
    service.clock = fake
    try:
        yield fake
    finally:
        service.clock = real


@pytest.fixture(scope="module")
async def notify_url(stack: Stack) -> AsyncIterator[str]:
    queue_settings = stack.apps["queue"].state.runtime.settings
    settings = NotifySettings(
        db=DatabaseSettings(url=stack.database_url, pool_min=1, pool_max=5),
        kafka=queue_settings.kafka,
        log_format="console",
        auth_secret=SECRET,
        contact_key=CONTACT_KEY,
        dev_inbox=True,
        quiet_hours_start="00:00",
        quiet_hours_end="00:00",
        poll_seconds=0.2,
    )
    port = free_port()
    async with serve(create_notify(settings), port):
        yield f"http://127.0.0.1:{port}"


class Desk:
    """A counter driven over the API, closed again at the end."""

    def __init__(self, stack: Stack, counter: str) -> None:
        self.client = httpx.AsyncClient(base_url=stack.queue, headers=stack.auth(), timeout=30)
        self.base = f"/centers/{CENTER}/counters/{counter}"
        self.holding: str | None = None

    async def __aenter__(self) -> Desk:
        r = await self.client.post(f"{self.base}/open", json={"line_codes": ["justice", "land"]})
        assert r.status_code == 200, r.text
        return self

    async def call(self) -> dict[str, Any]:
        r = await self.client.post(f"{self.base}/call-next")
        assert r.status_code == 200, r.text
        ticket: dict[str, Any] = r.json()
        self.holding = ticket["ticket_id"]
        return ticket

    async def __aexit__(self, *_: object) -> None:
        if self.holding:
            await self.client.post(f"{self.base}/tickets/{self.holding}/finish")
        await self.client.post(f"{self.base}/close")
        await self.client.aclose()


async def test_book_on_the_phone_sms_in_the_inbox_check_in_at_the_kiosk_called_on_the_board(
    browser: Any, stack: Stack, clock: Clock, notify_url: str
) -> None:
    phone_ctx = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    kiosk_ctx = await browser.new_context(viewport=KIOSK)
    tv_ctx = await browser.new_context(viewport=TV)
    desk_ctx = await browser.new_context(viewport=DESK)
    try:
        # -- 1. On the phone: the free slots of a line, one booked with an SMS.
        phone = await phone_ctx.new_page()
        errors = page_errors(phone)
        await phone.goto(f"{stack.queue}/book?line=justice")
        await expect(phone.get_by_test_id("booking-day").first).to_be_visible()
        await phone.locator(f'input[name="slot_start"][value="{SLOT_0900}"]').check()
        phone_number = "0903" + datetime.now(UTC).strftime("%H%M%S")
        await phone.get_by_test_id("booking-phone").fill(phone_number)
        await phone.get_by_test_id("booking-consent").check()
        await shot(phone, "appointments-01-book")
        await phone.get_by_test_id("booking-submit").click()
        await expect(phone.get_by_test_id("booking-code")).to_be_visible()
        code = (await phone.get_by_test_id("booking-code").inner_text()).strip()
        await expect(phone.get_by_test_id("booking-time")).to_contain_text("09:00")
        await expect(phone.get_by_test_id("booking-qr").locator("svg")).to_be_visible()
        await shot(phone, "appointments-02-booked")

        # -- 2. The confirmation SMS, in the dev inbox.
        inbox = await phone_ctx.new_page()
        await eventually(
            lambda: _inbox_has(inbox, notify_url, code), timeout=60, what="the SMS in the inbox"
        )
        await shot(inbox, "appointments-03-sms")

        # -- 3. At the kiosk, in the check-in window: the code gives a ticket.
        clock.now = MORNING + timedelta(minutes=45)  # 08:45
        kiosk = await kiosk_ctx.new_page()
        page_errors(kiosk, errors)
        await kiosk.goto(f"{stack.queue}/kiosk")
        await kiosk.get_by_test_id("checkin-code").fill(code.lower())
        await kiosk.get_by_test_id("checkin-submit").click()
        await expect(kiosk.get_by_test_id("ticket-number")).to_have_text(re.compile(r"^A\d{3}$"))
        number = (await kiosk.get_by_test_id("ticket-number").inner_text()).strip()
        await shot(kiosk, "appointments-04-kiosk-ticket")
        # The same code again: refused, in words.
        await kiosk.goto(f"{stack.queue}/kiosk?lang=en")
        await kiosk.get_by_test_id("checkin-code").fill(code)
        await kiosk.get_by_test_id("checkin-submit").click()
        await expect(kiosk.get_by_test_id("kiosk-error")).to_contain_text("already been used")

        # -- 4. At 09:00 a counter calls: the board shows the booked citizen's number.
        clock.now = MORNING + timedelta(hours=1)
        board = await tv_ctx.new_page()
        page_errors(board, errors)
        await board.goto(f"{stack.queue}/board")
        await expect(board.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
        async with Desk(stack, "Q1") as desk:
            called = await desk.call()
            assert called["number"] == number
            await expect(board.get_by_test_id("call-text")).to_contain_text(number)
            await shot(board, "appointments-05-board")

        # -- 5. The leaders' dashboard counts the booking and the check-in.
        leader = await desk_ctx.new_page()  # signs in after a 401: its console is not checked
        await leader.goto(f"{stack.deadlines}/dashboard?center={CENTER}")
        await leader.get_by_test_id("sign-in-token").fill(stack.token("leader", "lanh-dao"))
        await leader.get_by_test_id("sign-in-submit").click()
        figures = leader.get_by_test_id("queue-appointments")
        await expect(figures).to_be_visible()
        await expect(figures.locator('[data-field="booked"]')).to_have_text("1")
        await expect(figures.locator('[data-field="checked_in"]')).to_have_text("1")
        await expect(figures.locator('[data-field="no_show"]')).to_have_text("0")
        await shot(leader, "appointments-06-dashboard")
        # The refused second check-in answers 409, which the console reports; nothing else.
        assert [e for e in errors if "status of 409" not in e] == []
    finally:
        for ctx in (phone_ctx, kiosk_ctx, tv_ctx, desk_ctx):
            await ctx.close()


async def _inbox_has(page: Any, notify_url: str, code: str) -> bool:
    await page.goto(f"{notify_url}/dev/inbox")
    text = await page.content()
    assert code in text
    return True


async def test_a_remote_number_confirmed_at_the_door_then_called(
    browser: Any, stack: Stack, clock: Clock
) -> None:
    clock.now = MORNING + timedelta(minutes=30)
    phone_ctx = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        phone = await phone_ctx.new_page()
        errors = page_errors(phone)
        await phone.goto(f"{stack.queue}/remote?lang=en")
        await phone.get_by_test_id("remote-phone").fill(
            "0904" + datetime.now(UTC).strftime("%H%M%S")
        )
        await phone.get_by_test_id("remote-consent").check()
        await phone.get_by_test_id("remote-line-land").click()
        await expect(phone.get_by_test_id("ticket-number")).to_have_text(re.compile(r"^B\d{3}$"))
        await expect(phone.get_by_test_id("ticket-confirm-arrival")).to_be_visible()
        lookup = (await phone.get_by_test_id("ticket-lookup-code").inner_text()).strip()
        await shot(phone, "appointments-07-remote-ticket")

        async with Desk(stack, "Q3") as desk:
            skipped = await desk.client.post(f"{desk.base}/call-next")
            assert skipped.status_code == 204  # nobody here yet: the remote number is skipped
            door = (await desk.client.get(f"/centers/{CENTER}/door-code")).json()["door_code"]
            # The QR code on the door opens this page; the citizen types their code.
            await phone.goto(f"{stack.queue}/door?center={CENTER}&code={door}&lang=en")
            await phone.get_by_test_id("door-ticket-code").fill(lookup)
            await phone.get_by_test_id("door-submit").click()
            await expect(phone.get_by_test_id("ticket-status")).to_have_attribute(
                "data-status", "waiting"
            )
            await expect(phone.get_by_test_id("ticket-confirm-arrival")).to_have_count(0)
            called = await desk.call()
            assert called["lookup_code"] == lookup
            await expect(phone.get_by_test_id("ticket-status")).to_have_attribute(
                "data-status", "called"
            )
            await shot(phone, "appointments-08-remote-called")
        assert errors == []
    finally:
        await phone_ctx.close()
