"""The fault-injection stack (services as processes behind cuttable proxies) on the
suite's own servers, for tests that need the whole system running."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from chaos.stack import Stack
from tests.support.backends import Servers


@contextlib.asynccontextmanager
async def running_stack(servers: Servers, workdir: Path) -> AsyncIterator[Stack]:
    """Start every service on ``servers``; stop them however the block ends."""
    stack = Stack(
        workdir,
        postgres_url=servers.postgres_url,
        kafka_bootstrap=servers.kafka_bootstrap,
        kafka_embedded=servers.kafka_embedded,
    )
    try:
        await stack.start()
        yield stack
    finally:
        await stack.stop()
