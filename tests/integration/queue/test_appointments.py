"""Appointments over real HTTP, on the real PostgreSQL and broker: slots, booking,
the race for the last place, rescheduling, cancelling and refusals."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from motcua.services.queue.booking import Bookings
from tests.integration.queue.conftest import CenterRules, Desk, FakeClock, QueueEnv
from tests.support.waiting import eventually

NOW = datetime(2025, 11, 27, 1, 30, tzinfo=UTC)  # Thursday 08:30 in Hanoi
FRIDAY_0900 = "2025-11-28T02:00:00+00:00"  # Friday 09:00 in Hanoi
FRIDAY_0915 = "2025-11-28T02:15:00+00:00"
SATURDAY_0900 = "2025-11-29T02:00:00+00:00"


@pytest.fixture
def bookings(queue_env: QueueEnv, clock: FakeClock) -> Bookings:
    """The service's bookings on the frozen clock (Thursday 08:30 in Hanoi)."""
    svc: Bookings = queue_env.app.state.bookings
    assert svc.clock() == NOW
    return svc


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
    key = {"Idempotency-Key": "move-1"}
    moved = await client.post(path, json={"slot_start": FRIDAY_0915}, headers=key)
    assert moved.status_code == 200, moved.text
    assert moved.json()["code"] == code
    assert moved.json()["slot_start"] == "2025-11-28T02:15:00Z"
    assert (await book(client, center, FRIDAY_0900)).status_code == 201  # the old place
    # The same request again (a retry after a lost answer) changes nothing.
    before = await stored(pg, center)
    retried = await client.post(path, json={"slot_start": FRIDAY_0915}, headers=key)
    assert retried.status_code == 200
    assert retried.json()["slot_start"] == "2025-11-28T02:15:00Z"
    assert await stored(pg, center) == before


async def test_the_daily_cap_closes_a_line_for_the_day(
    client: httpx.AsyncClient, center: str, bookings: Bookings, own_rules: CenterRules
) -> None:
    own_rules(center, reserved_counters=2, daily_cap_per_line=2)
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


async def check_in(client: httpx.AsyncClient, center: str, code: str, **params: str) -> Any:
    return await client.post(f"/centers/{center}/appointments/{code}/check-in", params=params)


async def test_check_in_within_the_window_issues_an_appointment_ticket_once(
    client: httpx.AsyncClient,
    center: str,
    bookings: Bookings,
    clock: FakeClock,
    queue_env: QueueEnv,
) -> None:
    code = (await book(client, center, FRIDAY_0900)).json()["code"]
    clock.now = datetime(2025, 11, 28, 1, 25, tzinfo=UTC)  # 08:25: 35 minutes early
    early = await check_in(client, center, code, lang="en")
    assert early.status_code == 422
    assert early.json()["details"][0]["field"] == "code"
    clock.now = datetime(2025, 11, 28, 1, 40, tzinfo=UTC)  # 08:40
    came = await check_in(client, center, code)
    assert came.status_code == 201, came.text
    ticket = came.json()
    assert ticket["line_code"] == "justice"
    assert ticket["appointment_id"] is not None
    again = await check_in(client, center, code, lang="en")
    assert again.status_code == 409
    assert again.json()["error"] == "This booking code has already been used for a ticket."
    state = (await client.get(f"/centers/{center}/appointments/{code}")).json()
    assert state["status"] == "checked_in"
    elsewhere = await check_in(client, next(queue_env.center_ids), code, lang="en")
    assert elsewhere.status_code == 404
    assert elsewhere.json()["error"] == "This booking code is not for this center."

    async def checked_in() -> Any:
        found = [e for e in await queue_env.events(center) if e.event_type.startswith("appoint")]
        assert [e.event_type for e in found] == ["appointment.booked", "appointment.checked_in"]
        return found[-1]

    event = await eventually(checked_in)
    assert str(event.data.ticket_id) == ticket["ticket_id"]


