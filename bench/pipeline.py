"""The bus itself: raw aiokafka and raw asyncpg against our outbox -> relay ->
broker -> inbox-consumer pipeline, on the same broker and database, in one run.

Our pipeline runs the probe service as its own process (as in production), so
the writer, the relay and the consumer do not share one event loop.

A ``NOTIFY`` in a transaction takes a database-wide lock from the commit's start
until its end, so committing notifiers queue one behind another. The raw
figures therefore include eight connections committing one-row inserts with and
without a ``pg_notify``, next to eight connections committing one outbox event
each while the relay runs: what a wake-up costs the writers shows in one run.

Where the time goes: CPU seconds of each process (the probe, which runs the relay
and the consumer; the broker; the run database's PostgreSQL backends; this process,
the writers) while idle, during the burst and during the steady run, and the steady
run's commit-to-effect latency split at the broker by each record's timestamp (which
the relay's producer stamps as it sends): commit -> publish is the relay's share,
publish -> effect the broker's and the consumer's.
"""

from __future__ import annotations

import asyncio
import json
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.launch import CpuMeter, broker_pid, service_env
from motcua.devtools.backends import Servers
from motcua.devtools.embedded import free_port
from motcua.devtools.probe import assigned
from motcua.devtools.services import answers_ready
from motcua.shared.bus import outbox
from motcua.shared.bus.kafka import ensure_topics, takes_idempotence
from motcua.shared.events.topics import DOSSIERS
from motcua.shared.settings import KafkaSettings

ROOT = Path(__file__).resolve().parent.parent
RAW_MESSAGES = 100_000
BURST_EVENTS = 30_000
STEADY_RATE = 1_000  # events/s offered for the latency run
STEADY_SECONDS = 10
WRITERS = 8  # connections committing at once in the concurrent-commit figures
TX_PER_WRITER = 500
LOW_RATES = (20, 200)  # one-event transactions/s for the commit-to-publish latency
LOW_SECONDS = 5
IDLE_SECONDS = 3  # CPU of the idle pipeline, measured before the burst

Tx = Callable[[asyncpg.Connection, int], Awaitable[Any]]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def raw_kafka(bootstrap: str, topic: str, *, idempotent: bool = False) -> dict[str, float]:
    """Plain aiokafka, 100k x 200 B: produced with acks=all (idempotent where ours is, so
    that both pay the same broker-side checks), then consumed by a group."""
    value = b"x" * 200
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, enable_idempotence=idempotent
    )
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


async def commits_per_s(pool: asyncpg.Pool, tx: Tx) -> float:
    """Transactions/s when WRITERS connections each commit ``tx`` TX_PER_WRITER times."""

    async def writer(w: int) -> None:
        async with pool.acquire() as conn:
            for i in range(w * TX_PER_WRITER, (w + 1) * TX_PER_WRITER):
                async with conn.transaction():
                    await tx(conn, i)

    t0 = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    return WRITERS * TX_PER_WRITER / (time.perf_counter() - t0)


async def raw_postgres(url: str) -> dict[str, float]:
    conn = await asyncpg.connect(url)
    await conn.execute("CREATE TABLE IF NOT EXISTS raw_bench (id uuid PRIMARY KEY, body bytea)")
    body = b"x" * 600
    async with asyncpg.create_pool(url, min_size=WRITERS, max_size=WRITERS) as pool:
        plain: list[float] = []
        notified: list[float] = []
        for _ in range(3):  # interleaved, and the median of each: a shared machine drifts
            plain.append(
                await commits_per_s(
                    pool,
                    lambda c, _: c.execute(
                        "INSERT INTO raw_bench VALUES ($1, $2)", uuid.uuid4(), body
                    ),
                )
            )
            notified.append(
                await commits_per_s(
                    pool,
                    lambda c, _: c.execute(
                        "WITH added AS (INSERT INTO raw_bench VALUES ($1, $2) RETURNING 1)"
                        " SELECT pg_notify('raw_bench', '') FROM added",
                        uuid.uuid4(),
                        body,
                    ),
                )
            )
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
        "raw_pg_8_conns_one_row_tx_per_s": round(statistics.median(plain)),
        "raw_pg_8_conns_one_row_notify_tx_per_s": round(statistics.median(notified)),
    }


async def _wait_effects(conn: asyncpg.Connection, n: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await conn.fetchval("SELECT count(*) FROM probe.effects") >= n:
            return time.perf_counter()
        await asyncio.sleep(0.05)
    raise TimeoutError(f"fewer than {n} effects after {timeout}s")


async def tail(kafka: KafkaSettings) -> AIOKafkaConsumer:
    """A started reader of the dossier topic from its end as it is now: it sees only
    what is written after this returns."""
    topic = DOSSIERS.topic(kafka.topic_prefix)
    reader = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, fetch_max_wait_ms=50)
    await reader.start()
    parts = [TopicPartition(topic, p) for p in range(DOSSIERS.partitions)]
    reader.assign(parts)
    await reader.seek_to_end(*parts)
    for tp in parts:
        await reader.position(tp)  # pin the end now, before anything is written
    return reader


