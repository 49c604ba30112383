"""The fault-injection stack (services as processes behind cuttable proxies) on the
suite's own servers, for tests that need the whole system running."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

import pytest

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


def stack_fixture(scope: Literal["module", "package"], name: str) -> Any:
    """A fixture running the whole stack for ``scope``, its files in a folder ``name``."""

    @pytest.fixture(scope=scope)
    async def stack(
        test_servers: Servers, tmp_path_factory: pytest.TempPathFactory
    ) -> AsyncIterator[Stack]:
        async with running_stack(test_servers, tmp_path_factory.mktemp(name)) as running:
            yield running

    return stack
