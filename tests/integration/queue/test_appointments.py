"""Appointments over real HTTP, on the real PostgreSQL and broker: slots, booking,
the race for the last place, rescheduling, cancelling and refusals."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from motcua.services.queue.booking import Bookings
from motcua.services.queue.settings import AppointmentSettings
from tests.integration.queue.conftest import FakeClock, QueueEnv
from tests.support.waiting import eventually

NOW = datetime(2025, 11, 27, 1, 30, tzinfo=UTC)  # Thursday 08:30 in Hanoi
FRIDAY_0900 = "2025-11-28T02:00:00+00:00"  # Friday 09:00 in Hanoi
FRIDAY_0915 = "2025-11-28T02:15:00+00:00"
SATURDAY_0900 = "2025-11-29T02:00:00+00:00"


@pytest.fixture
def bookings(queue_env: QueueEnv) -> Iterator[Bookings]:
    """The service's bookings with a frozen clock and its own settings, for one test."""
    svc: Bookings = queue_env.app.state.bookings
    real_clock, real_settings = svc.clock, svc.settings
    svc.clock = FakeClock(NOW)
    try:
        yield svc
    finally:
        svc.clock, svc.settings = real_clock, real_settings


def with_rules(svc: Bookings, center: str, **rules: Any) -> None:
    own = {center: AppointmentSettings(**rules)}
    svc.settings = svc.settings.model_copy(update={"appointment_centers": own})


async def book(
    client: httpx.AsyncClient,
    center: str,
    slot: str,
    *,
    line: str = "justice",
    key: str | None = None,
    **headers: str,
) -> httpx.Response:
    if key:
        headers["Idempotency-Key"] = key
    return await client.post(
        f"/centers/{center}/appointments",
        json={"line_code": line, "slot_start": slot},
        headers=headers,
    )


async def stored(pg: asyncpg.Connection, center: str) -> dict[str, list[tuple[Any, ...]]]:
    queries = {
        "appointments": "SELECT * FROM queue.appointments WHERE center_id = $1 "
        "ORDER BY appointment_id",
        "slots": "SELECT * FROM queue.appointment_slots WHERE center_id = $1 "
        "ORDER BY line_code, slot_start",
        "days": "SELECT * FROM queue.appointment_days WHERE center_id = $1 "
        "ORDER BY line_code, local_day",
    }
    return {k: [tuple(r) for r in await pg.fetch(q, center)] for k, q in queries.items()}


async def test_book_lists_code_and_replays_with_the_same_key(
    client: httpx.AsyncClient, center: str, bookings: Bookings, queue_env: QueueEnv
) -> None:
    slots = (await client.get(f"/centers/{center}/lines/justice/slots?day=2025-11-28")).json()
    assert slots[0]["start"] == "2025-11-28T00:30:00Z"  # 07:30 in Hanoi
    assert len(slots) == 30

    first = await book(client, center, FRIDAY_0900, key="k-1")
    assert first.status_code == 201, first.text
    booking = first.json()
    assert booking["status"] == "booked"
    assert len(booking["code"]) == 8
    again = await book(client, center, FRIDAY_0900, key="k-1")
    assert again.status_code == 200
    assert again.json()["appointment_id"] == booking["appointment_id"]

    # The booked slot (one place: one counter reserved) is no longer listed.
    after = (await client.get(f"/centers/{center}/lines/justice/slots?day=2025-11-28")).json()
    assert "2025-11-28T02:00:00Z" not in {s["start"] for s in after}
    assert len(after) == 29

    got = await client.get(f"/centers/{center}/appointments/{booking['code'].lower()}")
    assert got.json()["appointment_id"] == booking["appointment_id"]

    async def booked_events() -> list[Any]:
        found = [e for e in await queue_env.events(center) if e.event_type.startswith("appoint")]
        assert [e.event_type for e in found] == ["appointment.booked"]
        return found

    (event,) = await eventually(booked_events)
    assert event.data.code == booking["code"]


async def test_twenty_racing_for_the_last_place_get_one_booking_and_nineteen_409(
    client: httpx.AsyncClient, center: str, bookings: Bookings, pg: asyncpg.Connection
) -> None:
    answers = await asyncio.gather(*(book(client, center, FRIDAY_0900) for _ in range(20)))
    assert Counter(r.status_code for r in answers) == Counter({201: 1, 409: 19})
    refusal = next(r for r in answers if r.status_code == 409).json()
    assert refusal["field"] == "slot_start"
    assert refusal["code"] == "slot_full"
    assert "hết chỗ" in refusal["error"]  # Vietnamese unless asked otherwise
    rows = await stored(pg, center)
    assert len(rows["appointments"]) == 1
    assert [r[-1] for r in rows["slots"]] == [1]
    assert [r[-1] for r in rows["days"]] == [1]


