"""One queue service for the package, reached through a TCP proxy in front of its database
so that a test can take the database away and bring it back.

Tests stay apart by center: the data file holds many copies of the sample center, and each
test takes a fresh one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from motcua.devtools.tcpproxy import TcpProxy, proxied
from motcua.services.queue.app import create_app
from motcua.services.queue.settings import QueueSettings
from motcua.shared.auth import issue_token
from motcua.shared.settings import KafkaSettings
from tests.integration.queue.conftest import queue_settings, write_centers
from tests.support.fixtures import database_fixture, kafka_fixture
from tests.support.serving import serve

INTAKE_URL = "http://127.0.0.1:18002"


@dataclass
class PagesEnv:
    app: FastAPI
    url: str
    settings: QueueSettings
    database_url: str
    proxy: TcpProxy
    center_ids: Iterator[str] = field(repr=False)

    def auth(self, center_id: str) -> dict[str, str]:
        secret = self.settings.auth_secret.get_secret_value()
        return {"Authorization": f"Bearer {issue_token(secret, center_id=center_id, subject='c1')}"}


pages_db = database_fixture("package")
pages_kafka = kafka_fixture("package", quick_join=False)


@pytest.fixture(scope="package")
async def pages_env(
    tmp_path_factory: pytest.TempPathFactory, pages_db: str, pages_kafka: KafkaSettings
) -> AsyncIterator[PagesEnv]:
    centers_file = tmp_path_factory.mktemp("queue-pages") / "centers.json"
    ids = write_centers(centers_file, 100, prefix="p")
    async with proxied(pages_db) as (proxy, proxied_url):
        settings = queue_settings(
            proxied_url,
            pages_kafka,
            centers_file,
            default_center=ids[0],
            intake_url=INTAKE_URL,
            public_url="https://queue.example.test",
        )
        app = create_app(settings)
        async with serve(app) as url:
            # The first center is the default one; tests take the others.
            yield PagesEnv(app, url, settings, pages_db, proxy, iter(ids[1:]))


@pytest.fixture
def center(pages_env: PagesEnv) -> str:
    return next(pages_env.center_ids)


@pytest.fixture
async def client(pages_env: PagesEnv) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=pages_env.url, timeout=30) as c:
        yield c


@pytest.fixture
async def pg(pages_env: PagesEnv) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(pages_env.database_url)
    yield conn
    await conn.close()
