"""One running queue service for the whole package, on the real broker and database.

Starting the app is the slow part (migrations, relay, display listener), so the
package shares one uvicorn server. Tests stay isolated by center: the data file
given to the app holds many copies of the sample center, and each test takes a
fresh one (events are keyed and filtered by center).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from motcua.devtools.bus import read_all
from motcua.services.queue.app import create_app
from motcua.services.queue.directory import DEFAULT_FILE
from motcua.services.queue.settings import QueueSettings
from motcua.services.queue.usecases import QueueService
from motcua.shared.auth import issue_token
from motcua.shared.client_address import parse_networks
from motcua.shared.events.registry import parse_event
from motcua.shared.events.topics import QUEUE
from motcua.shared.settings import DatabaseSettings, KafkaSettings
from tests.support.fixtures import database_fixture, kafka_fixture
from tests.support.serving import serve

SECRET = "queue-test-secret"
CONTACT_KEY = "queue-test-contact-key"
MAX_PRIORITY_IN_ROW = 2


def write_centers(path: Path, count: int, prefix: str = "t") -> list[str]:
    """Copies of the sample center under fresh ids, so that tests never share a queue."""
    sample = json.loads(DEFAULT_FILE.read_text(encoding="utf-8"))["centers"][0]
    ids = [f"{prefix}{i:03d}" for i in range(count)]
    centers = [sample | {"center_id": cid} for cid in ids]
    path.write_text(json.dumps({"centers": centers}), encoding="utf-8")
    return ids


class FakeClock:
    """A settable clock for tests that need known times (statistics, midnight)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class QueueEnv:
    app: FastAPI
    url: str
    settings: QueueSettings
    database_url: str
    center_ids: Iterator[str] = field(repr=False)

    @property
    def service(self) -> QueueService:
        svc: QueueService = self.app.state.queue
        return svc

    @property
    def topic(self) -> str:
        return QUEUE.topic(self.settings.kafka.topic_prefix)

    def behind_proxy(self, **update: Any) -> QueueSettings:
        """These settings with ``update``, trusting the tests (on loopback) as the proxy
        that names each client in ``X-Forwarded-For``."""
        trusted = {"trusted_proxies": parse_networks("127.0.0.1, ::1")}
        return self.settings.model_copy(update=update | trusted)

    def auth(self, center_id: str, subject: str = "clerk-1") -> dict[str, str]:
        token = issue_token(SECRET, center_id=center_id, subject=subject)
        return {"Authorization": f"Bearer {token}"}

    async def events(self, center_id: str) -> list[Any]:
        """Every queue event of one center on the real broker, in partition order."""
        messages = await read_all(self.settings.kafka.bootstrap_servers, self.topic)
        events = [parse_event(m.value) for m in messages]
        return [e for e in events if e.center_id == center_id]


queue_db = database_fixture("package")
queue_kafka = kafka_fixture("package", quick_join=False)


def queue_settings(
    database_url: str, kafka: KafkaSettings, centers_file: Path, **overrides: Any
) -> QueueSettings:
    return QueueSettings(
        db=DatabaseSettings(url=database_url, pool_min=1, pool_max=10),
        kafka=kafka,
        log_format="console",
        auth_secret=SECRET,
        contact_key=CONTACT_KEY,
        centers_file=centers_file,
        max_priority_in_row=MAX_PRIORITY_IN_ROW,
        # Tests share a few phone numbers; the limits are tested on their own.
        **({"contact_tickets_burst": 100_000, "recipient_tickets_burst": 100_000} | overrides),
    )


@pytest.fixture(scope="package")
async def queue_env(
    tmp_path_factory: pytest.TempPathFactory, queue_db: str, queue_kafka: KafkaSettings
) -> AsyncIterator[QueueEnv]:
    centers_file = tmp_path_factory.mktemp("queue") / "centers.json"
    ids = write_centers(centers_file, 300)
    settings = queue_settings(queue_db, queue_kafka, centers_file)
    app = create_app(settings)
    async with serve(app) as url:
        yield QueueEnv(app, url, settings, queue_db, iter(ids))


@pytest.fixture
def center(queue_env: QueueEnv) -> str:
    """A center no other test touches."""
    return next(queue_env.center_ids)


@pytest.fixture
async def client(queue_env: QueueEnv) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(base_url=queue_env.url, timeout=30, limits=limits) as c:
        yield c


@pytest.fixture
async def pg(queue_env: QueueEnv) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(queue_env.database_url)
    yield conn
    await conn.close()