async def test_cancel_frees_the_place_and_a_retry_changes_nothing(
    client: httpx.AsyncClient, center: str, bookings: Bookings
) -> None:
    code = (await book(client, center, FRIDAY_0900)).json()["code"]
    assert (await book(client, center, FRIDAY_0900)).status_code == 409
    path = f"/centers/{center}/appointments/{code}/cancel"
    cancelled = await client.post(path, headers={"Idempotency-Key": "c-1"})
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    retry = await client.post(path, headers={"Idempotency-Key": "c-1"})
    assert retry.status_code == 200
    twice = await client.post(path, headers={"Accept-Language": "en"})
    assert twice.status_code == 409
    assert twice.json()["error"] == "This booking cannot be cancelled: it is cancelled."
    assert (await book(client, center, FRIDAY_0900)).status_code == 201


async def test_reschedule_takes_the_new_place_then_frees_the_old(
    client: httpx.AsyncClient, center: str, bookings: Bookings, pg: asyncpg.Connection
) -> None:
    code = (await book(client, center, FRIDAY_0900)).json()["code"]
    other = (await book(client, center, FRIDAY_0915)).json()["code"]
    path = f"/centers/{center}/appointments/{code}/reschedule"
    # The 09:15 place is taken: the booking stays at 09:00.
    full = await client.post(path, json={"slot_start": FRIDAY_0915})
    assert full.status_code == 409
    assert (await client.get(f"/centers/{center}/appointments/{code}")).json()[
        "slot_start"
    ] == "2025-11-28T02:00:00Z"
    await client.post(f"/centers/{center}/appointments/{other}/cancel")
    moved = await client.post(path, json={"slot_start": FRIDAY_0915})
    assert moved.status_code == 200, moved.text
    assert moved.json()["code"] == code
    assert moved.json()["slot_start"] == "2025-11-28T02:15:00Z"
    assert (await book(client, center, FRIDAY_0900)).status_code == 201  # the old place


async def test_the_daily_cap_closes_a_line_for_the_day(
    client: httpx.AsyncClient, center: str, bookings: Bookings
) -> None:
    with_rules(bookings, center, reserved_counters=2, daily_cap_per_line=2)
    assert (await book(client, center, FRIDAY_0900)).status_code == 201
    assert (await book(client, center, FRIDAY_0900)).status_code == 201
    capped = await book(client, center, FRIDAY_0915, **{"Accept-Language": "en-GB,en;q=0.9"})
    assert capped.status_code == 409
    assert capped.json()["code"] == "day_full"
    assert capped.json()["error"] == "This line takes no more bookings on that day."
    slots = (await client.get(f"/centers/{center}/lines/justice/slots?day=2025-11-28")).json()
    assert slots == []


@pytest.mark.parametrize(
    ("slot", "code"),
    [
        ("2025-11-27T01:00:00+00:00", "slot_in_past"),
        (SATURDAY_0900, "slot_day_off"),
        ("2025-11-28T05:00:00+00:00", "slot_outside_hours"),  # 12:00, lunch
        ("2025-11-28T02:05:00+00:00", "slot_outside_hours"),  # not a slot's start
        ("2026-03-02T02:00:00+00:00", "slot_too_far"),
    ],
)
async def test_a_bad_slot_is_refused_in_the_citizens_language_and_leaves_no_trace(
    client: httpx.AsyncClient,
    center: str,
    bookings: Bookings,
    pg: asyncpg.Connection,
    slot: str,
    code: str,
) -> None:
    before = await stored(pg, center)
    vi = await book(client, center, slot)
    en = await client.post(
        f"/centers/{center}/appointments?lang=en",
        json={"line_code": "justice", "slot_start": slot},
    )
    for answer in (vi, en):
        assert answer.status_code == 422, answer.text
        (detail,) = answer.json()["details"]
        assert detail["field"] == "slot_start"
    assert vi.json()["details"][0]["error"] != en.json()["details"][0]["error"]
    assert await stored(pg, center) == before


async def test_codes_unknown_or_from_another_center_are_404(
    client: httpx.AsyncClient, queue_env: QueueEnv, center: str, bookings: Bookings
) -> None:
    code = (await book(client, center, FRIDAY_0900)).json()["code"]
    elsewhere = next(queue_env.center_ids)
    unknown = await client.post(f"/centers/{center}/appointments/ZZZZ2222/cancel?lang=en")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "No booking has this code."
    foreign = await client.post(f"/centers/{elsewhere}/appointments/{code}/cancel")
    assert foreign.status_code == 404
    assert foreign.json()["code"] == "code_other_center"
    assert (await client.get(f"/centers/{center}/appointments/{code}")).json()["status"] == "booked"


async def test_missing_and_naive_fields_are_named(
    client: httpx.AsyncClient, center: str, bookings: Bookings
) -> None:
    missing = await client.post(f"/centers/{center}/appointments", json={"line_code": "justice"})
    assert missing.status_code == 422
    assert "slot_start" in missing.text
    naive = await book(client, center, "2025-11-28T09:00:00")
    assert naive.status_code == 422
    assert "slot_start" in naive.text
    unknown_line = await book(client, center, FRIDAY_0900, line="astrology")
    assert unknown_line.status_code == 404
