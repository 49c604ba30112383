"""Time-dependent rules with a frozen clock: waiting estimates, daily statistics, midnight."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from motcua.services.queue.domain import Status, Ticket, queue_position
from tests.integration.queue.conftest import Desk, FakeClock, QueueEnv
from tests.support.waiting import eventually


def _oracle_positions(waiting: list[dict[str, Any]], issued: list[dict[str, Any]]) -> list[int]:
    """Positions by the pure rule, from the tickets' issue order."""
    order = {t["number"]: i for i, t in enumerate(issued)}
    at = datetime(2025, 1, 1, tzinfo=UTC)
    tickets = {
        w["number"]: Ticket(
            ticket_id=uuid.uuid5(uuid.NAMESPACE_DNS, w["number"]),
            center_id="c",
            local_day=at.date(),
            issued_line_code=w["line_code"],
            line_code=w["line_code"],
            seq=order[w["number"]],
            number=w["number"],
            lookup_code="X",
            priority_reason="elderly" if w["priority"] else None,
            status=Status.WAITING,
            issued_at=at,
            order_at=at,
            queued_at=at,
            issue_seq=order[w["number"]],
        )
        for w in waiting
    }
    return [queue_position(tickets[w["number"]], tickets.values()) for w in waiting]


async def test_estimated_wait_follows_position_open_counters_and_recent_service(
    desk: Desk, clock: FakeClock, client: httpx.AsyncClient
) -> None:
    await desk.open("Q1")  # justice
    await desk.open("Q2")  # justice, other
    issued = []
    for i in range(5):
        reason = "pregnancy" if i == 3 else None
        issued.append(await desk.issue("justice", priority_reason=reason))
        clock.advance(seconds=10)
    # No service history yet: the line's default (600 s), two counters serve justice.
    waiting = await desk.get("/waiting")
    assert [w["number"] for w in waiting] == ["A004", "A001", "A002", "A003", "A005"]
    assert [w["position"] for w in waiting] == [1, 2, 3, 4, 5]
    assert [w["position"] for w in waiting] == _oracle_positions(waiting, issued)
    assert [w["estimated_wait_seconds"] for w in waiting] == [300, 600, 900, 1200, 1500]

    called = await desk.call("Q1")
    assert called is not None
    assert called["number"] == "A004"
    clock.advance(seconds=240)
    await desk.act("Q1", called, "finish")  # served in 240 s (timed from the call)

    newcomer = await desk.issue("justice")  # A001..A003 and A005 ahead of it
    assert (newcomer["position"], newcomer["estimated_wait_seconds"]) == (5, 600)
    a3 = issued[2]
    status = (await client.get(f"/tickets/{a3['lookup_code'].lower()}")).json()
    assert (status["number"], status["position"], status["estimated_wait_seconds"]) == (
        "A003",
        3,
        360,
    )
    await desk.call("Q2")  # takes A001: A003 moves up
    status = (await client.get(f"/tickets/{a3['lookup_code']}")).json()
    assert (status["position"], status["estimated_wait_seconds"]) == (2, 240)
    await desk.close("Q1")
    status = (await client.get(f"/tickets/{a3['lookup_code']}")).json()
    assert (status["position"], status["estimated_wait_seconds"]) == (2, 480)


