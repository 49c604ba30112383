"""kill -9 between the effect's commit and the offset commit; a broker outage."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from motcua.devtools import probe
from motcua.devtools.backends import Servers
from motcua.devtools.bus import produce, read_all
from motcua.devtools.embedded import embedded_broker, free_port
from motcua.devtools.tcpproxy import TcpProxy
from motcua.shared.bus import outbox
from motcua.shared.bus.kafka import ensure_topics
from motcua.shared.events.topics import DOSSIERS
from motcua.shared.settings import DatabaseSettings, KafkaSettings, ServiceSettings
from tests.integration.bus.conftest import effects, runtime_of
from tests.support.serving import serve
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[3]


def start_probe(
    database_url: str, kafka: KafkaSettings, *, kill_after_commit: bool, log: Path | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "MOTCUA_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "MOTCUA_KAFKA_SESSION_TIMEOUT_MS": str(kafka.session_timeout_ms),
        "MOTCUA_KAFKA_HEARTBEAT_INTERVAL_MS": str(kafka.heartbeat_interval_ms),
        "PROBE_PORT": str(port),
        "PROBE_KILL_AFTER_COMMIT": "1" if kill_after_commit else "0",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "motcua.devtools.probe"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab") if log else subprocess.DEVNULL,
    )
    return proc, f"http://127.0.0.1:{port}"


async def committed_offset(kafka: KafkaSettings, group: str, topic: str, partition: int) -> int:
    """The group's committed offset (-1 if none), read without joining the group."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        offset = await consumer.committed(TopicPartition(topic, partition))
        return -1 if offset is None else int(offset)
    finally:
        await consumer.stop()


@pytest.mark.slow
async def test_sigkill_after_commit_before_offset_commit_has_no_second_effect(
    database_url: str, kafka_settings: KafkaSettings, db: asyncpg.Connection
) -> None:
    topic = DOSSIERS.topic(kafka_settings.topic_prefix)
    group = f"{kafka_settings.topic_prefix}motcua-probe"
    event = probe.assigned(uuid.uuid4(), 1)

    doomed, _ = start_probe(database_url, kafka_settings, kill_after_commit=True)
    try:
        await eventually(
            lambda: db.fetchval("SELECT to_regclass('probe.effects') IS NOT NULL"),
            what="probe migrated",
        )
        await produce(kafka_settings.bootstrap_servers, topic, [event.to_bytes()], partition=0)
        code = await asyncio.wait_for(asyncio.to_thread(doomed.wait), 60)
    finally:
        if doomed.poll() is None:
            doomed.kill()
    assert code == -signal.SIGKILL
    rows = await effects(db)
    assert [(r["event_id"], r["n"]) for r in rows] == [(event.event_id, 1)]  # effect committed
    assert await committed_offset(kafka_settings, group, topic, 0) < 1  # offset was not

    survivor, url = start_probe(database_url, kafka_settings, kill_after_commit=False)
    try:
        later = probe.assigned(event.data.dossier_id, 2)
        await produce(kafka_settings.bootstrap_servers, topic, [later.to_bytes()], partition=0)
        rows = await eventually(lambda: effects(db), until=lambda r: len(r) == 2, timeout=60)
        assert [(r["seq"], r["n"]) for r in rows] == [(1, 1), (2, 1)]  # redelivered, not reapplied
        await eventually(
            lambda: committed_offset(kafka_settings, group, topic, 0), until=lambda o: o == 2
        )
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{url}/readyz")).status_code == 200
    finally:
        survivor.send_signal(signal.SIGTERM)
        await asyncio.to_thread(survivor.wait, 30)


@pytest.fixture
async def broker_behind_proxy(
    test_servers: Servers, tmp_path: Path
) -> AsyncIterator[tuple[TcpProxy, KafkaSettings]]:
    """A broker of the tests' kind of its own, advertising the proxy's address, so every
    client path goes through it."""
    proxy_port, broker_port = free_port(), free_port()
    broker = embedded_broker(test_servers.broker, broker_port, tmp_path)
    broker.advertised_port = proxy_port
    # The proxy first: Apache Kafka is ready once it answers metadata at the address it
    # advertises.
    proxy = await TcpProxy(broker_port, proxy_port).start()
    try:
        await asyncio.to_thread(broker.start)
        settings = KafkaSettings(
            bootstrap_servers=f"127.0.0.1:{proxy_port}", topic_prefix="outage."
        )
        await ensure_topics(settings)
        yield proxy, settings
    finally:
        await proxy.stop()
        broker.stop()


