"""Fixtures: a real PostgreSQL and a real Kafka-protocol broker for every test.

One server of each kind per session; each test gets its own database and its
own topic prefix, so tests never see each other's data.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import asyncpg
import pytest
from hypothesis import settings

from motcua.devtools.backends import Servers, fresh_database, fresh_kafka, servers
from motcua.shared.settings import DatabaseSettings, KafkaSettings, ServiceSettings
from tests.support.examples import THOROUGH

S = TypeVar("S", bound=ServiceSettings)

# The tests run the services with development secrets; production refuses them.
os.environ.setdefault("MOTCUA_DEV_MODE", "true")

# `make test-thorough` (HYPOTHESIS_PROFILE=thorough): property tests that name their count
# draw all of it (tests.support.examples), the others five times hypothesis' default.
settings.register_profile(THOROUGH, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def test_servers() -> Iterator[Servers]:
    with servers(os.environ) as found:
        yield found


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
