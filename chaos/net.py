"""Network plumbing of a chaos run: a loop of its own, cuttable TCP proxies, a message sink.

The proxies and the sink run on a dedicated event loop in a background thread, so
that a busy load generator (or a slow check) on the main loop never delays the
services' broker and database traffic, which would look like a fault we did not
inject.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from motcua.devtools.embedded import free_port

T = TypeVar("T")


class Background:
    """An event loop running in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="chaos-net", daemon=True)

    def start(self) -> Background:
        self._thread.start()
        return self

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the background loop and await its result from another loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def close(self) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)


class TcpProxy:
    """A loopback TCP proxy that can be cut (refuse and drop every connection) and restored.

    With ``bg`` it serves on that background loop (a chaos run); without, on the loop of
    whoever starts it (a test simulating one outage).
    """

    def __init__(
        self,
        target_port: int,
        listen_port: int | None = None,
        *,
        target_host: str = "127.0.0.1",
        bg: Background | None = None,
    ) -> None:
        self.bg = bg
        self.target = (target_host, target_port)
        self.port = listen_port or free_port()
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()

    @property
    def is_cut(self) -> bool:
        return self._server is None

    async def start(self) -> TcpProxy:
        await self._run(self._listen())
        return self

    async def cut(self) -> None:
        """Refuse new connections and drop every open one."""
        await self._run(self._cut())

    async def restore(self) -> None:
        await self._run(self._listen())

    async def stop(self) -> None:
        await self.cut()

    async def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return await (coro if self.bg is None else self.bg.run(coro))

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _cut(self) -> None:
        # Not Server.wait_closed: newer Pythons wait there for every client to hang up.
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._pipes):
            writer.close()
        self._pipes.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        if self._server is None:  # cut while we were connecting upstream
            writer.close()
            up_writer.close()
            return
        self.connections += 1
        self._pipes |= {writer, up_writer}
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._pipes.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()


@dataclass(frozen=True)
class SinkMessage:
    key: str | None
    to: str
    title: str
    body: str
    at: float


@dataclass
class MessageSink:
    """Stands in for the SMS gateway: HTTP/1.1 on loopback, 200 for every JSON POST.

    Like a careful gateway it dedupes on the ``Idempotency-Key`` header: ``accepted``
    counts every request that reached it (repeats included), ``delivered`` holds one
    message per key, i.e. what the citizen sees.
    """

    bg: Background
    port: int = field(default_factory=free_port)
    delay: float = 0.0  # seconds before answering: keeps sends in flight, as a real gateway
    accepted: int = 0
    delivered: dict[str, SinkMessage] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: asyncio.Server | None = None

    def url(self, path: str = "/sms") -> str:
        return f"json://127.0.0.1:{self.port}{path}"

    async def start(self) -> MessageSink:
        async def listen() -> None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

        await self.bg.run(listen())
        return self

    def snapshot(self) -> tuple[int, dict[str, SinkMessage]]:
        with self._lock:
            return self.accepted, dict(self.delivered)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while request := await reader.readline():
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0") or 0)
                raw = await reader.readexactly(length) if length else b""
                del request
                if self.delay:
                    await asyncio.sleep(self.delay)
                self._receive(headers, raw)
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 2\r\n\r\n{}"
                )
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            return
        finally:
            writer.close()

    def _receive(self, headers: dict[str, str], raw: bytes) -> None:
        try:
            body: dict[str, Any] = json.loads(raw or b"{}")
        except (ValueError, RecursionError):
            body = {}
        key = headers.get("idempotency-key")
        message = SinkMessage(
            key,
            str(body.get("to", "")),
            str(body.get("title", "")),
            str(body.get("message", "")),
            time.time(),
        )
        with self._lock:
            self.accepted += 1
            self.delivered.setdefault(key or f"anonymous-{self.accepted}", message)
