"""One running intake app for the whole package: a start-up joins two consumer
groups, so tests share it and stay apart by using their own dossiers, centers and
client addresses."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from motcua.services.intake.app import create_app
from motcua.services.intake.settings import IntakeSettings
from motcua.services.intake.usecases import Wiring
from motcua.shared.settings import DatabaseSettings, KafkaSettings
from tests.integration.intake.support import CENTER, Intake
from tests.support.fixtures import database_fixture, kafka_fixture
from tests.support.serving import serve

LOOKUP_BURST = 5


intake_database = database_fixture("package")
intake_kafka = kafka_fixture("package")


@pytest.fixture(scope="package")
def signing_key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A center's result-signing key, as a deployment mounts it (docs/documents.md)."""
    directory = tmp_path_factory.mktemp("signing-keys")
    (directory / CENTER).mkdir()
    (directory / CENTER / "2026-01.pem").write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return directory


@pytest.fixture(scope="package")
def intake_settings(
    intake_database: str, intake_kafka: KafkaSettings, signing_key_dir: Path
) -> IntakeSettings:
    return IntakeSettings(
        signing_key_dir=signing_key_dir,
        db=DatabaseSettings(url=intake_database, pool_min=1, pool_max=10),
        kafka=intake_kafka,
        log_format="console",
        lookup_burst=LOOKUP_BURST,
        lookup_rate_per_minute=1.0,
        submit_burst=50,
        trusted_proxies="127.0.0.1, ::1",  # the tests pose as the proxy: own addresses
        auth_secret="intake-test-auth-secret",
        contact_key="intake-test-contact-key",
    )


@dataclass
class Running:
    url: str
    settings: IntakeSettings
    wiring: Wiring


@pytest.fixture(scope="package")
async def running_intake(intake_settings: IntakeSettings) -> AsyncIterator[Running]:
    app = create_app(intake_settings)
    async with serve(app) as url:
        yield Running(url, intake_settings, app.state.intake)


@pytest.fixture(scope="package")
async def pg(intake_database: str, running_intake: Running) -> AsyncIterator[asyncpg.Connection]:
    """A plain connection for assertions (the app has migrated the schema)."""
    conn = await asyncpg.connect(intake_database, server_settings={"search_path": "intake"})
    yield conn
    await conn.close()


@pytest.fixture
async def intake(running_intake: Running, pg: asyncpg.Connection) -> AsyncIterator[Intake]:
    """A client of the running app, posing as a client address of its own."""
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    async with httpx.AsyncClient(
        base_url=running_intake.url, headers={"X-Forwarded-For": address}, timeout=30
    ) as http:
        yield Intake(http, running_intake.settings, pg, running_intake.wiring)
