"""Concurrent kiosks and counters against the real PostgreSQL, through real HTTP requests."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import asyncpg

from tests.integration.queue.conftest import Desk, QueueEnv
from tests.support.waiting import eventually

COUNTERS = ["Q1", "Q2", "Q3", "Q4", "Q5"]
SHARED_LINES = ["justice", "land", "other"]


async def test_concurrent_kiosks_get_distinct_gapless_numbers(
    desk: Desk, pg: asyncpg.Connection
) -> None:
    lines = ["justice"] * 40 + ["land"] * 20
    tickets = await asyncio.gather(*(desk.issue(line) for line in lines))
    justice = sorted(t["number"] for t in tickets if t["line_code"] == "justice")
    land = sorted(t["number"] for t in tickets if t["line_code"] == "land")
    assert justice == [f"A{i:03d}" for i in range(1, 41)]
    assert land == [f"B{i:03d}" for i in range(1, 21)]
    assert len({t["lookup_code"] for t in tickets}) == 60
    stored = await pg.fetchval(
        "SELECT count(*) FROM queue.tickets WHERE center_id = $1", desk.center
    )
    assert stored == 60


async def test_simultaneous_call_next_from_many_counters_never_shares_a_ticket(
    desk: Desk, pg: asyncpg.Connection, queue_env: QueueEnv
) -> None:
    for counter in COUNTERS:
        await desk.open(counter, SHARED_LINES)  # every counter competes for every ticket
    issued = []
    for i in range(30):
        reason = "elderly" if i % 7 == 0 else None
        issued.append(await desk.issue(SHARED_LINES[i % 3], priority_reason=reason))

    # 20 call-next requests at the same moment, 4 per counter: each counter gets exactly one
    # ticket (its own calls serialise), and no two counters get the same one.
    burst = await asyncio.gather(*(desk.call_raw(c) for c in COUNTERS * 4))
    statuses = Counter(r.status_code for r in burst)
    assert statuses == Counter({200: 5, 409: 15})
    holding = {r.json()["counter_id"]: r.json() for r in burst if r.status_code == 200}
    assert sorted(holding) == COUNTERS
    assert len({t["ticket_id"] for t in holding.values()}) == 5

    async def work(counter: str, current: dict[str, Any] | None) -> list[str]:
        """Finish the ticket in hand, call the next one, until the queue is empty."""
        served = []
        while current is not None:
            served.append(current["ticket_id"])
            await desk.act(counter, current, "finish")
            current = await desk.call(counter)
        return served

    served = await asyncio.gather(*(work(c, holding[c]) for c in COUNTERS))
    everything = [t for per_counter in served for t in per_counter]
    assert len(everything) == len(set(everything)) == 30  # none twice, none lost
    assert set(everything) == {t["ticket_id"] for t in issued}
    calls = await pg.fetch(
        "SELECT ticket_id, count(*) AS n FROM queue.ticket_log "
        "WHERE center_id = $1 AND kind = 'ticket.called' GROUP BY ticket_id",
        desk.center,
    )
    assert len(calls) == 30
    assert all(r["n"] == 1 for r in calls)
    statuses_now = await pg.fetch(
        "SELECT DISTINCT status FROM queue.tickets WHERE center_id = $1", desk.center
    )
    assert [r["status"] for r in statuses_now] == ["served"]

    expected = {"counter.opened": 5, "ticket.issued": 30, "ticket.called": 30}
    expected["ticket.service_completed"] = 30
    events = await eventually(
        lambda: queue_env.events(desk.center),
        until=lambda e: len(e) >= sum(expected.values()),
        what="every event",
    )
    assert Counter(e.event_type for e in events) == expected
    called_ids = [str(e.data.ticket_id) for e in events if e.event_type == "ticket.called"]
    assert sorted(called_ids) == sorted(everything)
