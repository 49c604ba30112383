"""A loopback TCP proxy in front of a test's server, to simulate an outage by cutting it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from chaos.net import TcpProxy

__all__ = ["TcpProxy", "proxied"]


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
