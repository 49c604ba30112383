"""A service started before its broker: alive and not ready, retrying, then ready once
the broker comes up, with events flowing. It neither exits nor crash-loops."""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from motcua.devtools import probe
from motcua.devtools.backends import Servers
from motcua.devtools.bus import produce
from motcua.devtools.embedded import embedded_broker, free_port
from motcua.shared.bus.kafka import ensure_topics
from motcua.shared.events.topics import DOSSIERS
from motcua.shared.settings import KafkaSettings
from tests.integration.bus.conftest import effects
from tests.integration.bus.test_crash_and_outage import start_probe
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow


async def get(url: str) -> tuple[int, dict[str, Any]]:
    """Status and body of ``url``; (0, {}) while nothing answers yet."""
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(url)
    except httpx.TransportError:
        return 0, {}
    return response.status_code, response.json()


async def test_a_service_started_before_its_broker_waits_for_it(
    test_servers: Servers, database_url: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens here yet
    kafka = KafkaSettings(
        bootstrap_servers=f"127.0.0.1:{port}",
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
        session_timeout_ms=6_000,
        heartbeat_interval_ms=1_500,
    )
    log = tmp_path / "probe.log"
    service, url = start_probe(database_url, kafka, kill_after_commit=False, log=log)
    broker = embedded_broker(test_servers.broker, port, tmp_path / "state")
    try:
        # Up and answering, not ready, and it says why.
        status, _ = await eventually(
            lambda: get(f"{url}/healthz"), until=lambda r: r[0] == 200, timeout=60
        )
        status, body = await get(f"{url}/readyz")
        assert status == 503
        assert body["checks"]["broker"].startswith("not connected")
        assert body["checks"]["database"] == "ok"
        # It keeps trying (each try logged), and is still the same live process.
        await eventually(
            lambda: asyncio.to_thread(log.read_text),
            until=lambda text: text.count("bus.not_connected") >= 3,
            timeout=60,
            what="three logged tries",
        )
        assert service.poll() is None

        await asyncio.to_thread(broker.start)
        await ensure_topics(kafka)
        await eventually(
            lambda: get(f"{url}/readyz"), until=lambda r: r[0] == 200, timeout=90, what="ready"
        )
        event = probe.assigned(uuid.uuid4(), 1)
        topic = DOSSIERS.topic(kafka.topic_prefix)
        await produce(kafka.bootstrap_servers, topic, [event.to_bytes()], partition=0)
        rows = await eventually(lambda: effects(db), until=lambda r: len(r) == 1, timeout=60)
        assert [(r["event_id"], r["n"]) for r in rows] == [(event.event_id, 1)]
        assert service.poll() is None
        assert "bus.connected" in log.read_text()
    finally:
        if service.poll() is None:
            service.send_signal(signal.SIGTERM)
            await asyncio.to_thread(service.wait, 30)
        broker.stop()