async def test_daily_statistics_known_answer(desk: Desk, clock: FakeClock) -> None:
    t0 = clock.now  # 08:30 local, 27 Nov 2025

    def at(seconds: int) -> None:
        clock.now = t0 + timedelta(seconds=seconds)

    await desk.open("Q1")  # justice
    await desk.open("Q3")  # land
    a1 = await desk.issue("justice")
    at(60)
    a2 = await desk.issue("justice")
    at(120)
    b1 = await desk.issue("land")
    at(180)
    a3 = await desk.issue("justice")

    at(300)
    assert (await desk.call("Q1") or {})["number"] == "A001"  # waited 300
    at(360)
    await desk.act("Q1", a1, "start")
    at(960)
    await desk.act("Q1", a1, "finish")  # service 600
    at(1000)
    assert (await desk.call("Q1") or {})["number"] == "A002"  # waited 940
    for t in (1030, 1060, 1090):
        at(t)
        await desk.act("Q1", a2, "recall")  # third recall: no-show
    at(1100)
    assert (await desk.call("Q3") or {})["number"] == "B001"  # waited 980
    at(1200)
    await desk.act("Q3", b1, "transfer", {"line_code": "justice"})
    at(1300)
    assert (await desk.call("Q1") or {})["number"] == "B001"  # 100 since the transfer
    at(1600)
    await desk.act("Q1", b1, "finish")  # service 300, timed from the call
    at(1700)
    assert (await desk.call("Q1") or {})["number"] == "A003"  # waited 1520
    await desk.act("Q1", a3, "start")
    at(2600)
    await desk.act("Q1", a3, "finish")  # service 900

    # The public distribution (no token) counts the same five calls by minutes waited:
    # 300 s, 940 s, 980 s, 100 s after the transfer, 1520 s.
    r = await desk.client.get(
        f"/centers/{desk.center}/stats/waiting",
        params={"day": "2025-11-27"},
        headers={"Origin": "http://127.0.0.1:8003"},
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "http://127.0.0.1:8003"
    waiting = r.json()
    assert waiting["calls"] == 5
    assert {b["label"]: b["count"] for b in waiting["buckets"]} == {
        "0–5": 1, "5–10": 1, "10–15": 0, "15–20": 2, "20–30": 1, "30–45": 0, "45–60": 0, "≥60": 0,
    }  # fmt: skip
    assert "number" not in r.text

    stats = await desk.get("/stats", day="2025-11-27")
    assert stats["day"] == "2025-11-27"
    zero = {"issued": 0, "called": 0, "served": 0, "no_show": 0, "transferred": 0}
    zero |= {"cancelled": 0, "requeued": 0}
    none = {"mean_wait_seconds": None, "p90_wait_seconds": None, "mean_service_seconds": None}
    assert stats["total"] == zero | {
        "issued": 4,
        "called": 5,
        "served": 3,
        "no_show": 1,
        "transferred": 1,
        "mean_wait_seconds": 768.0,
        "p90_wait_seconds": 1520.0,
        "mean_service_seconds": 600.0,
    }
    lines = {x.pop("line_code"): x for x in stats["lines"]}
    assert lines["justice"] == zero | {
        "issued": 3,
        "called": 4,
        "served": 3,
        "no_show": 1,
        "mean_wait_seconds": 715.0,
        "p90_wait_seconds": 1520.0,
        "mean_service_seconds": 600.0,
    }
    assert lines["land"] == zero | none | {
        "issued": 1,
        "called": 1,
        "transferred": 1,
        "mean_wait_seconds": 980.0,
        "p90_wait_seconds": 980.0,
    }
    assert lines["business"] == zero | none
    counters = {x.pop("counter_id"): x for x in stats["counters"]}
    assert counters["Q1"] == lines["justice"] | {"issued": 0}
    assert counters["Q3"] == zero | none | {
        "called": 1,
        "transferred": 1,
        "mean_wait_seconds": 980.0,
        "p90_wait_seconds": 980.0,
    }
    other_day = await desk.get("/stats", day="2025-11-26")
    assert other_day["total"] == zero | none


async def test_numbers_restart_at_local_midnight_and_grow_past_999(
    desk: Desk, clock: FakeClock, pg: asyncpg.Connection
) -> None:
    clock.now = datetime(2025, 11, 27, 16, 58, tzinfo=UTC)  # 23:58 in Hanoi
    await desk.open("Q1")
    first = await desk.issue("justice")
    stale = await desk.issue("justice")
    assert (first["number"], stale["number"]) == ("A001", "A002")
    called = await desk.call("Q1")
    assert called is not None
    for _ in range(3):
        await desk.act("Q1", first, "recall")  # the third makes A001 a no-show

    clock.now = datetime(2025, 11, 27, 17, 1, tzinfo=UTC)  # 00:01 on the 28th
    fresh = await desk.issue("justice")
    assert fresh["number"] == "A001"
    called = await desk.call("Q1")
    assert called is not None
    assert called["ticket_id"] == fresh["ticket_id"]
    await desk.act("Q1", called, "finish")
    assert await desk.call("Q1") is None  # yesterday's A002 is not called today
    refused = await desk.ticket_op(first, "requeue", expect=409)
    assert "only on the day it was issued" in refused["error"]

    await pg.execute(
        "UPDATE queue.ticket_sequences SET last_seq = 999 "
        "WHERE center_id = $1 AND line_code = 'justice' AND local_day = '2025-11-28'",
        desk.center,
    )
    assert (await desk.issue("justice"))["number"] == "A1000"
    assert (await desk.issue("justice"))["number"] == "A1001"


async def test_repeated_idempotency_key_returns_the_same_ticket_and_one_event(
    desk: Desk, client: httpx.AsyncClient, queue_env: QueueEnv
) -> None:
    url = f"/centers/{desk.center}/tickets"
    key = {"Idempotency-Key": "kiosk-7:000123"}
    first = await client.post(url, json={"line_code": "land"}, headers=key)
    again = await client.post(url, json={"line_code": "land"}, headers=key)
    other = await client.post(url, json={"line_code": "land"})
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert first.json()["ticket_id"] == again.json()["ticket_id"]
    assert other.json()["number"] == "B002"
    reused = await client.post(url, json={"line_code": "justice"}, headers=key)
    assert reused.status_code == 409
    assert "Idempotency-Key" in reused.json()["error"]
    events = await eventually(
        lambda: queue_env.events(desk.center), until=lambda e: len(e) >= 2, what="events"
    )
    assert [e.event_type for e in events] == ["ticket.issued", "ticket.issued"]