@pytest.mark.slow
async def test_broker_outage_loses_nothing_and_keeps_per_key_order(
    database_url: str,
    db: asyncpg.Connection,
    broker_behind_proxy: tuple[TcpProxy, KafkaSettings],
) -> None:
    proxy, kafka = broker_behind_proxy
    settings = ServiceSettings(
        db=DatabaseSettings(url=database_url), kafka=kafka, log_format="console"
    )
    app = probe.create_app(settings)
    keys = [uuid.uuid4() for _ in range(4)]
    async with serve(app):
        runtime = runtime_of(app)
        async with runtime.pool.acquire() as conn:
            for seq in range(5):
                async with conn.transaction():
                    await outbox.add(conn, *(probe.assigned(k, seq) for k in keys))
        await eventually(lambda: effects(db), until=lambda r: len(r) == 20, what="before outage")

        await proxy.cut()
        async with runtime.pool.acquire() as conn:
            for seq in range(5, 30):  # written while the broker is unreachable
                async with conn.transaction():
                    await outbox.add(conn, *(probe.assigned(k, seq) for k in keys))
        backlog = await db.fetchval("SELECT count(*) FROM probe.outbox")
        assert backlog > 0  # the relay could not publish them
        await proxy.restore()

        rows = await eventually(
            lambda: effects(db), until=lambda r: len(r) == 120, timeout=90, what="caught up"
        )
    per_key: dict[str, list[int]] = {}
    for r in rows:
        per_key.setdefault(r["key"], []).append(r["seq"])
        assert r["n"] == 1
    assert all(seqs == list(range(30)) for seqs in per_key.values())
    on_bus = await read_all(kafka.bootstrap_servers, DOSSIERS.topic("outage."))
    published = {json.loads(m.value)["event_id"] for m in on_bus}
    assert len(published) == 120


@pytest.mark.slow
async def test_sigterm_under_load_drains_and_loses_or_doubles_nothing(
    database_url: str, kafka_settings: KafkaSettings, db: asyncpg.Connection, tmp_path: Path
) -> None:
    """SIGTERM mid-load: the service stops consuming, finishes in-flight work, exits
    cleanly in time; events written meanwhile are applied once after the restart."""
    log = tmp_path / "first.log"
    first, _ = start_probe(database_url, kafka_settings, kill_after_commit=False, log=log)
    await eventually(
        lambda: db.fetchval("SELECT to_regclass('probe.outbox') IS NOT NULL"), what="migrated"
    )
    writer = await asyncpg.connect(database_url, server_settings={"search_path": "probe"})
    written = 0

    async def write(n: int) -> None:
        nonlocal written
        for _ in range(n):
            async with writer.transaction():
                await outbox.add(writer, probe.assigned(uuid.uuid4(), written))
            written += 1

    try:
        await write(200)
        await eventually(lambda: _applied(db), until=lambda n: n > 0, what="load flowing")
        load = asyncio.create_task(write(300))  # keeps writing through the stop
        first.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(asyncio.to_thread(first.wait), 30)  # within the grace
        assert code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it is done
        assert "service.stopped" in log.read_text()  # the lifespan ran to its end: drained
        await load
        second, _ = start_probe(database_url, kafka_settings, kill_after_commit=False)
        try:
            await eventually(
                lambda: _applied(db), until=lambda n: n == 500, timeout=90, what="all applied"
            )
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.to_thread(second.wait, 30)
    finally:
        await writer.close()
        if first.poll() is None:
            first.kill()
    assert await db.fetchval("SELECT count(*) FROM probe.effects WHERE n > 1") == 0
    assert await db.fetchval("SELECT count(DISTINCT seq) FROM probe.effects") == 500
    assert await db.fetchval("SELECT count(*) FROM probe.outbox") == 0


async def _applied(db: asyncpg.Connection) -> int:
    return int(await db.fetchval("SELECT count(*) FROM probe.effects"))
