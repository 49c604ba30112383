"""Cuttable loopback TCP proxies, to simulate an outage of a server by cutting it.

In a chaos run the proxies (and the message sink) run on a dedicated event loop in a
background thread, so that a busy load generator (or a slow check) on the main loop
never delays the services' broker and database traffic, which would look like a fault
we did not inject. A test cutting one server runs its proxy on its own loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit

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


@contextlib.asynccontextmanager
async def proxied(url: str) -> AsyncIterator[tuple[TcpProxy, str]]:
    """A proxy in front of the server that ``url`` names, and ``url`` through it."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    proxy = await TcpProxy(parts.port, target_host=parts.hostname).start()
    through = parts._replace(netloc=parts.netloc.replace(f":{parts.port}", f":{proxy.port}"))
    try:
        yield proxy, through.geturl()
    finally:
        await proxy.stop()
