"""The registry and its followers running for real: one database (a schema each), one
broker, real uvicorn servers. Started once per package: each start joins consumer
groups, so the tests share them and stay apart by using centers of their own."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from motcua.devtools.bus import read_all
from motcua.services.deadlines.app import create_app as create_deadlines
from motcua.services.deadlines.settings import DeadlinesSettings
from motcua.services.intake.app import create_app as create_intake
from motcua.services.intake.settings import IntakeSettings
from motcua.services.queue.app import create_app as create_queue
from motcua.services.queue.settings import QueueSettings
from motcua.services.registry.app import create_app as create_registry
from motcua.services.registry.settings import RegistrySettings
from motcua.shared.auth import Role, issue_token
from motcua.shared.events.topics import REGISTRY
from motcua.shared.settings import DatabaseSettings, KafkaSettings, ServiceSettings
from tests.support.fixtures import database_fixture, kafka_fixture
from tests.support.serving import serve

SECRET = "registry-test-auth-secret"

registry_database = database_fixture("package")
registry_kafka = kafka_fixture("package")


def center_document(center_id: str, **fields: Any) -> dict[str, Any]:
    """A valid center document: two lines, two counters, no calendar overrides."""
    return {
        "center_id": center_id,
        "name": f"Trung tâm {center_id}",
        "name_en": f"Center {center_id}",
        "code": "T" + str(abs(hash(center_id)) % 1000),
        "lines": [
            {"code": "justice", "prefix": "A"},
            {"code": "land", "prefix": "B", "default_service_seconds": 1200},
        ],
        "counters": [
            {"counter_id": "Q1", "name": "Quầy 1", "line_codes": ["justice"]},
            {"counter_id": "Q2", "name": "Quầy 2", "line_codes": ["justice", "land"]},
        ],
        **fields,
    }


@dataclass
class Stack:
    urls: dict[str, str]
    kafka: KafkaSettings
    db: asyncpg.Connection
    files: Path
    apps: dict[str, Any]

    def auth(
        self, center_id: str, role: Role = "admin", subject: str = "admin-1"
    ) -> dict[str, str]:
        token = issue_token(SECRET, center_id=center_id, subject=subject, role=role)
        return {"Authorization": f"Bearer {token}"}

    def client(self, service: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.urls[service], timeout=30)

    async def published(self, center_id: str) -> list[dict[str, Any]]:
        """The registry's events for ``center_id`` on the bus, in order."""
        records = await read_all(
            self.kafka.bootstrap_servers, REGISTRY.topic(self.kafka.topic_prefix)
        )
        events = [json.loads(r.value) for r in records]
        return [e for e in events if e["center_id"] == center_id]

    async def held(self, schema: str, center_id: str) -> int | None:
        """The revision a service holds for the center (None: none yet)."""
        revision: int | None = await self.db.fetchval(
            f'SELECT revision FROM "{schema}".registry_centers WHERE center_id = $1', center_id
        )
        return revision


def _settings(cls: type[Any], url: str, kafka: KafkaSettings, **more: Any) -> Any:
    settings: ServiceSettings = cls(
        db=DatabaseSettings(url=url, pool_min=1, pool_max=4),
        kafka=kafka,
        log_format="console",
        auth_secret=SECRET,
        **more,
    )
    return settings


@pytest.fixture(scope="package")
async def stack(
    registry_database: str, registry_kafka: KafkaSettings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    files = tmp_path_factory.mktemp("province")
    (files / "nam-cuong.json").write_text(
        (Path(__file__).parents[3] / "motcua/services/registry/data/nam-cuong.json").read_text(
            "utf-8"
        ),
        "utf-8",
    )
    apps = {
        "registry": create_registry(
            _settings(RegistrySettings, registry_database, registry_kafka, dir=files)
        ),
        "queue": create_queue(_settings(QueueSettings, registry_database, registry_kafka)),
        "intake": create_intake(_settings(IntakeSettings, registry_database, registry_kafka)),
        "deadlines": create_deadlines(
            _settings(DeadlinesSettings, registry_database, registry_kafka, scheduler_enabled=False)
        ),
    }
    urls: dict[str, str] = {}
    async with (
        serve(apps["registry"]) as urls["registry"],
        serve(apps["queue"]) as urls["queue"],
        serve(apps["intake"]) as urls["intake"],
        serve(apps["deadlines"]) as urls["deadlines"],
    ):
        db = await asyncpg.connect(registry_database)
        try:
            yield Stack(urls, registry_kafka, db, files, apps)
        finally:
            await db.close()
