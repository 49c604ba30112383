"""The cuttable TCP proxy, on a background loop (a chaos run) and on the test's own loop."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from motcua.devtools.tcpproxy import Background, TcpProxy


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
    writer.close()


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _round_trip(port: int, message: bytes) -> tuple[Connection, bytes]:
    """A connection through the proxy (both ends: a dropped writer closes it) and the echo."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(message)
    return (reader, writer), await asyncio.wait_for(reader.readexactly(len(message)), 5)


@pytest.mark.parametrize("on_background", [False, True], ids=["own loop", "background loop"])
async def test_a_cut_drops_and_refuses_connections_until_restored(on_background: bool) -> None:
    upstream = await asyncio.start_server(_echo, "127.0.0.1", 0)
    bg = Background().start() if on_background else None
    proxy = await TcpProxy(upstream.sockets[0].getsockname()[1], bg=bg).start()
    try:
        (reader, writer), echoed = await _round_trip(proxy.port, b"before")
        assert echoed == b"before"

        await proxy.cut()
        assert proxy.is_cut
        left = b"?"
        with contextlib.suppress(ConnectionError):
            left = await asyncio.wait_for(reader.read(), 5)
        assert left == b""  # the open connection was dropped
        writer.close()
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", proxy.port)

        await proxy.restore()
        assert (await _round_trip(proxy.port, b"after"))[1] == b"after"
        assert proxy.connections == 2
    finally:
        await proxy.stop()
        if bg is not None:
            bg.close()
        upstream.close()
