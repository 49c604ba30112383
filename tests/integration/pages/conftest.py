"""One running intake and one running deadlines app for the whole package, each on its own
database and topics, each reaching PostgreSQL through a TCP proxy that the outage tests cut
and restore. Tests stay apart by using their own dossiers, centers and client addresses."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from motcua.devtools.backends import Servers, fresh_database, fresh_kafka
from motcua.devtools.tcpproxy import TcpProxy, proxied
from motcua.services.deadlines.app import create_app as create_deadlines
from motcua.services.deadlines.settings import DeadlinesSettings
from motcua.services.intake.app import create_app as create_intake
from motcua.services.intake.settings import IntakeSettings
from motcua.shared.auth import Role, issue_token
from motcua.shared.events import Envelope
from motcua.shared.events.topics import DOSSIERS
from motcua.shared.settings import DatabaseSettings
from tests.support.serving import serve

LOOKUP_BURST = 4
AUTH_SECRET = "pages-test-auth-secret"


@dataclass
class Database:
    """A fresh database: its direct URL, and its URL through a proxy a test can cut."""

    url: str
    proxied_url: str
    proxy: TcpProxy


def _database_fixture() -> Any:
    """A package fixture: a fresh database behind a proxy of its own."""

    @pytest.fixture(scope="package")
    async def database(test_servers: Servers) -> AsyncIterator[Database]:
        async with fresh_database(test_servers) as url, proxied(url) as (proxy, proxied_url):
            yield Database(url, proxied_url, proxy)

    return database


async def _through_proxy(servers: Servers, database: Database) -> dict[str, Any]:
    """What every service's settings take here: ``database`` through its proxy, and
    topics of its own."""
    return {
        "db": DatabaseSettings(url=database.proxied_url, pool_min=1, pool_max=5),
        "kafka": await fresh_kafka(servers),
        "log_format": "console",
    }


# ------------------------------------------------------------------------ intake


@dataclass
class IntakeApp:
    url: str
    settings: IntakeSettings
    database: Database


intake_database = _database_fixture()


@pytest.fixture(scope="package")
async def intake_app(test_servers: Servers, intake_database: Database) -> AsyncIterator[IntakeApp]:
    settings = IntakeSettings(
        **await _through_proxy(test_servers, intake_database),
        lookup_burst=LOOKUP_BURST,
        lookup_rate_per_minute=1.0,
        trusted_proxies="127.0.0.1, ::1",  # the tests pose as the proxy: own addresses
        auth_secret=AUTH_SECRET,
        contact_key="pages-test-contact-key",
    )
    async with serve(create_intake(settings)) as url:
        yield IntakeApp(url, settings, intake_database)


def client_address() -> str:
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250}"


@pytest.fixture
async def citizen(intake_app: IntakeApp) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client of intake, posing as a client address of its own."""
    async with httpx.AsyncClient(
        base_url=intake_app.url, headers={"X-Forwarded-For": client_address()}, timeout=30
    ) as http:
        yield http


def clerk_headers(center: str = "nam-cuong", role: Role = "clerk") -> dict[str, str]:
    token = issue_token(AUTH_SECRET, center_id=center, subject="clerk-7", role=role)
    return {"Authorization": f"Bearer {token}"}


# --------------------------------------------------------------------- deadlines


class MovableClock:
    """The service's "now", set by the test instead of waiting for real time."""

    def __init__(self, start: datetime) -> None:
        self.now = start.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class DeadlinesApp:
    url: str
    settings: DeadlinesSettings
    database: Database
    clock: MovableClock

    def token(self, center: str, role: Role = "leader", secret: str = AUTH_SECRET) -> str:
        return issue_token(secret, center_id=center, subject="lanh-dao", role=role)

    def bearer(self, center: str, role: Role = "leader") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(center, role)}"}

    async def dashboard(
        self, client: httpx.AsyncClient, center: str, **params: str
    ) -> httpx.Response:
        """The center's dashboard as its leader sees it (``from``, ``to``, ``as_of``...)."""
        return await client.get(
            "/dashboard", params={"center": center, **params}, headers=self.bearer(center)
        )

    async def publish(self, *events: Envelope[Any]) -> None:
        """Put dossier events on the topic, keyed by dossier, as intake's relay does."""
        kafka = self.settings.kafka
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
        await producer.start()
        try:
            topic = DOSSIERS.topic(kafka.topic_prefix)
            for event in events:
                key = str(event.data.dossier_id).encode()
                await producer.send(topic, event.to_bytes(), key=key)
            await producer.flush()
        finally:
            await producer.stop()


deadlines_database = _database_fixture()


@pytest.fixture(scope="package")
async def deadlines_app(
    test_servers: Servers, deadlines_database: Database
) -> AsyncIterator[DeadlinesApp]:
    from tests.integration.pages.history import NOW

    clock = MovableClock(NOW)
    settings = DeadlinesSettings(
        **await _through_proxy(test_servers, deadlines_database),
        auth_secret=AUTH_SECRET,
        scheduler_poll_seconds=0.2,
        metrics_sample_seconds=0.2,
    )
    async with serve(create_deadlines(settings, clock=clock)) as url:
        yield DeadlinesApp(url, settings, deadlines_database, clock)


@pytest.fixture
async def browser(deadlines_app: DeadlinesApp) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the dashboard that keeps cookies, as a browser does."""
    async with httpx.AsyncClient(base_url=deadlines_app.url, timeout=30) as http:
        yield http
