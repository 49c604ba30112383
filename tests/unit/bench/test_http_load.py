"""The benchmarks' load generator: every request once, answers as sent, SSE parsed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bench.http_load import HttpLoad, HttpStatus, closed_loop, expect


async def test_closed_loop_sends_each_request_once_in_order_per_worker() -> None:
    sent: list[int] = []

    async def send(k: int) -> None:
        sent.append(k)
        await asyncio.sleep(0)

    _, latencies = await closed_loop(12, 3, send)

    assert sorted(sent) == list(range(12))
    for w in range(3):  # each worker sends its own block, one after another
        mine = [k for k in sent if w * 4 <= k < (w + 1) * 4]
        assert mine == list(range(w * 4, (w + 1) * 4))
    assert len(latencies) == 12


async def echo(request: web.Request) -> web.Response:
    body = await request.json()
    return web.json_response(
        {"got": body, "key": request.headers.get("Idempotency-Key")}, status=201
    )


async def stream(request: web.Request) -> web.StreamResponse:
    r = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await r.prepare(request)
    await r.write(b'event: snapshot\ndata: {"n": 0}\n\n')
    await r.write(b": keep-alive comment\n\n")
    await r.write(b'event: ticket.issued\r\ndata: {"number": "A001"}\r\n\r\n')
    await r.write(b'data: {"plain": true}\n\n')
    return r


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/echo", echo)
    app.router.add_get("/stream", stream)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_posts_json_and_bytes_alike_with_the_headers_given(server: str) -> None:
    async with HttpLoad(server, connections=2) as http:
        as_dict = await http.post("/echo", {"a": 1}, {"Idempotency-Key": "k1"})
        as_bytes = await http.post("/echo", json.dumps({"a": 1}).encode())

    assert as_dict.status == as_bytes.status == 201
    assert as_dict.json() == {"got": {"a": 1}, "key": "k1"}
    assert as_bytes.json() == {"got": {"a": 1}, "key": None}


async def test_an_unexpected_status_is_an_error_naming_it(server: str) -> None:
    async with HttpLoad(server) as http:
        answer = await http.get("/nowhere")

    with pytest.raises(HttpStatus) as caught:
        expect(answer, 200)
    assert caught.value.status == 404


async def test_reads_server_sent_events_by_name(server: str) -> None:
    async with HttpLoad(server) as http:
        events = [e async for e in http.events("/stream")]

    assert events == [
        ("snapshot", {"n": 0}),
        ("ticket.issued", {"number": "A001"}),
        ("message", {"plain": True}),
    ]
