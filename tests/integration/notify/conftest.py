from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from motcua.devtools.devstack import migrate_all
from motcua.devtools.sinks import HttpSink
from motcua.shared.db import create_pool
from motcua.shared.settings import DatabaseSettings


@pytest.fixture
async def notify_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool as the service opens it (its schema, JSON codecs) on a migrated database."""
    await migrate_all(database_url, ["notify"])
    settings = DatabaseSettings(url=database_url, pool_min=1, pool_max=4)
    pool = await create_pool(settings, server_settings={"search_path": "notify,public"})
    yield pool
    await pool.close()


@pytest.fixture(scope="module")
async def http_sink() -> AsyncIterator[HttpSink]:
    """A local HTTP gateway that records what notify sends, one per test module."""
    sink = await HttpSink().start()
    yield sink
    await sink.stop()
