"""Benchmark: the deadlines scheduler at national scale.

One database holds 1,000,000 open clocks (loaded with COPY), due over the next 30 days.

1. **Claim**: the time to claim a batch of 500 due clocks (``FOR UPDATE SKIP LOCKED`` on the
   partial index), with "now" far enough ahead that every clock is due; each claim is rolled
   back so the next one works on the same table. Also the full firing transaction (claim,
   flags, apology letters, outbox rows, reschedule), rolled back likewise.
2. **Firing lag** at about 1,000 firings per second: the service runs as its own process
   (``python -m motcua.services.deadlines``, default settings); 15,000 more clocks fall due one per
   millisecond. Lag = flag commit time minus ``due_at`` (database), and arrival on the broker
   minus ``due_at``.
3. **Burst**: 50,000 clocks due at the same instant; seconds from that instant until all are
   flagged, and until all are on the broker.
4. **Memory**: the service process's resident set size, sampled throughout.

Standalone::

    python -c "import asyncio, os; from bench.launch import service_env
from motcua.devtools.backends import servers; \
from bench import deadlines; s = servers(os.environ, durable=True); \
print(asyncio.run(deadlines.run(s.__enter__())))"
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.launch import service_env
from motcua.devtools.backends import fresh_database, fresh_kafka
from motcua.devtools.embedded import free_port
from motcua.devtools.services import ROOT, answers_ready
from motcua.services.deadlines import repository
from motcua.services.deadlines.app import MIGRATIONS
from motcua.services.deadlines.scheduler import fire_due
from motcua.shared import migrations
from motcua.shared.events.topics import DEADLINES
from motcua.shared.settings import KafkaSettings

if TYPE_CHECKING:
    from bench.launch import service_env
from motcua.devtools.backends import Servers

OPEN_CLOCKS = 1_000_000
COPY_CHUNK = 100_000
CLAIM_BATCH = 500
CLAIM_SAMPLES = 1000
FIRE_SAMPLES = 40
LAG_CLOCKS = 15_000  # one per millisecond: 1,000 firings per second for 15 s
BURST_CLOCKS = 50_000
CENTERS = 3_300


def clock_rows(
    n: int, due: Iterator[datetime], prefix: str, centers: int = CENTERS
) -> Iterator[tuple[Any, ...]]:
    """Open clocks with only their overdue flag left to fire, in COPY column order."""
    received = datetime.now(UTC) - timedelta(days=1)
    base = uuid.uuid4().int & ~((1 << 32) - 1)  # distinct ids without a uuid4 per row
    for i in range(n):
        due_at = next(due)
        yield (
            uuid.UUID(int=base + i),
            f"c{i % centers:04d}",
            f"{prefix}-{i:07d}",
            "HT-XNTTHN",
            "B",
            received,
            received,
            3,
            "working_days",
            False,
            due_at,
            received,
            due_at,
            81_000,
            [("overdue", due_at, 0, due_at)],
            due_at,
            3,
            received,
        )


async def _copy(conn: asyncpg.Connection, rows: Iterator[tuple[Any, ...]], total: int) -> float:
    started = time.perf_counter()
    done = 0
    while done < total:
        chunk = [row for _, row in zip(range(COPY_CHUNK), rows, strict=False)]
        if not chunk:
            break
        await repository.copy_clocks(conn, chunk)
        done += len(chunk)
        if total > COPY_CHUNK:
            rate = done / (time.perf_counter() - started)
            print(f"   loaded {done:>9,} clocks ({rate:,.0f}/s)", flush=True)
    return time.perf_counter() - started


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _claim_latency(conn: asyncpg.Connection) -> dict[str, float]:
    """Claim 500 due clocks (and, separately, fire a whole batch), rolled back each time."""
    far = datetime.now(UTC) + timedelta(days=400)
    claims: list[float] = []
    for _ in range(CLAIM_SAMPLES):
        tx = conn.transaction()
        await tx.start()
        started = time.perf_counter()
        claimed = await repository.claim_due(conn, far, CLAIM_BATCH)
        claims.append((time.perf_counter() - started) * 1000)
        await tx.rollback()
        if len(claimed) != CLAIM_BATCH:
            raise RuntimeError(f"claimed {len(claimed)} clocks, expected {CLAIM_BATCH}")
    fires: list[float] = []
    for _ in range(FIRE_SAMPLES):
        tx = conn.transaction()
        await tx.start()
        started = time.perf_counter()
        await fire_due(conn, far, limit=CLAIM_BATCH)
        fires.append((time.perf_counter() - started) * 1000)
        await tx.rollback()
    return {
        "claim_500_p50_ms": round(statistics.median(claims), 2),
        "claim_500_p99_ms": round(_pct(claims, 0.99), 2),
        "fire_batch_500_p50_ms": round(statistics.median(fires), 1),
        "fire_batch_500_p99_ms": round(_pct(fires, 0.99), 1),
    }


@dataclass
class _Service:
    proc: asyncio.subprocess.Process
    rss_samples: list[int] = field(default_factory=list)

    def rss(self) -> int:
        with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    async def sample(self) -> None:
        while self.proc.returncode is None:
            with contextlib.suppress(OSError):
                self.rss_samples.append(self.rss())
            await asyncio.sleep(0.25)


@contextlib.asynccontextmanager
async def _service(db_url: str, kafka: KafkaSettings) -> AsyncIterator[_Service]:
    """``python -m motcua.services.deadlines`` in its own process, default scheduler settings."""
    port = free_port()
    env = service_env(kafka, db_url, MOTCUA_DEADLINES_PORT=str(port))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "motcua.services.deadlines",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    service = _Service(proc)
    sampler = asyncio.create_task(service.sample())
    try:
        deadline = time.monotonic() + 90
        while not await answers_ready(f"http://127.0.0.1:{port}"):
            if proc.returncode is not None:
                raise RuntimeError(f"deadlines exited with {proc.returncode} at start-up")
            if time.monotonic() > deadline:
                raise RuntimeError("deadlines not ready after 90 s")
            await asyncio.sleep(0.2)
        yield service
    finally:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler


class BusWatch:
    """Records when each flag arrives on the broker (wall time), from the current end."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self.kafka = kafka
        self.arrivals: dict[str, tuple[float, datetime]] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        topic = DEADLINES.topic(self.kafka.topic_prefix)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.kafka.bootstrap_servers,
            enable_auto_commit=False,
            fetch_max_wait_ms=50,  # not to add its own wait at the broker to the lag it times
        )
        await consumer.start()
        parts = [TopicPartition(topic, p) for p in range(DEADLINES.partitions)]
        consumer.assign(parts)
        await consumer.seek_to_end(*parts)
        for tp in parts:
            await consumer.position(tp)
        self._consumer = consumer
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            batch = await self._consumer.getmany(timeout_ms=100, max_records=5000)
            now = time.time()
            for records in batch.values():
                for r in records:
                    event = json.loads(r.value or b"{}")
                    due = datetime.fromisoformat(event["data"]["due_at"])
                    self.arrivals[event["data"]["dossier_id"]] = (now, due)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()

    def count(self, ids: set[str]) -> int:
        return sum(1 for i in ids if i in self.arrivals)


