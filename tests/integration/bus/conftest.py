from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI

from motcua.devtools import probe
from motcua.shared import migrations
from motcua.shared.db import create_pool
from motcua.shared.runtime import ServiceRuntime
from motcua.shared.settings import DatabaseSettings, ServiceSettings
from tests.support.serving import serve


@pytest.fixture
def probe_settings(make_settings: Callable[..., Any]) -> ServiceSettings:
    return make_settings(ServiceSettings)


@contextlib.asynccontextmanager
async def running_probe(settings: ServiceSettings) -> AsyncIterator[tuple[FastAPI, str]]:
    """The probe service, serving: the app and its base URL."""
    app = probe.create_app(settings)
    async with serve(app) as url:
        yield app, url


@pytest.fixture
async def probe_app(probe_settings: ServiceSettings) -> AsyncIterator[tuple[FastAPI, str]]:
    async with running_probe(probe_settings) as running:
        yield running


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on schema ``svc``: the outbox and inbox, and a ``log`` table for effects."""
    # The services' own pool shape, so relay and consumer tests cover its release rules.
    async with await create_pool(
        DatabaseSettings(url=database_url),
        min_size=1,
        max_size=4,
        server_settings={"search_path": "svc"},
    ) as p:
        async with p.acquire() as conn:
            log = migrations.Migration("0001_log", "CREATE TABLE log (seq serial, what text);")
            plan = [*migrations.discover(migrations.PLUMBING_DIR, "plumbing/"), log]
            await migrations.apply(conn, "svc", plan)
        yield p


def runtime_of(app: FastAPI) -> ServiceRuntime:
    runtime: ServiceRuntime = app.state.runtime
    return runtime


async def effects(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT event_id, key, seq, n FROM probe.effects ORDER BY applied_at")
