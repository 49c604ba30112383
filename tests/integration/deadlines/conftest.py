from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from motcua.devtools.bus import Record, read_all
from motcua.services.deadlines.app import create_app
from motcua.services.deadlines.settings import DeadlinesSettings
from motcua.services.deadlines.usecases import Deadlines
from motcua.shared.auth import Role, issue_token
from motcua.shared.events import Envelope
from motcua.shared.events.topics import DEADLINES, DOSSIERS
from motcua.shared.settings import DatabaseSettings, KafkaSettings
from tests.integration.deadlines.support import MovableClock, migrate
from tests.support.clock import vn
from tests.support.fixtures import database_fixture, kafka_fixture
from tests.support.serving import serve


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a fresh database with the deadlines schema migrated."""
    connection = await asyncpg.connect(database_url)
    await migrate(connection)
    yield connection
    await connection.close()


module_database_url = database_fixture(
    "module", "A database shared by the tests of one module (one running service per module)."
)
module_kafka = kafka_fixture("module")


@dataclass
class Service:
    """One running deadlines service (real uvicorn, real broker, real database)."""

    app: FastAPI
    url: str
    settings: DeadlinesSettings
    clock: MovableClock
    db: asyncpg.Connection

    @property
    def deadlines(self) -> Deadlines:
        deadlines: Deadlines = self.app.state.deadlines
        return deadlines

    def token(self, center_id: str, role: Role = "leader") -> dict[str, str]:
        secret = self.settings.auth_secret.get_secret_value()
        token = issue_token(secret, center_id=center_id, subject="tester", role=role)
        return {"Authorization": f"Bearer {token}"}

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30)

    async def produce(self, *events: Envelope[Any]) -> None:
        await produce_events(self.settings.kafka, *events)

    async def deadline_messages(self) -> list[Record]:
        kafka = self.settings.kafka
        return await read_all(kafka.bootstrap_servers, DEADLINES.topic(kafka.topic_prefix))

    async def count(self, sql: str, *args: Any) -> int:
        value: int = await self.db.fetchval(sql, *args)
        return value


async def produce_events(kafka: KafkaSettings, *events: Envelope[Any]) -> None:
    """Publish dossier events keyed by dossier, as intake's relay does."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    await producer.start()
    try:
        topic = DOSSIERS.topic(kafka.topic_prefix)
        for event in events:
            await producer.send(topic, event.to_bytes(), key=str(event.data.dossier_id).encode())
        await producer.flush()
    finally:
        await producer.stop()


@pytest.fixture(scope="module")
def movable_clock() -> MovableClock:
    return MovableClock(vn(2026, 3, 2, 8))


@pytest.fixture(scope="module")
async def service(
    module_database_url: str, module_kafka: KafkaSettings, movable_clock: MovableClock
) -> AsyncIterator[Service]:
    settings = DeadlinesSettings(
        db=DatabaseSettings(url=module_database_url, pool_min=1, pool_max=5),
        kafka=module_kafka,
        log_format="console",
        scheduler_poll_seconds=0.05,
    )
    app = create_app(settings, clock=movable_clock)
    async with serve(app) as url:
        db = await asyncpg.connect(module_database_url)
        await db.execute('SET search_path TO "deadlines", public')
        try:
            yield Service(app, url, settings, movable_clock, db)
        finally:
            await db.close()
