"""The bus itself: raw aiokafka and raw asyncpg against our outbox -> relay ->
broker -> inbox-consumer pipeline, on the same broker and database, in one run.

Our pipeline runs the probe service as its own process (as in production), so
the writer, the relay and the consumer do not share one event loop.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.bus import outbox
from shared.bus.kafka import ensure_topics
from shared.embedded import free_port
from shared.settings import KafkaSettings
from tests.integration.bus.probe import assigned
from tests.support.backends import Servers

ROOT = Path(__file__).resolve().parent.parent
RAW_MESSAGES = 100_000
BURST_EVENTS = 30_000
STEADY_RATE = 1_000  # events/s offered for the latency run
STEADY_SECONDS = 10


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def raw_kafka(bootstrap: str, topic: str) -> dict[str, float]:
    value = b"x" * 200
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    t0 = time.perf_counter()
    futures = [
        await producer.send(topic, value, key=str(i % 64).encode()) for i in range(RAW_MESSAGES)
    ]
    await asyncio.gather(*futures)
    produce_s = time.perf_counter() - t0
    await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"raw-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest", enable_auto_commit=False, max_poll_records=500,
    )  # fmt: skip
    await consumer.start()
    t1 = time.perf_counter()
    seen = 0
    while seen < RAW_MESSAGES:
        batch = await consumer.getmany(timeout_ms=1000)
        seen += sum(len(v) for v in batch.values())
        await consumer.commit()
    consume_s = time.perf_counter() - t1
    await consumer.stop()
    return {
        "raw_kafka_produce_msgs_per_s": round(RAW_MESSAGES / produce_s),
        "raw_kafka_consume_msgs_per_s": round(RAW_MESSAGES / consume_s),
        "raw_kafka_produce_consume_msgs_per_s": round(RAW_MESSAGES / (produce_s + consume_s)),
    }


async def raw_postgres(url: str) -> dict[str, float]:
    conn = await asyncpg.connect(url)
    await conn.execute("CREATE TABLE IF NOT EXISTS raw_bench (id uuid PRIMARY KEY, body bytea)")
    body = b"x" * 600
    t0 = time.perf_counter()
    for _ in range(1000):
        async with conn.transaction():
            await conn.execute("INSERT INTO raw_bench VALUES ($1, $2)", uuid.uuid4(), body)
    single = 1000 / (time.perf_counter() - t0)
    rows = [(uuid.uuid4(), body) for _ in range(50_000)]
    t1 = time.perf_counter()
    for i in range(0, len(rows), 500):
        async with conn.transaction():
            await conn.executemany("INSERT INTO raw_bench VALUES ($1, $2)", rows[i : i + 500])
    batched = len(rows) / (time.perf_counter() - t1)
    await conn.close()
    return {
        "raw_pg_one_row_tx_per_s": round(single),
        "raw_pg_executemany_500_rows_per_s": round(batched),
    }


async def _wait_effects(conn: asyncpg.Connection, n: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await conn.fetchval("SELECT count(*) FROM probe.effects") >= n:
            return time.perf_counter()
        await asyncio.sleep(0.05)
    raise TimeoutError(f"fewer than {n} effects after {timeout}s")


async def pipeline(db_url: str, kafka: KafkaSettings) -> dict[str, Any]:
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": db_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "MOTCUA_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "MOTCUA_KAFKA_EMBEDDED": "true" if kafka.embedded else "false",
        "PROBE_PORT": str(port),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.bus.probe",
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(600):
                try:
                    if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        pool = await asyncpg.create_pool(
            db_url, min_size=4, max_size=4, server_settings={"search_path": "probe"}
        )
        reader = await asyncpg.connect(db_url)
        keys = [uuid.uuid4() for _ in range(200)]

        async def writer(start: int, count: int, per_tx: int) -> None:
            async with pool.acquire() as conn:
                for i in range(start, start + count, per_tx):
                    async with conn.transaction():
                        await outbox.add(
                            conn, *(assigned(keys[j % 200], j) for j in range(i, i + per_tx))
                        )

        print(
            f"   burst: {BURST_EVENTS} events through outbox -> relay -> broker -> inbox",
            flush=True,
        )
        t0 = time.perf_counter()
        quarter = BURST_EVENTS // 4
        await asyncio.gather(*(writer(w * quarter, quarter, 50) for w in range(4)))
        written = time.perf_counter()
        done = await _wait_effects(reader, BURST_EVENTS, 300)
        burst_rate = BURST_EVENTS / (done - t0)

        print(
            f"   steady: {STEADY_RATE}/s for {STEADY_SECONDS}s, commit-to-effect latency",
            flush=True,
        )
        await reader.execute("TRUNCATE probe.effects")
        per_tick = STEADY_RATE // 20
        base = 10_000_000
        t1 = time.perf_counter()
        for tick in range(STEADY_SECONDS * 20):
            await writer(base + tick * per_tick, per_tick, per_tick)
            delay = t1 + (tick + 1) / 20 - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        await _wait_effects(reader, STEADY_SECONDS * STEADY_RATE, 120)
        lat = await reader.fetch(
            "SELECT extract(epoch FROM applied_at - occurred_at) * 1000 AS ms FROM probe.effects"
        )
        ms = [float(r["ms"]) for r in lat]
        dup = await reader.fetchval("SELECT count(*) FROM probe.effects WHERE n > 1")
        await reader.close()
        await pool.close()
        return {
            "pipeline_burst_events": BURST_EVENTS,
            "pipeline_write_events_per_s": round(BURST_EVENTS / (written - t0)),
            "pipeline_end_to_end_events_per_s": round(burst_rate),
            "pipeline_steady_offered_events_per_s": STEADY_RATE,
            "pipeline_commit_to_effect_p50_ms": round(pct(ms, 0.50), 1),
            "pipeline_commit_to_effect_p99_ms": round(pct(ms, 0.99), 1),
            "pipeline_duplicate_effects": dup,
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)


async def run(servers: Servers) -> dict[str, Any]:
    kafka = KafkaSettings(
        bootstrap_servers=servers.kafka_bootstrap,
        embedded=servers.kafka_embedded,
        topic_prefix=f"bench{uuid.uuid4().hex[:6]}.",
    )
    await ensure_topics(kafka)
    admin = await asyncpg.connect(servers.postgres_url)
    db = f"bench_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{db}"')
    await admin.close()
    db_url = servers.postgres_url.rsplit("/", 1)[0] + f"/{db}"
    figures: dict[str, Any] = {}
    print("   raw aiokafka: 100k x 200 B, 4 partitions…", flush=True)
    raw_topic = f"{kafka.topic_prefix}raw"
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    adm = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await adm.start()
    await adm.create_topics([NewTopic(raw_topic, 4, 1)])
    await adm.close()
    figures |= await raw_kafka(kafka.bootstrap_servers, raw_topic)
    print("   raw asyncpg…", flush=True)
    figures |= await raw_postgres(db_url)
    figures |= await pipeline(db_url, kafka)
    figures["ratio_pipeline_to_raw_kafka"] = round(
        figures["pipeline_end_to_end_events_per_s"]
        / figures["raw_kafka_produce_consume_msgs_per_s"],
        3,
    )
    figures["ratio_pipeline_to_raw_pg_one_row_tx"] = round(
        figures["pipeline_end_to_end_events_per_s"] / figures["raw_pg_one_row_tx_per_s"], 2
    )
    return figures