async def commit_to_publish(
    pool: asyncpg.Pool, kafka: KafkaSettings, rate: int, keys: list[uuid.UUID]
) -> list[float]:
    """Milliseconds from each one-event transaction's commit to the record's timestamp,
    which the relay's producer stamps when the relay hands it the record."""
    reader = await tail(kafka)
    committed: dict[str, float] = {}
    try:
        async with pool.acquire() as conn:
            t0 = time.perf_counter()
            for i in range(rate * LOW_SECONDS):
                delay = t0 + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                event = assigned(keys[i % len(keys)], i)
                async with conn.transaction():
                    await outbox.add(conn, event)
                committed[str(event.event_id)] = time.time()
        published: dict[str, float] = {}
        deadline = time.monotonic() + 60
        while len(published) < len(committed) and time.monotonic() < deadline:
            for messages in (await reader.getmany(timeout_ms=500)).values():
                for m in messages:
                    event_id = json.loads(m.value)["event_id"]
                    if event_id in committed:
                        published[event_id] = m.timestamp / 1000
    finally:
        await reader.stop()
    return [(published[e] - t) * 1000 for e, t in committed.items() if e in published]


def cpu_figures(phase: str, spent: dict[str, float], events: int) -> dict[str, float]:
    """CPU seconds each process spent in a phase, and per thousand events."""
    out: dict[str, float] = {}
    for label, seconds in spent.items():
        out[f"pipeline_{phase}_cpu_s_{label}"] = round(seconds, 2)
        out[f"pipeline_{phase}_cpu_ms_per_1000_events_{label}"] = round(seconds * 1e6 / events, 1)
    return out