async def test_a_due_booking_is_called_before_earlier_walk_ins_but_cannot_starve_them(
    client: httpx.AsyncClient,
    desk: Desk,
    bookings: Bookings,
    own_rules: CenterRules,
    clock: FakeClock,
) -> None:
    center = desk.center
    own_rules(center, reserved_counters=2, daily_cap_per_line=100)
    codes = [(await book(client, center, FRIDAY_0900)).json()["code"] for _ in range(2)]
    codes += [(await book(client, center, FRIDAY_0915)).json()["code"] for _ in range(2)]
    clock.now = datetime(2025, 11, 28, 1, 46, tzinfo=UTC)  # 08:46
    walk_ins = [await desk.issue("justice") for _ in range(3)]
    answers = [await check_in(client, center, c) for c in codes]
    assert [a.status_code for a in answers] == [201] * 4
    booked = [a.json() for a in answers]
    await desk.open("Q1", ["justice"])
    # Before 09:00 nobody's slot has begun: the walk-ins who came first go first.
    first = await desk.call("Q1")
    assert first is not None
    assert first["ticket_id"] == walk_ins[0]["ticket_id"]
    await desk.act("Q1", first, "finish")
    clock.now = datetime(2025, 11, 28, 2, 20, tzinfo=UTC)  # 09:20: all four slots begun
    order = []
    for _ in range(6):
        called = await desk.call("Q1")
        assert called is not None
        order.append(called["ticket_id"])
        await desk.act("Q1", called, "finish")
    # The guard (MAX_PRIORITY_IN_ROW = 2 in these tests) lets a walk-in through after
    # two bookings in a row while walk-ins wait.
    ids = [t["ticket_id"] for t in booked]
    assert order == [
        ids[0],
        ids[1],
        walk_ins[1]["ticket_id"],
        ids[2],
        ids[3],
        walk_ins[2]["ticket_id"],
    ]

    # The dashboard's figures: a booked citizen's wait starts at the slot, not at an
    # early check-in (20, 20, 5 and 5 minutes); the walk-ins waited 0, 34 and 34.
    stats = (await client.get(f"/centers/{center}/stats/waiting?day=2025-11-28")).json()
    assert stats["appointments"] == {
        "booked": 4,
        "checked_in": 4,
        "no_show": 0,
        "cancelled": 0,
        "mean_wait_booked_seconds": 750.0,
        "mean_wait_walk_in_seconds": 1360.0,
    }


async def test_a_booking_not_checked_in_in_time_becomes_a_no_show(
    client: httpx.AsyncClient,
    center: str,
    bookings: Bookings,
    clock: FakeClock,
    queue_env: QueueEnv,
) -> None:
    late = (await book(client, center, FRIDAY_0900)).json()["code"]
    kept = (await book(client, center, FRIDAY_0915)).json()["code"]
    clock.now = datetime(2025, 11, 28, 2, 16, tzinfo=UTC)  # 09:16: 09:00's window closed
    closed = await check_in(client, center, late)
    assert closed.status_code == 409
    assert closed.json()["code"] == "check_in_closed"
    async with queue_env.app.state.runtime.read() as conn:
        await bookings.mark_no_shows(conn)
    assert (await client.get(f"/centers/{center}/appointments/{late}")).json()[
        "status"
    ] == "no_show"
    assert (await client.get(f"/centers/{center}/appointments/{kept}")).json()["status"] == "booked"

    async def no_show() -> Any:
        found = [e for e in await queue_env.events(center) if e.event_type == "appointment.no_show"]
        assert len(found) == 1
        return found[0]

    assert (await eventually(no_show)).data.code == late


async def test_racing_bookers_of_different_slots_never_pass_the_daily_cap(
    client: httpx.AsyncClient,
    center: str,
    bookings: Bookings,
    own_rules: CenterRules,
    pg: asyncpg.Connection,
) -> None:
    own_rules(center, reserved_counters=2, daily_cap_per_line=5)
    slots = [f"2025-11-28T{h:02d}:{m:02d}:00+00:00" for h in (1, 2, 3) for m in (0, 15, 30, 45)]
    answers = await asyncio.gather(*(book(client, center, slots[i % 12]) for i in range(20)))
    assert Counter(r.status_code for r in answers) == Counter({201: 5, 409: 15})
    assert sum(r[-1] for r in (await stored(pg, center))["slots"]) == 5


async def test_a_contact_given_when_booking_travels_sealed_for_notify_only(
    client: httpx.AsyncClient, center: str, bookings: Bookings, queue_env: QueueEnv
) -> None:
    contact = {"kind": "phone", "value": "0912 345 678", "consent": True, "language": "en"}
    answer = await client.post(
        f"/centers/{center}/appointments",
        json={"line_code": "justice", "slot_start": FRIDAY_0900, "contact": contact},
    )
    assert answer.status_code == 201, answer.text
    assert "0912" not in answer.text

    async def booked() -> Any:
        found = [e for e in await queue_env.events(center) if e.event_type == "appointment.booked"]
        assert len(found) == 1
        return found[0]

    event = await eventually(booked)
    assert event.data.contact.language == "en"
    assert "0912345678" not in event.to_bytes().decode()
    no_consent = await client.post(
        f"/centers/{center}/appointments",
        json={
            "line_code": "justice",
            "slot_start": FRIDAY_0915,
            "contact": contact | {"consent": False},
        },
    )
    assert no_consent.status_code == 422
    assert "contact" in no_consent.text
