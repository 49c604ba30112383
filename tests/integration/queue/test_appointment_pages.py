"""The pages of appointments and remote tickets, as plain forms over real HTTP."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx

from motcua.services.queue.remote_tickets import RemoteTickets
from tests.integration.queue.conftest import Desk, FakeClock, QueueEnv


async def test_book_on_the_phone_then_check_in_at_the_kiosk(
    client: httpx.AsyncClient, center: str, clock: FakeClock
) -> None:
    form = await client.get("/book", params={"center": center, "line": "justice", "lang": "en"})
    assert form.status_code == 200
    slots = re.findall(r'name="slot_start" value="([^"]+)"', form.text)
    assert slots[0] == "2025-11-27T02:00:00+00:00"  # 09:00 today: the first still open
    key = re.search(r'name="request_key" value="([^"]+)"', form.text)
    assert key is not None
    body = {
        "center": center,
        "line_code": "justice",
        "request_key": key[1],
        "slot_start": slots[0],
        "phone": "0912 345 678",
        "consent": "yes",
    }
    booked = await client.post("/book?lang=en", data=body)
    assert booked.status_code == 303
    assert (await client.post("/book?lang=en", data=body)).headers["location"] == (
        booked.headers["location"]  # the same form sent twice: one booking
    )
    page = await client.get(booked.headers["location"])
    code = re.search(r'data-testid="booking-code">([A-Z0-9]+)<', page.text)
    assert code is not None
    assert "Booked" in page.text

    clock.now = datetime(2025, 11, 27, 1, 15, tzinfo=UTC)  # 08:15: 45 minutes early
    early = await client.post(
        "/kiosk/check-in?lang=en", data={"center": center, "booking_code": code[1]}
    )
    assert early.status_code == 422
    assert "Too early" in early.text
    clock.now = datetime(2025, 11, 27, 1, 45, tzinfo=UTC)  # 08:45
    came = await client.post("/kiosk/check-in", data={"center": center, "booking_code": code[1]})
    assert came.status_code == 303
    assert came.headers["location"].startswith("/ticket/")


async def test_a_remote_number_confirmed_at_the_door(
    client: httpx.AsyncClient, desk: Desk, queue_env: QueueEnv, clock: FakeClock
) -> None:
    center = desk.center
    remote: RemoteTickets = queue_env.app.state.remote
    taken = await client.post(
        "/remote",
        data={"center": center, "line_code": "land", "phone": "0987654321", "consent": "yes"},
    )
    assert taken.status_code == 303
    ticket = await client.get(taken.headers["location"])
    assert 'data-testid="ticket-confirm-arrival"' in ticket.text
    lookup = taken.headers["location"].split("/")[-1]
    wrong = await client.post(
        "/door?lang=en", data={"center": center, "door": "AAAAAAAA", "ticket_code": lookup}
    )
    assert wrong.status_code == 422
    assert "Wrong door code" in wrong.text
    door = await client.get("/door", params={"center": center, "code": remote.door_code(center)})
    assert door.status_code == 200
    here = await client.post(
        "/door",
        data={"center": center, "door": remote.door_code(center), "ticket_code": lookup},
    )
    assert here.status_code == 303
    after = await client.get(here.headers["location"])
    assert 'data-testid="ticket-confirm-arrival"' not in after.text