async def _wait(probe: Any, until: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not until(await probe()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not reached in {timeout} s")
        await asyncio.sleep(0.05)


async def _until_flagged(
    conn: asyncpg.Connection, where: str, arg: Any, count: int, timeout: float, what: str
) -> None:
    """Wait until ``count`` flags match ``where`` (one parameter, ``arg``)."""

    async def flagged() -> int:
        n: int = await conn.fetchval(f"SELECT count(*) FROM flags WHERE {where}", arg)
        return n

    await _wait(flagged, lambda n: n == count, timeout, what)


async def _until_on_bus(bus: BusWatch, ids: list[uuid.UUID], timeout: float, what: str) -> set[str]:
    """Wait until a flag of each of ``ids`` has reached the bus; the ids as strings."""
    str_ids = {str(i) for i in ids}
    await _wait(
        lambda: asyncio.sleep(0, bus.count(str_ids)), lambda n: n == len(str_ids), timeout, what
    )
    return str_ids


async def _firing_lag(conn: asyncpg.Connection, bus: BusWatch) -> dict[str, float]:
    start = datetime.now(UTC) + timedelta(seconds=3)
    due = (start + timedelta(milliseconds=i) for i in range(LAG_CLOCKS))
    rows = list(clock_rows(LAG_CLOCKS, due, "LAG"))
    ids = [r[0] for r in rows]
    await _copy(conn, iter(rows), LAG_CLOCKS)
    print(f"   {LAG_CLOCKS:,} clocks due from {start:%H:%M:%S.%f}, one per ms", flush=True)

    await _until_flagged(
        conn, "dossier_id = ANY($1::uuid[])", ids, LAG_CLOCKS, 120, "every lag clock flagged"
    )
    str_ids = await _until_on_bus(bus, ids, 60, "every lag flag on the bus")
    db_lag = [
        float(v)
        for v in await conn.fetchval(
            """SELECT array_agg(extract(epoch FROM emitted_at - due_at)) FROM flags
               WHERE dossier_id = ANY($1::uuid[])""",
            ids,
        )
    ]
    bus_lag = [bus.arrivals[i][0] - bus.arrivals[i][1].timestamp() for i in str_ids]
    return {
        "lag_firings_per_s": 1000,
        "overdue_lag_db_p50_ms": round(statistics.median(db_lag) * 1000, 1),
        "overdue_lag_db_p99_ms": round(_pct(db_lag, 0.99) * 1000, 1),
        "overdue_lag_bus_p50_ms": round(statistics.median(bus_lag) * 1000, 1),
        "overdue_lag_bus_p99_ms": round(_pct(bus_lag, 0.99) * 1000, 1),
    }


async def _burst(conn: asyncpg.Connection, bus: BusWatch) -> dict[str, float]:
    instant = datetime.now(UTC) + timedelta(seconds=4)
    rows = list(clock_rows(BURST_CLOCKS, iter(lambda: instant, None), "BURST"))
    ids = [r[0] for r in rows]
    await _copy(conn, iter(rows), BURST_CLOCKS)
    print(f"   {BURST_CLOCKS:,} clocks due at {instant:%H:%M:%S}", flush=True)

    await _until_flagged(
        conn, "kind = 'overdue' AND due_at = $1", instant, BURST_CLOCKS, 180, "the burst flagged"
    )
    flagged_s = time.time() - instant.timestamp()
    str_ids = await _until_on_bus(bus, ids, 180, "the burst on the bus")
    on_bus_s = max(bus.arrivals[i][0] for i in str_ids) - instant.timestamp()
    return {
        "burst_clocks": BURST_CLOCKS,
        "burst_flagged_s": round(flagged_s, 2),
        "burst_on_bus_s": round(on_bus_s, 2),
        "burst_flags_per_s": round(BURST_CLOCKS / max(flagged_s, 1e-9)),
    }


async def run(servers: Servers) -> dict[str, Any]:
    kafka = await fresh_kafka(servers, quick_join=False, prefix="bench")
    figures: dict[str, Any] = {"open_clocks": OPEN_CLOCKS}
    async with fresh_database(servers, prefix="bench_deadlines") as db_url:
        conn = await asyncpg.connect(db_url)
        try:
            await migrations.apply(conn, "deadlines", migrations.plan(MIGRATIONS))
            await conn.execute('SET search_path TO "deadlines", public')
            now = datetime.now(UTC)
            spread = (
                now + timedelta(days=1, seconds=i * 29 * 86_400 / OPEN_CLOCKS)
                for i in range(OPEN_CLOCKS)
            )
            seconds = await _copy(conn, clock_rows(OPEN_CLOCKS, spread, "OPEN"), OPEN_CLOCKS)
            # Steady state, as autovacuum would leave it: statistics, hint bits, visibility.
            await conn.execute("VACUUM ANALYZE clocks")
            figures["load_1m_clocks_s"] = round(seconds, 1)
            figures["load_clocks_per_s"] = round(OPEN_CLOCKS / seconds)

            print("   claiming batches of 500 among 1,000,000 due clocks", flush=True)
            # As the service does once started (see motcua.services.deadlines.app).
            gc.collect()
            gc.freeze()
            figures |= await _claim_latency(conn)

            bus = BusWatch(kafka)
            await bus.start()
            try:
                async with _service(db_url, kafka) as service:
                    print("   service up; firing at ~1,000 per second", flush=True)
                    figures |= await _firing_lag(conn, bus)
                    figures |= await _burst(conn, bus)
                    figures["service_rss_mb"] = round(service.rss() / 2**20, 1)
                    figures["service_rss_peak_mb"] = round(
                        max(service.rss_samples, default=0) / 2**20, 1
                    )
            finally:
                await bus.stop()
        finally:
            await conn.close()
    figures["goals"] = (
        "claim_500_p99 < 20 ms; overdue lag p99 < 1 s at 1,000 firings/s; burst of 50,000 < 60 s"
    )
    return figures
