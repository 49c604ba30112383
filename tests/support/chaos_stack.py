"""The fault-injection stack (services as processes behind cuttable proxies) on the
suite's own servers, for tests that need the whole system running."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from motcua.devtools.backends import Servers
from motcua.devtools.stack import Stack


@contextlib.asynccontextmanager
async def running_stack(servers: Servers, workdir: Path) -> AsyncIterator[Stack]:
    """Start every service on ``servers``; stop them however the block ends."""
    stack = Stack(
        workdir,
        postgres_url=servers.postgres_url,
        kafka_bootstrap=servers.kafka_bootstrap,
    )
    try:
        await stack.start()
        yield stack
    finally:
        await stack.stop()
