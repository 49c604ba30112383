"""Live display boards: committed queue changes pushed to Server-Sent Events streams.

Every state-changing transaction NOTIFYs ``<schema>_display`` (see
``repository.notify_display``). PostgreSQL delivers a notification only when
its transaction commits, and to every listening session, so each replica of the
service sees every change, in commit order, and never one that rolled back.
Each process keeps ONE listening connection and fans changes out to the streams
of the change's center.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg

from motcua.shared.logging import get_logger

log = get_logger(__name__)

Message = dict[str, Any]
# Markers a subscription may receive besides changes.
RESYNC: Message = {"type": "resync"}
CLOSED: Message = {"type": "closed"}
_HEALTH_CHECK_SECONDS = 5.0


class Crowded(Exception):
    """No more display streams: for this client, or for this process."""


class Subscription:
    """One display stream's inbox of changes for one center."""

    def __init__(self, hub: DisplayHub, center_id: str, size: int, client: str) -> None:
        self.hub = hub
        self.center_id = center_id
        self.client = client
        self.closed = False
        self.queue: asyncio.Queue[Message] = asyncio.Queue(size)

    def offer(self, message: Message) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            # A reader too slow to keep up reloads the whole board instead of stalling others.
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(RESYNC)

    def close(self) -> None:
        self.hub.unsubscribe(self)


class DisplayHub:
    """LISTENs for committed changes and hands each one to its center's subscriptions.

    When the listening connection drops (database restart, network cut), it
    reconnects with backoff and sends ``resync`` to every subscription: changes
    may have been missed meanwhile, so boards reload their state.
    """

    def __init__(
        self,
        dsn: str,
        channel: str,
        *,
        queue_size: int = 256,
        max_streams: int = 1000,
        max_streams_per_client: int = 20,
    ) -> None:
        self.dsn = dsn
        self.channel = channel
        self.queue_size = queue_size
        # Each stream holds a socket, a task and a queue for up to ``sse_max_seconds``:
        # without caps, one client opening streams in a loop exhausts the process.
        self.max_streams = max_streams
        self.max_streams_per_client = max_streams_per_client
        self._subs: dict[str, set[Subscription]] = {}
        self._by_client: dict[str, int] = {}
        self._total = 0
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def start(self) -> None:
        """Listen before serving, so that no stream opened afterwards misses a change."""
        await self._connect()
        self._task = asyncio.create_task(self._supervise(), name="queue:display-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._disconnect()
        for subs in self._subs.values():
            for sub in subs:
                sub.offer(CLOSED)

    def subscribe(self, center_id: str, client: str = "") -> Subscription:
        """A stream for ``client`` (its limit key), or ``Crowded`` past a cap."""
        if self._total >= self.max_streams:
            raise Crowded(f"this server already serves {self.max_streams} display streams")
        if self._by_client.get(client, 0) >= self.max_streams_per_client:
            raise Crowded(
                f"at most {self.max_streams_per_client} display streams per client address"
            )
        sub = Subscription(self, center_id, self.queue_size, client)
        self._subs.setdefault(center_id, set()).add(sub)
        self._by_client[client] = self._by_client.get(client, 0) + 1
        self._total += 1
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub.closed:
            return
        sub.closed = True
        self._total -= 1
        left = self._by_client[sub.client] - 1
        if left:
            self._by_client[sub.client] = left
        else:
            del self._by_client[sub.client]
        subs = self._subs.get(sub.center_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.center_id]

    def subscribers(self, center_id: str) -> int:
        return len(self._subs.get(center_id, ()))

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            message: Message = json.loads(payload)
            center_id = message["center_id"]
        except (ValueError, KeyError, TypeError):
            log.warning("display.bad_notification")
            return
        for sub in list(self._subs.get(center_id, ())):
            sub.offer(message)

    def _on_terminated(self, _conn: object) -> None:
        self._lost.set()

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self.dsn, timeout=10)
        try:
            await conn.add_listener(self.channel, self._on_notify)
        except BaseException:
            await conn.close()
            raise
        conn.add_termination_listener(self._on_terminated)
        self._lost.clear()
        self._conn = conn

    async def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)
        if conn is not None:
            conn.terminate()

    async def _supervise(self) -> None:
        backoff = 0.2
        while True:
            if not self.listening:
                await self._disconnect()
                try:
                    await self._connect()
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                    log.warning("display.listen_reconnect_failed", retry_in=backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                backoff = 0.2
                log.info("display.listening_again")
                for subs in self._subs.values():
                    for sub in subs:
                        sub.offer(RESYNC)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), _HEALTH_CHECK_SECONDS)
            if self._lost.is_set() or not await self._healthy():
                await self._disconnect()

    async def _healthy(self) -> bool:
        conn = self._conn
        if conn is None or conn.is_closed():
            return False
        try:
            await asyncio.wait_for(conn.fetchval("SELECT 1"), 3)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            return False
        return True


def sse(event: str, data: Any, event_id: str | None = None) -> str:
    """One Server-Sent Events message; the JSON stays on a single ``data:`` line."""
    head = f"id: {event_id}\n" if event_id else ""
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)
    return f"{head}event: {event}\ndata: {body}\n\n"


async def stream(
    sub: Subscription,
    snapshot: Callable[[], Awaitable[Any]],
    first: Any,
    *,
    keepalive: float,
    max_seconds: float,
) -> AsyncIterator[str]:
    """The board state first, then each change as it commits, until closed or timed out."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_seconds
    try:
        yield "retry: 2000\n\n"
        yield sse("snapshot", first)
        while (left := deadline - loop.time()) > 0:
            try:
                message = await asyncio.wait_for(sub.queue.get(), min(keepalive, left))
            except TimeoutError:
                yield ": keepalive\n\n"
                continue
            if message is CLOSED:
                return
            if message is RESYNC:
                try:
                    yield sse("snapshot", await snapshot())
                except Exception as exc:
                    log.warning("display.resync_failed", error=repr(exc))
                    yield sse("resync", {})
                continue
            yield sse(str(message["type"]), message, message.get("event_id"))
    finally:
        sub.close()
