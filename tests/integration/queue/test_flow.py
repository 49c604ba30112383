"""The ticket lifecycle over HTTP, checked against the real broker and database."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import asyncpg
import httpx
import pytest

from motcua.devtools.bus import read_all
from motcua.shared import crypto
from motcua.shared.events import ticket_correlation
from tests.integration.queue.conftest import CONTACT_KEY, Desk, QueueEnv
from tests.support.waiting import eventually

PHONE = "0912345678"


async def _events(env: QueueEnv, center: str, count: int) -> list[Any]:
    return await eventually(
        lambda: env.events(center), until=lambda e: len(e) >= count, what=f"{count} events"
    )


async def test_every_state_change_emits_exactly_one_event_keyed_by_center(
    desk: Desk, queue_env: QueueEnv, pg: asyncpg.Connection, capfd: pytest.CaptureFixture[str]
) -> None:
    await desk.open("Q1")  # justice
    await desk.open("Q3")  # land
    a1 = await desk.issue("justice", contact={"kind": "phone", "value": PHONE, "consent": True})
    a2 = await desk.issue("justice", priority_reason="elderly")
    b1 = await desk.issue("land")
    assert (a1["number"], a2["number"], b1["number"]) == ("A001", "A002", "B001")

    called = await desk.call("Q1")
    assert called is not None
    assert called["number"] == "A002"
    assert (await desk.act("Q1", a2, "recall"))["call_count"] == 2
    assert (await desk.act("Q1", a2, "recall"))["call_count"] == 3
    assert (await desk.act("Q1", a2, "recall"))["status"] == "no_show"  # three calls, then gone
    assert (await desk.ticket_op(a2, "requeue"))["status"] == "waiting"

    called = await desk.call("Q1")
    assert called is not None
    assert called["number"] == "A002"
    await desk.act("Q1", a2, "start")
    dossier = str(uuid.uuid4())
    done = await desk.act("Q1", a2, "finish", {"dossier_id": dossier})
    assert (done["status"], done["dossier_id"]) == ("served", dossier)

    called = await desk.call("Q1")
    assert called is not None
    assert called["number"] == "A001"
    moved = await desk.act("Q1", a1, "transfer", {"line_code": "land"})
    assert (moved["status"], moved["line_code"], moved["position"]) == ("waiting", "land", 1)

    # A001 keeps its issue time on the land line, so it goes before B001 (issued later).
    called = await desk.call("Q3")
    assert called is not None
    assert called["number"] == "A001"
    await desk.act("Q3", a1, "finish")
    called = await desk.call("Q3")
    assert called is not None
    assert called["number"] == "B001"
    assert (await desk.ticket_op(b1, "cancel"))["status"] == "cancelled"
    assert await desk.call("Q3") is None  # nothing waits: no change, no event
    assert (await desk.close("Q3")).status_code == 200

    expected = Counter(
        {
            "counter.opened": 2,
            "ticket.issued": 3,
            "ticket.called": 5,
            "ticket.recalled": 2,
            "ticket.no_show": 1,
            "ticket.requeued": 1,
            "ticket.service_started": 1,
            "ticket.service_completed": 2,
            "ticket.transferred": 1,
            "ticket.cancelled": 1,
            "counter.closed": 1,
        }
    )
    events = await _events(queue_env, desk.center, sum(expected.values()))
    assert Counter(e.event_type for e in events) == expected
    assert len({e.event_id for e in events}) == len(events)
    messages = await read_all(queue_env.settings.kafka.bootstrap_servers, queue_env.topic)
    mine = [m for m in messages if m.key == desk.center.encode()]
    assert len(mine) == len(events)  # every event of this center is keyed by it
    assert all(PHONE.encode() not in m.value for m in messages)

    # Per-center order on the bus is the order of the changes.
    assert [e.event_type for e in events][:3] == [
        "counter.opened",
        "counter.opened",
        "ticket.issued",
    ]
    by_type = {e.event_type: e for e in events}
    assert by_type["ticket.transferred"].data.from_line_code == "justice"
    assert by_type["ticket.transferred"].data.line_code == "land"
    completed = [e for e in events if e.event_type == "ticket.service_completed"]
    assert str(completed[0].data.dossier_id) == dossier
    assert completed[0].data.counter_id == "Q1"

    # That A002 has priority goes on the bus; why (health, family) never does.
    a2_events = [
        e
        for e in events
        if getattr(e.data, "ticket_id", None) is not None
        and str(e.data.ticket_id) == a2["ticket_id"]
    ]
    assert a2_events
    assert all(e.data.priority for e in a2_events)
    assert all(e.data.priority_reason is None for e in a2_events)
    assert not any(b"elderly" in e.to_bytes() for e in events)

    # The contact travels sealed on every event of A001, bound to the ticket id.
    ticket_events = [e for e in events if e.event_type.startswith("ticket.")]
    a1_events = [e for e in ticket_events if str(e.data.ticket_id) == a1["ticket_id"]]
    assert len(a1_events) == 5
    # One correlation id per ticket, the one intake continues when a dossier comes of it.
    chain = ticket_correlation(uuid.UUID(a1["ticket_id"]))
    assert {e.correlation_id for e in a1_events} == {chain}
    assert all(e.data.contact is not None for e in a1_events)
    sealed = a1_events[0].data.contact.sealed
    assert crypto.unseal(CONTACT_KEY, sealed, a1["ticket_id"]) == PHONE
    others = [e for e in ticket_events if e not in a1_events]
    assert others
    assert all(e.data.contact is None for e in others)
    stored = await pg.fetchval(
        "SELECT string_agg(coalesce(contact::text, ''), '') FROM queue.tickets "
        "WHERE center_id = $1",
        desk.center,
    )
    assert PHONE not in stored
    logs = capfd.readouterr()
    assert PHONE not in logs.out + logs.err  # nor in the service's logs
    assert sealed in stored


async def test_fairness_guard_lets_a_normal_ticket_through_after_k_priority_calls(
    desk: Desk, queue_env: QueueEnv
) -> None:
    """K = 2 in this app's settings; the counter's streak survives between requests."""
    assert queue_env.settings.max_priority_in_row == 2
    await desk.open("Q2")  # justice and other: the guard spans the counter's lines
    await desk.issue("other")  # E001, normal, the oldest
    for _ in range(3):
        await desk.issue("justice", priority_reason="pregnancy")  # A001..A003
    await desk.issue("justice")  # A004, normal
    order = []
    while (called := await desk.call("Q2")) is not None:
        order.append(called["number"])
        await desk.act("Q2", called, "finish")
    assert order == ["A001", "A002", "E001", "A003", "A004"]


async def test_waiting_gauge_counts_tickets_per_line(
    queue_env: QueueEnv, client: httpx.AsyncClient, center: str, pg: asyncpg.Connection
) -> None:
    from motcua.services.queue.metrics import sample_waiting

    for line in ("justice", "justice", "land"):
        r = await client.post(f"/centers/{center}/tickets", json={"line_code": line})
        assert r.status_code == 201
    await pg.execute("SET search_path TO queue")
    await sample_waiting(pg)  # what the service's sampler runs every few seconds
    text = (await client.get("/metrics")).text

    def gauge(line: str) -> float:
        series = f'motcua_queue_waiting{{center="{center}",line="{line}"}}'
        return float(next(x for x in text.splitlines() if x.startswith(series)).rsplit(" ", 1)[1])

    assert (gauge("justice"), gauge("land")) == (2, 1)
