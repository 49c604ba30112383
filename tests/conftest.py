"""Fixtures: a real PostgreSQL and a real Kafka-protocol broker for every test.

One server of each kind per session; each test gets its own database and its
own topic prefix, so tests never see each other's data.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import asyncpg
import pytest

from motcua.shared.bus.kafka import ensure_topics
from motcua.shared.settings import DatabaseSettings, KafkaSettings, ServiceSettings
from tests.support.backends import Servers, servers

S = TypeVar("S", bound=ServiceSettings)

# The tests run the services with development secrets; production refuses them.
os.environ.setdefault("MOTCUA_DEV_MODE", "true")


@pytest.fixture(scope="session")
def test_servers() -> Iterator[Servers]:
    with servers(os.environ) as found:
        yield found


def _with_database(url: str, name: str) -> str:
    base, _, rest = url.rpartition("/")
    query = rest.partition("?")[2]
    return f"{base}/{name}" + (f"?{query}" if query else "")


@contextlib.asynccontextmanager
async def fresh_database(servers: Servers) -> AsyncIterator[str]:
    """A new, empty database on the test server; dropped, connections and all, on exit.
    Every database fixture, whatever its scope, is one of these."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(servers.postgres_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield _with_database(servers.postgres_url, name)
    finally:
        admin = await asyncpg.connect(servers.postgres_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def fresh_kafka(servers: Servers, *, quick_join: bool = True) -> KafkaSettings:
    """Kafka settings with a topic prefix of their own; topics created.

    ``quick_join``: the embedded broker delays a group's first join by about half the
    session timeout; a shorter one keeps start-up quick without risking churn."""
    timeouts = {"session_timeout_ms": 6_000, "heartbeat_interval_ms": 1_500}
    settings = KafkaSettings(
        bootstrap_servers=servers.kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
        **(timeouts if quick_join else {}),
    )
    await ensure_topics(settings)
    return settings


@pytest.fixture
async def database_url(test_servers: Servers) -> AsyncIterator[str]:
    """A fresh, empty database for this test, dropped afterwards."""
    async with fresh_database(test_servers) as url:
        yield url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


@pytest.fixture
async def kafka_settings(test_servers: Servers) -> KafkaSettings:
    """Kafka settings with a topic prefix unique to this test; topics created."""
    return await fresh_kafka(test_servers)


@pytest.fixture
def make_settings(database_url: str, kafka_settings: KafkaSettings) -> Callable[..., Any]:
    """Build a service's settings class pointed at this test's database and topics."""

    def build(cls: type[S], **overrides: Any) -> S:
        return cls(
            db=DatabaseSettings(url=database_url, pool_min=1, pool_max=5),
            kafka=kafka_settings,
            log_format="console",
            **overrides,
        )

    return build