async def consumer_batches(port: int) -> tuple[float, int]:
    """Wall seconds the probe's consumer spent in its batch transactions so far, and how
    many batches it applied (its Prometheus histogram)."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    total = {"sum": 0.0, "count": 0.0}
    for line in text.splitlines():
        for part in total:
            if line.startswith(f"motcua_handler_seconds_{part}"):
                total[part] += float(line.rsplit(" ", 1)[1])
    return total["sum"], int(total["count"])


class Stamps:
    """Each record's broker timestamp (set by the relay's producer as it sends), by
    event id, read off the topic while the steady run goes on."""

    def __init__(self, reader: AIOKafkaConsumer) -> None:
        self.reader = reader
        self.seen: dict[str, float] = {}
        self.task = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, kafka: KafkaSettings) -> Stamps:
        return cls(await tail(kafka))

    async def _read(self) -> None:
        while True:
            for messages in (await self.reader.getmany(timeout_ms=200)).values():
                for m in messages:
                    self.seen[json.loads(m.value)["event_id"]] = m.timestamp / 1000

    async def close(self, expected: int, timeout: float = 30) -> dict[str, float]:
        deadline = time.monotonic() + timeout
        while len(self.seen) < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.reader.stop()
        return self.seen


async def pipeline(db_url: str, kafka: KafkaSettings) -> dict[str, Any]:
    port = free_port()
    env = service_env(kafka, db_url, PROBE_PORT=str(port))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "motcua.devtools.probe",
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(600):
            if await answers_ready(f"http://127.0.0.1:{port}"):
                break
            await asyncio.sleep(0.1)
        pool = await asyncpg.create_pool(
            db_url, min_size=4, max_size=4, server_settings={"search_path": "probe"}
        )
        reader = await asyncpg.connect(db_url)
        keys = [uuid.uuid4() for _ in range(200)]
        # CPU of the probe process (relay and consumer), the broker, the run database's
        # PostgreSQL backends and this process (the writers).
        broker = broker_pid(kafka)
        meter = CpuMeter(
            {"probe": proc.pid} | ({"broker": broker} if broker else {}),
            database=db_url.rsplit("/", 1)[1],
        )

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
        # What the processes burn with nothing to do (the broker's own timers, the relay's
        # and consumer's polls): the baseline under the figures below.
        meter.start()
        await asyncio.sleep(IDLE_SECONDS)
        idle = {
            f"pipeline_idle_cpu_ms_per_s_{label}": round(seconds * 1000 / IDLE_SECONDS, 1)
            for label, seconds in meter.stop().items()
        }
        before = await consumer_batches(port)
        meter.start()
        t0 = time.perf_counter()
        quarter = BURST_EVENTS // 4
        await asyncio.gather(*(writer(w * quarter, quarter, 50) for w in range(4)))
        written = time.perf_counter()
        done = await _wait_effects(reader, BURST_EVENTS, 300)
        burst_rate = BURST_EVENTS / (done - t0)
        burst_cpu = cpu_figures("burst", meter.stop(), BURST_EVENTS)
        after = await consumer_batches(port)
        handler_s, batches = after[0] - before[0], after[1] - before[1]

        print(
            f"   steady: {STEADY_RATE}/s for {STEADY_SECONDS}s, commit-to-effect latency",
            flush=True,
        )
        await reader.execute("TRUNCATE probe.effects")
        stamps = await Stamps.open(kafka)
        meter.start()
        per_tick = STEADY_RATE // 20
        base = 10_000_000
        t1 = time.perf_counter()
        for tick in range(STEADY_SECONDS * 20):
            await writer(base + tick * per_tick, per_tick, per_tick)
            delay = t1 + (tick + 1) / 20 - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        await _wait_effects(reader, STEADY_SECONDS * STEADY_RATE, 120)
        steady_cpu = cpu_figures("steady", meter.stop(), STEADY_SECONDS * STEADY_RATE)
        lat = await reader.fetch(
            "SELECT event_id::text AS id, extract(epoch FROM occurred_at) AS committed,"
            " extract(epoch FROM applied_at) AS applied FROM probe.effects"
        )
        ms = [(float(r["applied"]) - float(r["committed"])) * 1000 for r in lat]
        published = await stamps.close(len(lat))
        to_broker = [
            (published[r["id"]] - float(r["committed"])) * 1000 for r in lat if r["id"] in published
        ]
        to_effect = [
            (float(r["applied"]) - published[r["id"]]) * 1000 for r in lat if r["id"] in published
        ]
        dup = await reader.fetchval("SELECT count(*) FROM probe.effects WHERE n > 1")
        await reader.close()
        await pool.close()

        print(f"   {WRITERS} connections committing one outbox event each", flush=True)
        async with asyncpg.create_pool(
            db_url, min_size=WRITERS, max_size=WRITERS, server_settings={"search_path": "probe"}
        ) as wide:
            one_event_tx = await commits_per_s(
                wide, lambda c, i: outbox.add(c, assigned(keys[i % 200], i))
            )
            low: dict[str, float] = {}
            for rate in LOW_RATES:
                print(f"   commit-to-publish at {rate} one-event tx/s", flush=True)
                while await wide.fetchval("SELECT count(*) FROM probe.outbox"):
                    await asyncio.sleep(0.1)
                await asyncio.sleep(0.5)  # the relay has caught up: let it go idle
                lag = await commit_to_publish(wide, kafka, rate, keys)
                low[f"pipeline_commit_to_publish_{rate}_tx_per_s_p50_ms"] = round(pct(lag, 0.5), 1)
                low[f"pipeline_commit_to_publish_{rate}_tx_per_s_p99_ms"] = round(pct(lag, 0.99), 1)
                low[f"pipeline_commit_to_publish_{rate}_tx_per_s_missing"] = (
                    rate * LOW_SECONDS - len(lag)
                )
        return {
            "pipeline_burst_events": BURST_EVENTS,
            "pipeline_write_events_per_s": round(BURST_EVENTS / (written - t0)),
            "pipeline_end_to_end_events_per_s": round(burst_rate),
            "pipeline_steady_offered_events_per_s": STEADY_RATE,
            "pipeline_commit_to_effect_p50_ms": round(pct(ms, 0.50), 1),
            "pipeline_commit_to_effect_p99_ms": round(pct(ms, 0.99), 1),
            # Where that latency goes: the relay's part ends at the record's timestamp,
            # which the relay's producer stamps; the broker and consumer have the rest.
            "pipeline_steady_commit_to_publish_p50_ms": round(pct(to_broker, 0.50), 1),
            "pipeline_steady_commit_to_publish_p99_ms": round(pct(to_broker, 0.99), 1),
            "pipeline_steady_publish_to_effect_p50_ms": round(pct(to_effect, 0.50), 1),
            "pipeline_steady_publish_to_effect_p99_ms": round(pct(to_effect, 0.99), 1),
            "pipeline_burst_consumer_transaction_s": round(handler_s, 2),
            "pipeline_burst_consumer_batches": batches,
            **idle,
            **burst_cpu,
            **steady_cpu,
            "pipeline_duplicate_effects": dup,
            "pipeline_8_conns_one_event_tx_per_s": round(one_event_tx),
            **low,
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)


async def run(servers: Servers) -> dict[str, Any]:
    kafka = KafkaSettings(
        bootstrap_servers=servers.kafka_bootstrap,
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
    idempotent = await takes_idempotence(kafka)
    figures["idempotent_producer"] = idempotent
    # The broker's CPU for raw aiokafka's messages: what the pipeline's broker share is
    # set against (same broker, same run).
    broker = broker_pid(kafka)
    meter = CpuMeter({"broker": broker} if broker else {})
    meter.start()
    figures |= await raw_kafka(kafka.bootstrap_servers, raw_topic, idempotent=idempotent)
    if broker:
        figures["raw_kafka_broker_cpu_ms_per_1000_msgs"] = round(
            meter.stop()["broker"] * 1e6 / RAW_MESSAGES, 1
        )
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
    figures["ratio_8_conns_outbox_to_raw_tx"] = round(
        figures["pipeline_8_conns_one_event_tx_per_s"] / figures["raw_pg_8_conns_one_row_tx_per_s"],
        2,
    )
    return figures
