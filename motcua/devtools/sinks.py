"""Real receivers for notifications, in tests, benchmarks and chaos runs: an HTTP
server standing in for the SMS gateway and webhooks, an SMTP server (aiosmtpd, a
development dependency, imported when one starts), and the chaos run's thread-safe
message sink.

Each dedupes the way a careful receiver does: the HTTP sinks on the
``Idempotency-Key`` header, the SMTP sink on ``Message-ID``. ``accepted`` is
what reached the far side (duplicates included); ``delivered`` is what the
citizen would see. The HTTP sink also counts the client connections it served
and the most requests it held at once, and keeps each request as it came.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import json
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from motcua.devtools.embedded import free_port
from motcua.devtools.tcpproxy import Background

if TYPE_CHECKING:
    from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class HttpMessage:
    path: str
    key: str | None
    to: str
    title: str
    body: str
    received_at: float  # time.time()


@dataclass(frozen=True)
class RawRequest:
    """A request exactly as it arrived (header names in lower case)."""

    method: str
    target: str  # path and query, as sent
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpSink:
    """HTTP/1.1 (keep-alive) on loopback; answers 200, or 500 while told to fail."""

    port: int = field(default_factory=free_port)
    fail_next: dict[str, int] = field(default_factory=dict)  # path -> 500s still to answer
    fail_paths: set[str] = field(default_factory=set)  # always 500 on these
    fail_to: set[str] = field(default_factory=set)  # always 500 for these recipients
    delay: float = 0.0  # seconds before answering (to catch a sender mid-batch)
    delays: dict[str, float] = field(default_factory=dict)  # path -> its own delay
    accepted: list[HttpMessage] = field(default_factory=list)
    delivered: dict[str, HttpMessage] = field(default_factory=dict)
    requests: list[RawRequest] = field(default_factory=list)
    failures: int = 0
    connections: int = 0  # client connections opened to the sink
    in_flight: int = 0
    max_in_flight: int = 0  # most requests being answered at the same time
    _server: asyncio.Server | None = None

    def url(self, path: str, scheme: str = "json") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    async def start(self) -> HttpSink:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    def to(self, address: str) -> list[HttpMessage]:
        """What one recipient sees, in arrival order."""
        return sorted(
            (m for m in self.delivered.values() if m.to == address), key=lambda m: m.received_at
        )

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                # The whole head at once: a read per line costs the sink more CPU than
                # the sender spends on the request.
                head = (await reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
                method, target = head[0].split()[:2]
                headers: dict[str, str] = {}
                for line in head[1:-2]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                raw = await reader.readexactly(length) if length else b""
                self.requests.append(RawRequest(method, target, headers, raw))
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                path = target.partition("?")[0]
                try:
                    if delay := self.delays.get(path, self.delay):
                        await asyncio.sleep(delay)
                    status = self._receive(path, headers, raw)
                finally:
                    self.in_flight -= 1
                reason = b"OK" if status == 200 else b"Internal Server Error"
                writer.write(
                    b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 2\r\n\r\n{}" % (status, reason)
                )
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    def _receive(self, path: str, headers: dict[str, str], raw: bytes) -> int:
        body: dict[str, Any] = (
            dict(parse_qsl(raw.decode()))
            if headers.get("content-type", "").partition(";")[0].strip().lower()
            == "application/x-www-form-urlencoded"
            else json.loads(raw or b"{}")
        )
        failing = str(body.get("to", "")) in self.fail_to
        if self.fail_next.get(path, 0) > 0 or path in self.fail_paths or failing:
            self.fail_next[path] = max(self.fail_next.get(path, 0) - 1, 0)
            self.failures += 1
            return 500
        key = headers.get("idempotency-key")
        message = HttpMessage(
            path,
            key,
            str(body.get("to", "")),
            str(body.get("title", "")),
            str(body.get("message", "")),
            time.time(),
        )
        self.accepted.append(message)
        if key is None or key not in self.delivered:
            self.delivered[key or f"anon-{len(self.accepted)}"] = message
        return 200


@dataclass(frozen=True)
class Mail:
    message_id: str
    key: str | None
    to: str
    subject: str
    body: str


class _Collect:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        part = msg.get_body(preferencelist=("plain", "html"))
        text = part.get_content() if part is not None else ""
        mail = Mail(
            str(msg["Message-ID"]),
            msg["Idempotency-Key"],
            ",".join(envelope.rcpt_tos),
            str(msg["Subject"]),
            str(text).strip(),
        )
        self.sink.accepted.append(mail)
        self.sink.delivered.setdefault(mail.message_id, mail)
        return "250 OK"


@dataclass
class SmtpSink:
    """A real SMTP server (aiosmtpd, in its own thread)."""

    port: int = field(default_factory=free_port)
    accepted: list[Mail] = field(default_factory=list)
    delivered: dict[str, Mail] = field(default_factory=dict)
    _controller: Controller | None = None

    def url(self, sender: str = "thongbao@motcua.local") -> str:
        return f"mailto://127.0.0.1:{self.port}?from={sender}&mode=insecure"

    def start(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        self._controller = Controller(_Collect(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.delivered.values() if m.to == address]


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
