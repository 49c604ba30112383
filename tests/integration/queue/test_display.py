"""The display board: its state, and the Server-Sent Events stream fed by LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx

from motcua.services.queue.app import create_app
from tests.integration.queue.conftest import Desk, QueueEnv, sse_events
from tests.support.serving import serve
from tests.support.waiting import eventually


async def _next(events: AsyncIterator[tuple[str, Any]], name: str) -> tuple[str, Any]:
    """The next event, which must be ``name`` (a guard stops a hung stream, not a timing test)."""
    async with asyncio.timeout(30):
        got = await anext(events)
    assert got[0] == name, got
    return got


async def test_board_shows_now_serving_last_calls_and_waiting_per_line(desk: Desk) -> None:
    await desk.open("Q1")  # justice
    await desk.open("Q2")  # justice, other
    await desk.issue("justice")
    await desk.issue("justice", priority_reason="disability")
    await desk.issue("other")
    first = await desk.call("Q1")
    second = await desk.call("Q2")
    assert first is not None
    assert second is not None
    assert (first["number"], second["number"]) == ("A002", "A001")

    board = await desk.get("/display")
    serving = {c["counter_id"]: c["now_serving"] for c in board["counters"]}
    assert serving["Q1"]["number"] == "A002"
    assert serving["Q2"]["number"] == "A001"
    assert serving["Q3"] is None
    assert [c["is_open"] for c in board["counters"]] == [True, True, False, False, False]
    assert [(c["number"], c["counter_id"]) for c in board["last_called"]] == [
        ("A001", "Q2"),
        ("A002", "Q1"),
    ]
    lines = {x["line_code"]: x for x in board["lines"]}
    assert (lines["justice"]["waiting"], lines["justice"]["open_counters"]) == (0, 2)
    assert (lines["other"]["waiting"], lines["other"]["open_counters"]) == (1, 1)
    # A ticket taken now on "other": 2nd in line, one counter, 600 s default service time.
    assert lines["other"]["estimated_wait_seconds"] == 1200

    await desk.act("Q1", first, "recall")
    board = await desk.get("/display")
    assert board["last_called"][0] | {"at": None} == {
        "number": "A002",
        "line_code": "justice",
        "counter_id": "Q1",
        "recall": True,
        "at": None,
    }


async def test_sse_client_sees_ticket_called_and_nothing_from_refused_requests(
    desk: Desk, client: httpx.AsyncClient
) -> None:
    await desk.open("Q1")
    ticket = await desk.issue("justice")
    async with client.stream("GET", f"/centers/{desk.center}/display/stream") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response)
        _, board = await _next(events, "snapshot")
        assert board["lines"][0]["waiting"] == 1

        await desk.call("Q1")
        _, change = await _next(events, "ticket.called")
        assert (change["number"], change["counter_id"], change["line_code"]) == (
            "A001",
            "Q1",
            "justice",
        )
        assert "lookup_code" not in change
        assert "contact" not in change

        assert (await desk.call_raw("Q1")).status_code == 409  # rolled back: never announced
        await desk.act("Q1", ticket, "recall")
        _, change = await _next(events, "ticket.recalled")
        assert change["call_count"] == 2


async def test_every_replica_streams_changes_committed_through_another(
    desk: Desk, queue_env: QueueEnv
) -> None:
    """Changes reach the display through PostgreSQL, not through one process's memory."""
    replica = create_app(queue_env.settings)
    async with (
        serve(replica) as other_url,
        httpx.AsyncClient(base_url=other_url, timeout=30) as other,
        other.stream("GET", f"/centers/{desk.center}/display/stream") as response,
    ):
        events = sse_events(response)
        await _next(events, "snapshot")
        await desk.open("Q4")  # through the first replica
        _, change = await _next(events, "counter.opened")
        assert (change["counter_id"], change["line_codes"]) == ("Q4", ["business", "labour"])
        await desk.issue("business")
        _, change = await _next(events, "ticket.issued")
        assert change["number"] == "C001"


async def test_display_streams_are_capped_per_client_and_in_total(
    queue_env: QueueEnv, center: str
) -> None:
    """Beyond the caps a clear 503 with Retry-After; a closed stream frees its place."""
    settings = queue_env.behind_proxy(sse_max_streams=3, sse_max_streams_per_client=2)
    app = create_app(settings)
    hub = app.state.display
    url = f"/centers/{center}/display/stream"

    def stream(client: httpx.AsyncClient, address: str) -> Any:
        return client.stream("GET", url, headers={"X-Forwarded-For": address})

    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        async with stream(client, "192.0.2.1") as a1, stream(client, "192.0.2.1") as a2:
            # Held: a dropped event iterator closes its stream.
            held = [sse_events(r) for r in (a1, a2)]
            for events in held:
                await _next(events, "snapshot")
            third = await client.get(url, headers={"X-Forwarded-For": "192.0.2.1"})
            assert third.status_code == 503
            assert "per client address" in third.json()["error"]
            assert int(third.headers["Retry-After"]) >= 1
            async with stream(client, "198.51.100.9") as b:
                assert b.status_code == 200  # another client still gets one
                held.append(sse_events(b))
                await _next(held[-1], "snapshot")
                full = await client.get(url, headers={"X-Forwarded-For": "203.0.113.5"})
                assert full.status_code == 503
                assert "display streams" in full.json()["error"]

        async def freed() -> int:
            return int(hub._total)

        await eventually(freed, until=lambda n: n == 0, what="the streams' places freed")
        async with stream(client, "192.0.2.1") as again:
            assert again.status_code == 200
