"""The benchmarks' HTTP load generator: aiohttp over keep-alive connections, lean.

The load generator shares the machine's cores with the service it measures, so
every millisecond of CPU it spends per request is taken from the service. This
client keeps what a load generator needs (pooled keep-alive connections, bodies
encoded once) and drops the rest: no cookie jar, no decompression, no redirects,
no per-request JSON encoding of a body given as bytes, and no per-request timer
unless asked for (a closed loop bounds its whole run instead). Benchmarks that
drive HTTP load run it on uvloop, as the services run: see ``loop_factory``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import aiohttp
import uvloop

# Below uvicorn's 5 s keep-alive: the client lets an idle connection go before the
# server closes it, so that a request rarely meets a connection closing under it.
KEEPALIVE_SECONDS = 4.0
JSON = {"Content-Type": "application/json"}
# A connection that dropped before its answer: the request may be sent again.
DROPPED = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)
# The event loop of the benchmarks that drive HTTP load (``bench/__main__`` uses a
# module's ``loop_factory``): the services run on uvloop, and the load generator's
# CPU per request is a third lower on it than on the default loop.
loop_factory = uvloop.new_event_loop


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


class HttpStatus(Exception):
    """An answer with a status the caller did not expect."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(f"HTTP {answer.status}: {answer.text[:200]}")
        self.status = answer.status
        self.answer = answer


class HttpLoad:
    """Requests to one server over at most ``connections`` keep-alive connections;
    requests beyond that wait for a free connection, in order. ``base_url`` prefixes
    every path (``""``: paths are whole URLs). ``timeout`` bounds each request (none
    by default: a timer per request costs a fifth of the client's CPU, and
    :func:`closed_loop` bounds a whole run instead)."""

    def __init__(
        self,
        base_url: str,
        *,
        connections: int = 64,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.connections = connections
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.headers = dict(headers or {})
        self.resent = 0  # requests sent again after their connection dropped
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=self.connections, keepalive_timeout=KEEPALIVE_SECONDS
            ),
            headers=self.headers,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding"),
            timeout=self.timeout,
        )
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        resend: int = 0,
    ) -> Answer:
        """One request; sent again, up to ``resend`` times, if its connection drops
        before the answer (only for requests that are safe to repeat)."""
        assert self._session is not None, "use HttpLoad in 'async with'"
        url = self.base_url + path
        for attempt in range(resend + 1):
            try:
                async with self._session.request(
                    method, url, data=body, headers=headers, allow_redirects=False
                ) as r:
                    return Answer(r.status, await r.read())
            except DROPPED:
                if attempt == resend:
                    raise
                self.resent += 1
        raise AssertionError("unreachable")

    async def events(self, path: str) -> AsyncIterator[tuple[str, Any]]:
        """A Server-Sent Events stream: (event name, data parsed as JSON) as they come."""
        assert self._session is not None, "use HttpLoad in 'async with'"
        async with self._session.get(self.base_url + path) as r:
            expect(Answer(r.status, b""), 200)
            name, data = "message", b""
            async for line in r.content:
                line = line.rstrip(b"\r\n")
                if not line:
                    if data:
                        yield name, json.loads(data)
                    name, data = "message", b""
                elif line.startswith(b"event:"):
                    name = line[6:].strip().decode()
                elif line.startswith(b"data:"):
                    data = line[5:].strip()

    async def get(self, path: str, headers: Mapping[str, str] | None = None) -> Answer:
        return await self.request("GET", path, headers=headers, resend=1)

    async def post(
        self,
        path: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        *,
        resend: int = 0,
    ) -> Answer:
        """POST a JSON body (bytes are sent as they are: encode a repeated body once)."""
        data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
        return await self.request(
            "POST", path, data, JSON | dict(headers or {}) if data else headers, resend=resend
        )


def expect(answer: Answer, *statuses: int) -> Answer:
    if answer.status not in statuses:
        raise HttpStatus(answer)
    return answer


async def closed_loop(
    total: int,
    workers: int,
    send: Callable[[int], Awaitable[object]],
    *,
    timeout: float = 600.0,
) -> tuple[float, list[float]]:
    """``total`` requests (a multiple of ``workers``) from ``workers`` loops at once,
    each sending its next request when its last is answered; loop ``w`` sends
    requests ``w * n`` to ``w * n + n - 1`` through ``send(k)``. The whole run fails
    after ``timeout`` seconds.

    Returns (seconds, latencies in ms)."""
    per_worker = total // workers
    latencies: list[float] = []

    async def loop(w: int) -> None:
        for k in range(w * per_worker, (w + 1) * per_worker):
            t = time.perf_counter()
            await send(k)
            latencies.append((time.perf_counter() - t) * 1000)

    started = time.perf_counter()
    async with asyncio.timeout(timeout):
        await asyncio.gather(*(loop(w) for w in range(workers)))
    return time.perf_counter() - started, latencies