@pytest.fixture
def clock(queue_env: QueueEnv) -> Iterator[FakeClock]:
    """Freeze the service's clock for one test; the real clock comes back afterwards."""
    fake = FakeClock(datetime(2025, 11, 27, 1, 30, tzinfo=UTC))  # 08:30 in Hanoi
    real = queue_env.service.clock
    queue_env.service.clock = fake
    try:
        yield fake
    finally:
        queue_env.service.clock = real


class CenterRules:
    """Gives one center its own booking and remote-ticket rules for one test; the queue's
    settings come back afterwards (``own_rules``)."""

    def __init__(self, env: QueueEnv) -> None:
        self.env = env

    def __call__(self, center_id: str, **rules: Any) -> None:
        from motcua.services.queue.settings import AppointmentSettings

        own = {center_id: AppointmentSettings(**rules)}
        service = self.env.service
        service.settings = service.settings.model_copy(update={"appointment_centers": own})


@pytest.fixture
def own_rules(queue_env: QueueEnv) -> Iterator[CenterRules]:
    real = queue_env.service.settings
    try:
        yield CenterRules(queue_env)
    finally:
        queue_env.service.settings = real


async def state_of(pg: asyncpg.Connection, center_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """Everything the queue stores about one center, to prove a request changed nothing."""
    queries = {
        "tickets": "SELECT * FROM queue.tickets WHERE center_id = $1 ORDER BY ticket_id",
        "counters": "SELECT * FROM queue.counters WHERE center_id = $1 ORDER BY counter_id",
        "sequences": "SELECT * FROM queue.ticket_sequences WHERE center_id = $1 "
        "ORDER BY line_code, local_day",
        "log": "SELECT * FROM queue.ticket_log WHERE center_id = $1 ORDER BY id",
    }
    return {k: [tuple(r) for r in await pg.fetch(q, center_id)] for k, q in queries.items()}


class Desk:
    """A kiosk plus the counters of one center, driven over HTTP."""

    def __init__(self, client: httpx.AsyncClient, env: QueueEnv, center_id: str) -> None:
        self.client = client
        self.env = env
        self.center = center_id
        self.headers = env.auth(center_id)

    async def issue(self, line: str, expect: int = 201, **body: Any) -> dict[str, Any]:
        r = await self.client.post(
            f"/centers/{self.center}/tickets", json={"line_code": line, **body}
        )
        assert r.status_code == expect, r.text
        result: dict[str, Any] = r.json()
        return result

    async def open(self, counter: str, lines: list[str] | None = None) -> dict[str, Any]:
        body = {"line_codes": lines} if lines else None
        r = await self.client.post(
            f"/centers/{self.center}/counters/{counter}/open", json=body, headers=self.headers
        )
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        return result

    async def close(self, counter: str) -> httpx.Response:
        return await self.client.post(
            f"/centers/{self.center}/counters/{counter}/close", headers=self.headers
        )

    async def call(self, counter: str) -> dict[str, Any] | None:
        r = await self.call_raw(counter)
        assert r.status_code in (200, 204), r.text
        return r.json() if r.status_code == 200 else None

    async def call_raw(self, counter: str) -> httpx.Response:
        return await self.client.post(
            f"/centers/{self.center}/counters/{counter}/call-next", headers=self.headers
        )

    async def act(
        self, counter: str, ticket: dict[str, Any], action: str, body: Any = None, expect: int = 200
    ) -> dict[str, Any]:
        r = await self.act_raw(counter, ticket["ticket_id"], action, body)
        assert r.status_code == expect, r.text
        result: dict[str, Any] = r.json()
        return result

    async def act_raw(
        self, counter: str, ticket_id: str, action: str, body: Any = None
    ) -> httpx.Response:
        return await self.client.post(
            f"/centers/{self.center}/counters/{counter}/tickets/{ticket_id}/{action}",
            json=body,
            headers=self.headers,
        )

    async def ticket_op(self, ticket: dict[str, Any], op: str, expect: int = 200) -> dict[str, Any]:
        r = await self.client.post(
            f"/centers/{self.center}/tickets/{ticket['ticket_id']}/{op}", headers=self.headers
        )
        assert r.status_code == expect, r.text
        result: dict[str, Any] = r.json()
        return result

    async def get(self, path: str, **params: Any) -> Any:
        r = await self.client.get(
            f"/centers/{self.center}{path}", params=params, headers=self.headers
        )
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture
def desk(client: httpx.AsyncClient, queue_env: QueueEnv, center: str) -> Desk:
    return Desk(client, queue_env, center)


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    """Parse a Server-Sent Events body into (event name, JSON data) pairs."""
    name: str | None = None
    data: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if data:
                yield name or "message", json.loads("\n".join(data))
            name, data = None, []
        elif line.startswith("event:"):
            name = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").strip())
