"""Bad input gets a clear 4xx naming the problem, and changes nothing (state and bus)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest

from motcua.shared.auth import issue_token
from tests.integration.queue.conftest import SECRET, Desk, QueueEnv, state_of
from tests.support.waiting import eventually

Request = Callable[[httpx.AsyncClient, Desk, dict[str, Any]], Awaitable[httpx.Response]]


@pytest.fixture
async def scene(desk: Desk) -> dict[str, Any]:
    """Q1 open holding A001 (called), A002 waiting, B001 waiting, A003 served, Q3 closed."""
    await desk.open("Q1")
    a1 = await desk.issue("justice")
    a2 = await desk.issue("justice")
    a3 = await desk.issue("justice", priority_reason="meritorious")
    b1 = await desk.issue("land")
    assert (await desk.call("Q1") or {})["number"] == "A003"
    await desk.act("Q1", a3, "finish")
    assert (await desk.call("Q1") or {})["number"] == "A001"
    return {"a1": a1, "a2": a2, "a3": a3, "b1": b1}


SETUP_EVENTS = Counter(
    {
        "counter.opened": 1,
        "ticket.issued": 4,
        "ticket.called": 2,
        "ticket.service_completed": 1,
    }
)


def _post(
    path: str, body: Any = None, *, auth: bool = True, headers: dict[str, str] | None = None
) -> Request:
    async def send(client: httpx.AsyncClient, desk: Desk, s: dict[str, Any]) -> httpx.Response:
        url = path.format(c=desk.center, **{k: v["ticket_id"] for k, v in s.items()})
        sent = (desk.headers if auth else {}) | (headers or {})
        return await client.post(url, json=body, headers=sent)

    return send


def _get(path: str) -> Request:
    async def send(client: httpx.AsyncClient, desk: Desk, s: dict[str, Any]) -> httpx.Response:
        return await client.get(path.format(c=desk.center), headers=desk.headers)

    return send


def _raw(path: str, content: bytes) -> Request:
    async def send(client: httpx.AsyncClient, desk: Desk, s: dict[str, Any]) -> httpx.Response:
        headers = desk.headers | {"content-type": "application/json"}
        return await client.post(path.format(c=desk.center), content=content, headers=headers)

    return send


def _token(center: str | None, path: str) -> Request:
    async def send(client: httpx.AsyncClient, desk: Desk, s: dict[str, Any]) -> httpx.Response:
        token = issue_token(SECRET, center_id=center or "elsewhere", subject="intruder")
        headers = {"Authorization": f"Bearer {token}"}
        return await client.post(path.format(c=desk.center), headers=headers)

    return send


COUNTER = "/centers/{c}/counters"
AT_Q1 = "/centers/{c}/counters/Q1/tickets"
ANY_TICKET = str(uuid.uuid4())

CASES: list[tuple[str, Request, int, dict[str, Any]]] = [
    # unknown center, line, counter, ticket
    (
        "unknown center",
        _post("/centers/nowhere/tickets", {"line_code": "land"}),
        404,
        {"resource": "center", "id": "nowhere"},
    ),
    ("unknown center board", _get("/centers/nowhere/display"), 404, {"resource": "center"}),
    (
        "unknown line",
        _post("/centers/{c}/tickets", {"line_code": "astrology"}),
        404,
        {"resource": "line", "id": "astrology"},
    ),
    (
        "unknown counter",
        _post(COUNTER + "/Q99/call-next"),
        404,
        {"resource": "counter", "id": "Q99"},
    ),
    (
        "unknown ticket",
        _post(f"{AT_Q1}/{ANY_TICKET}/recall"),
        404,
        {"resource": "ticket", "id": ANY_TICKET},
    ),
    ("unknown lookup code", _get("/tickets/ZZZZZZ"), 404, {"resource": "ticket lookup code"}),
    (
        "transfer to unknown line",
        _post(AT_Q1 + "/{a1}/transfer", {"line_code": "astrology"}),
        404,
        {"resource": "line"},
    ),
    (
        "open serving unknown line",
        _post(COUNTER + "/Q2/open", {"line_codes": ["astrology"]}),
        404,
        {"resource": "line"},
    ),
    # state conflicts
    ("call from a closed counter", _post(COUNTER + "/Q3/call-next"), 409, {}),
    ("call while holding a ticket", _post(COUNTER + "/Q1/call-next"), 409, {}),
    ("finish twice", _post(AT_Q1 + "/{a3}/finish"), 409, {}),
    ("start a waiting ticket", _post(AT_Q1 + "/{a2}/start"), 409, {}),
    ("recall a ticket of another counter", _post(COUNTER + "/Q2/tickets/{a1}/recall"), 409, {}),
    ("re-queue a ticket that is no no-show", _post("/centers/{c}/tickets/{a2}/requeue"), 409, {}),
    ("cancel a served ticket", _post("/centers/{c}/tickets/{a3}/cancel"), 409, {}),
    ("open an open counter", _post(COUNTER + "/Q1/open"), 409, {}),
    ("close a counter holding a ticket", _post(COUNTER + "/Q1/close"), 409, {}),
    ("close a closed counter", _post(COUNTER + "/Q3/close"), 409, {}),
    (
        "transfer to the same line",
        _post(AT_Q1 + "/{a1}/transfer", {"line_code": "justice"}),
        422,
        {"field": "line_code"},
    ),
    # malformed bodies and parameters
    ("missing line", _post("/centers/{c}/tickets", {}), 422, {"field": "line_code"}),
    (
        "unknown priority",
        _post("/centers/{c}/tickets", {"line_code": "land", "priority_reason": "vip"}),
        422,
        {"field": "priority_reason"},
    ),
    (
        "contact without consent",
        _post(
            "/centers/{c}/tickets",
            {
                "line_code": "land",
                "contact": {"kind": "phone", "value": "0912345678", "consent": False},
            },
        ),
        422,
        {"field": "contact.consent"},
    ),
    (
        "contact not a phone",
        _post(
            "/centers/{c}/tickets",
            {
                "line_code": "land",
                "contact": {"kind": "phone", "value": "call me", "consent": True},
            },
        ),
        422,
        {"field": "contact.value"},
    ),
    (
        "contact not an e-mail",
        _post(
            "/centers/{c}/tickets",
            {"line_code": "land", "contact": {"kind": "email", "value": "me", "consent": True}},
        ),
        422,
        {"field": "contact.value"},
    ),
    (
        "unexpected field",
        _post("/centers/{c}/tickets", {"line_code": "land", "vip": True}),
        422,
        {"field": "vip"},
    ),
    ("not JSON", _raw("/centers/{c}/tickets", b"{line_code: land"), 422, {}),
    ("ticket id not a uuid", _post(AT_Q1 + "/A001/finish"), 422, {"field": "path.ticket_id"}),
    (
        "dossier id not a uuid",
        _post(AT_Q1 + "/{a1}/finish", {"dossier_id": "D-1"}),
        422,
        {"field": "dossier_id"},
    ),
    ("transfer without line", _post(AT_Q1 + "/{a1}/transfer", {}), 422, {"field": "line_code"}),
    # authentication and center scope
    ("missing token", _post(COUNTER + "/Q1/close", auth=False), 401, {}),
    (
        "forged token",
        _post(COUNTER + "/Q1/close", auth=False, headers={"Authorization": "Bearer v1.e30.forged"}),
        401,
        {},
    ),
    ("foreign center token", _token(None, COUNTER + "/Q1/close"), 403, {}),
    (
        "foreign token re-queue",
        _token(None, "/centers/{c}/tickets/" + ANY_TICKET + "/requeue"),
        403,
        {},
    ),
]


def _matches(body: dict[str, Any], expected: dict[str, Any]) -> bool:
    if "field" in expected:
        return any(d["field"] == expected["field"] for d in body.get("details", []))
    return all(body.get(k) == v for k, v in expected.items())


@pytest.mark.parametrize(("name", "send", "status", "expected"), CASES, ids=[c[0] for c in CASES])
async def test_bad_request_is_refused_clearly_and_changes_nothing(
    name: str,
    send: Request,
    status: int,
    expected: dict[str, Any],
    scene: dict[str, Any],
    desk: Desk,
    client: httpx.AsyncClient,
    pg: asyncpg.Connection,
) -> None:
    before = await state_of(pg, desk.center)
    response = await send(client, desk, scene)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"], body
    assert _matches(body, expected), body
    assert await state_of(pg, desk.center) == before


async def test_refused_requests_publish_nothing(
    scene: dict[str, Any],
    desk: Desk,
    client: httpx.AsyncClient,
    queue_env: QueueEnv,
) -> None:
    for _, send, status, _ in CASES:
        assert (await send(client, desk, scene)).status_code == status
    # A marker change after the refusals: once it is on the bus, so would they be.
    await desk.act("Q1", scene["a1"], "finish")
    expected = SETUP_EVENTS + Counter({"ticket.service_completed": 1})
    events = await eventually(
        lambda: queue_env.events(desk.center),
        until=lambda e: len(e) >= sum(expected.values()),
        what="the marker event",
    )
    assert Counter(e.event_type for e in events) == expected


async def test_error_messages_name_the_unknown_resource(
    desk: Desk, client: httpx.AsyncClient
) -> None:
    r = await client.post(f"/centers/{desk.center}/tickets", json={"line_code": "astrology"})
    assert r.json()["error"] == f"unknown line 'astrology' in center '{desk.center}'"
    r = await client.post(f"/centers/{desk.center}/counters/Q3/call-next", headers=desk.headers)
    assert r.json()["error"] == "counter 'Q3' is closed; open it before calling"
