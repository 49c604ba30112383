"""Remote tickets over real HTTP on the real PostgreSQL and broker: the opening window,
the limits, arrival confirmed by the door code, skipped and then expired."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from motcua.services.queue.remote_tickets import RemoteTickets
from tests.integration.queue.conftest import CenterRules, Desk, FakeClock, QueueEnv
from tests.support.waiting import eventually


def phone() -> str:
    return "091" + "".join(random.choices("0123456789", k=7))


@pytest.fixture
def remote(queue_env: QueueEnv, clock: FakeClock) -> RemoteTickets:
    """The remote tickets on the frozen clock (Thursday 08:30 in Hanoi)."""
    svc: RemoteTickets = queue_env.app.state.remote
    return svc


async def take(
    client: httpx.AsyncClient, center: str, number: str | None = None, **extra: Any
) -> httpx.Response:
    contact = {"kind": "phone", "value": number or phone(), "consent": True}
    return await client.post(
        f"/centers/{center}/remote-tickets",
        json={"line_code": "justice", "contact": contact, **extra},
    )


async def door(desk: Desk) -> str:
    code: str = (await desk.get("/door-code"))["door_code"]
    return code


async def arrive(client: httpx.AsyncClient, center: str, ticket: Any, code: str) -> Any:
    return await client.post(
        f"/centers/{center}/tickets/{ticket['lookup_code']}/arrival?lang=en",
        json={"door_code": code},
    )


async def test_one_remote_ticket_per_phone_a_day_and_no_priority_from_home(
    client: httpx.AsyncClient, center: str, remote: RemoteTickets
) -> None:
    mine = phone()
    first = await take(client, center, mine)
    assert first.status_code == 201, first.text
    assert first.json()["remote"] is True
    assert first.json()["arrived_at"] is None
    again = await client.post(
        f"/centers/{center}/remote-tickets",
        json={"line_code": "land", "contact": {"kind": "phone", "value": mine, "consent": True}},
        headers={"Accept-Language": "en"},
    )
    assert again.status_code == 429
    assert again.json()["error"] == "This phone number has already taken a remote ticket today."
    assert int(again.headers["Retry-After"]) > 0
    priority = await take(client, center, priority_reason="elderly")
    assert priority.status_code == 422
    assert "priority_reason" in priority.text


async def test_the_limit_per_client_address_and_the_opening_window(
    client: httpx.AsyncClient,
    center: str,
    remote: RemoteTickets,
    own_rules: CenterRules,
    clock: FakeClock,
    queue_env: QueueEnv,
) -> None:
    own_rules(center, remote_per_client_per_day=2)
    assert (await take(client, center)).status_code == 201
    assert (await take(client, center)).status_code == 201
    third = await take(client, center)
    assert third.status_code == 429
    assert third.json()["code"] == "remote_limit_client"
    clock.now = datetime(2025, 11, 27, 9, 30, tzinfo=UTC)  # 16:30 in Hanoi
    closed = await take(client, center)
    assert closed.status_code == 422
    assert closed.json()["details"][0]["field"] == "line_code"


async def test_an_unconfirmed_ticket_is_skipped_then_called_once_here(
    client: httpx.AsyncClient, desk: Desk, remote: RemoteTickets, queue_env: QueueEnv
) -> None:
    away = (await take(client, desk.center)).json()
    walk_in = await desk.issue("justice")
    await desk.open("Q1", ["justice"])
    called = await desk.call("Q1")
    assert called is not None
    assert called["ticket_id"] == walk_in["ticket_id"]  # the remote one is not here
    await desk.act("Q1", called, "finish")
    assert await desk.call("Q1") is None  # nobody here to call

    wrong = await arrive(client, desk.center, away, "AAAAAAAA")
    assert wrong.status_code == 422
    assert wrong.json()["details"][0]["field"] == "door_code"
    code = await door(desk)
    here = await arrive(client, desk.center, away, code)
    assert here.status_code == 200, here.text
    assert here.json()["arrived_at"] is not None
    assert (await arrive(client, desk.center, away, code)).status_code == 200  # again: same
    now_called = await desk.call("Q1")
    assert now_called is not None
    assert now_called["ticket_id"] == away["ticket_id"]

    async def confirmed() -> list[Any]:
        found = [
            e
            for e in await queue_env.events(desk.center)
            if e.event_type == "ticket.arrival_confirmed"
        ]
        assert len(found) == 1
        return found

    await eventually(confirmed)


async def test_a_skipped_ticket_expires_as_a_no_show_after_the_grace_time(
    client: httpx.AsyncClient,
    desk: Desk,
    remote: RemoteTickets,
    clock: FakeClock,
    queue_env: QueueEnv,
) -> None:
    away = (await take(client, desk.center)).json()
    came = (await take(client, desk.center)).json()
    await arrive(client, desk.center, came, await door(desk))
    await desk.issue("justice")
    await desk.open("Q1", ["justice"])
    called = await desk.call("Q1")  # the arrived remote ticket; ``away`` is skipped
    assert called is not None
    assert called["ticket_id"] == came["ticket_id"]
    async with queue_env.app.state.runtime.read() as conn:
        clock.advance(minutes=14)
        assert await remote.expire_unconfirmed(conn) == 0
        clock.advance(minutes=2)
        assert await remote.expire_unconfirmed(conn) == 1
    gone = await client.get(f"/tickets/{away['lookup_code']}")
    assert gone.json()["status"] == "no_show"


async def test_racing_requests_of_one_phone_get_one_number(
    client: httpx.AsyncClient, center: str, remote: RemoteTickets
) -> None:
    mine = phone()
    answers = await asyncio.gather(*(take(client, center, mine) for _ in range(10)))
    assert sorted(a.status_code for a in answers) == [201] + [429] * 9
