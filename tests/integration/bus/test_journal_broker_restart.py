"""The broker restarts empty under a running service (Tansu keeps nothing): its relay
notices the new bus epoch and publishes the journal again, and its consumer, whose
position in the lost log lies past the start of the new one, skips nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from motcua.devtools import probe
from motcua.devtools.embedded import EmbeddedKafka, free_port
from motcua.shared.bus import outbox
from motcua.shared.bus.kafka import ensure_topics
from motcua.shared.settings import DatabaseSettings, KafkaSettings, ServiceSettings
from tests.integration.bus.conftest import effects, runtime_of
from tests.support.serving import serve
from tests.support.waiting import eventually

KEYS = [uuid.uuid4() for _ in range(5)]


@pytest.fixture
def tansu(tmp_path: Path) -> Iterator[EmbeddedKafka]:
    """A Tansu broker of this test's own, so that restarting it disturbs no other test."""
    broker = EmbeddedKafka(free_port(), tmp_path).start()
    try:
        yield broker
    finally:
        broker.stop()


async def write(pool: asyncpg.Pool, seqs: range) -> None:
    async with pool.acquire() as conn:
        for seq in seqs:
            async with conn.transaction():
                await outbox.add(conn, *(probe.assigned(k, seq) for k in KEYS))


@pytest.mark.slow
async def test_a_broker_restarted_empty_gets_the_journal_and_the_consumer_skips_nothing(
    database_url: str, db: asyncpg.Connection, tansu: EmbeddedKafka, tmp_path: Path
) -> None:
    kafka = KafkaSettings(
        bootstrap_servers=tansu.bootstrap,
        topic_prefix="restart.",
        session_timeout_ms=6_000,
        heartbeat_interval_ms=1_500,
    )
    await ensure_topics(kafka)
    settings = ServiceSettings(
        db=DatabaseSettings(url=database_url), kafka=kafka, log_format="console"
    )
    app = probe.create_app(settings)
    async with serve(app) as url:
        runtime = runtime_of(app)
        await write(runtime.pool, range(20))
        await eventually(lambda: effects(db), until=lambda r: len(r) == 100, what="first 100")
        # The journal keeps only the last two transactions (the horizon passed the rest),
        # so the new log is far shorter than the lost one: a consumer that went on from
        # its old position would skip the first events written after the restart.
        await db.execute(
            "DELETE FROM probe.outbox_journal WHERE id NOT IN"
            " (SELECT id FROM probe.outbox_journal ORDER BY id DESC LIMIT 10)"
        )

        tansu.stop()
        restarted = EmbeddedKafka(tansu.port, tmp_path).start()
        tansu.proc = restarted.proc  # the fixture stops whichever runs
        tansu._log = restarted._log
        await ensure_topics(kafka)
        await write(runtime.pool, range(20, 30))  # waits behind the replay

        rows = await eventually(
            lambda: effects(db), until=lambda r: len(r) == 150, timeout=90, what="all 150"
        )
        relay = runtime.relay
        assert relay is not None
        assert relay.replayed == 10  # what the journal still held, published again
        async with httpx.AsyncClient() as client:  # ready again, not 503 for ever
            await eventually(
                lambda: client.get(f"{url}/readyz"),
                until=lambda r: r.status_code == 200,
                timeout=30,
                what="ready after the restart",
            )
    per_key: dict[str, list[int]] = {}
    for r in rows:
        assert r["n"] == 1  # the replayed copies had no second effect
        per_key.setdefault(r["key"], []).append(r["seq"])
    assert all(seqs == list(range(30)) for seqs in per_key.values())
    assert await db.fetchval("SELECT count(*) FROM probe.outbox") == 0
