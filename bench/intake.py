"""Benchmark: dossiers received per second through the intake API, each with its
outbox event, against a raw asyncpg baseline doing the same writes.

The service runs as its own process under uvicorn (as deployed); several httpx
clients post counter receipts concurrently, spread over centers as a national
deployment would be (each center-day has its own code sequence, whose row lock
serialises that center's receipts). A second phase sends every receipt to one
center, the worst case for that lock. The relay publishes the outbox to the
broker meanwhile; the run ends when the outbox has drained.

Standalone::

    python -c "import asyncio, os
    from tests.support.backends import servers
    from bench import intake
    with servers(os.environ, durable=True) as s: print(asyncio.run(intake.run(s)))"
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx

from shared.auth import issue_token
from shared.bus.kafka import ensure_topics
from shared.embedded import free_port
from shared.services import ROOT
from shared.settings import KafkaSettings

if TYPE_CHECKING:
    from tests.support.backends import Servers

DOSSIERS = 3200
SINGLE_CENTER_DOSSIERS = 640
CLIENTS = 16
CENTERS = 20
RAW_CONNECTIONS = 10
SECRET = "bench-auth-secret"


def _with_database(url: str, name: str) -> str:
    base, _, rest = url.rpartition("/")
    query = rest.partition("?")[2]
    return f"{base}/{name}" + (f"?{query}" if query else "")


@contextlib.asynccontextmanager
async def _database(admin_url: str) -> AsyncIterator[str]:
    name = f"bench_intake_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield _with_database(admin_url, name)
    finally:
        admin = await asyncpg.connect(admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def _cpu_seconds(pid: int | None = None) -> float | None:
    """User + system CPU time of a process (this one by default), from /proc on Linux."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.asynccontextmanager
async def _service(db_url: str, kafka: KafkaSettings) -> AsyncIterator[tuple[str, int]]:
    """``python -m services.intake`` in its own process; yields (base URL, pid) when ready."""
    port = free_port()
    env = os.environ | {
        "MOTCUA_DB_URL": db_url,
        "MOTCUA_DB_POOL_MAX": "20",
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "MOTCUA_KAFKA_EMBEDDED": "true" if kafka.embedded else "false",
        "MOTCUA_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "MOTCUA_INTAKE_PORT": str(port),
        "MOTCUA_AUTH_SECRET": SECRET,
        "MOTCUA_LOG_FORMAT": "json",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.intake",
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=2) as client:
            deadline = time.monotonic() + 60
            while True:
                if proc.returncode is not None:
                    raise RuntimeError(f"intake exited with {proc.returncode} during start-up")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/readyz")).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("intake not ready after 60 s")
                await asyncio.sleep(0.2)
        yield url, proc.pid
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _receive_many(url: str, total: int, centers: list[str]) -> tuple[float, list[float]]:
    """``total`` receipts (a multiple of ``CLIENTS``) from ``CLIENTS`` concurrent clients;
    (seconds, latencies in ms)."""
    tokens = {
        c: f"Bearer {issue_token(SECRET, center_id=c, subject='bench-clerk')}" for c in centers
    }
    latencies: list[float] = []
    per_client = total // CLIENTS
    body = json.dumps({"procedure_code": "HT-XNTTHN", "applicant_name": "Nguyễn Văn A"}).encode()

    async def client(n: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            for i in range(per_client):
                center = centers[(n * per_client + i) % len(centers)]
                started = time.perf_counter()
                r = await http.post(
                    "/v1/dossiers",
                    content=body,
                    headers={"Authorization": tokens[center], "Content-Type": "application/json"},
                )
                latencies.append((time.perf_counter() - started) * 1000)
                if r.status_code != 201:
                    raise RuntimeError(f"receipt failed: {r.status_code} {r.text[:200]}")

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(CLIENTS)))
    return time.perf_counter() - started, latencies


async def _drained(db_url: str, expected: int) -> float:
    """Seconds until the outbox is empty, checking every receipt left its event."""
    conn = await asyncpg.connect(db_url)
    try:
        started = time.perf_counter()
        while await conn.fetchval("SELECT count(*) FROM intake.outbox"):
            if time.perf_counter() - started > 120:
                raise RuntimeError("the outbox did not drain in 120 s")
            await asyncio.sleep(0.05)
        drained = time.perf_counter() - started
        events = await conn.fetchval(
            "SELECT count(*) FROM intake.dossier_history WHERE event_type = 'dossier.received'"
        )
        dossiers = await conn.fetchval("SELECT count(*) FROM intake.dossiers")
        if not events == dossiers == expected:
            raise RuntimeError(f"{dossiers} dossiers, {events} events; expected {expected}")
        return drained
    finally:
        await conn.close()


async def _raw_baseline(db_url: str, total: int) -> float:
    """The same writes per dossier (sequence, dossier, history, outbox) over plain
    asyncpg connections, one transaction each; dossiers per second."""
    pool = await asyncpg.create_pool(db_url, min_size=RAW_CONNECTIONS, max_size=RAW_CONNECTIONS)
    payload = b'{"event_type": "dossier.received", "data": {}}' + b" " * 700
    now = datetime.now(UTC)

    async def one(i: int) -> None:
        dossier, event = uuid.uuid4(), uuid.uuid4()
        async with pool.acquire() as conn, conn.transaction():
            prefix = f"RAW{i % CENTERS}-20260302"
            seq = await conn.fetchval(
                """INSERT INTO intake.dossier_sequences VALUES ($1, 1) ON CONFLICT (prefix)
                   DO UPDATE SET last_value = intake.dossier_sequences.last_value + 1
                   RETURNING last_value""",
                prefix,
            )
            await conn.execute(
                """INSERT INTO intake.dossiers (id, code, center_id, procedure_code, procedure,
                   line_code, channel, status, time_limit_amount, time_limit_unit,
                   time_limit_rollover, received_at, appointment_at, secret_hash, secret_sealed,
                   applicant_name, received_by, correlation_id, updated_at)
                   VALUES ($1, $2, 'raw', 'HT-XNTTHN', '{}', 'TP', 'counter', 2, 3,
                   'working_days', false, $3, $3, '\\x00', 's', 'Nguyễn Văn A', 'raw', $1, $3)""",
                dossier,
                f"{prefix}-{seq:04d}",
                now,
            )
            await conn.execute(
                """INSERT INTO intake.dossier_history (dossier_id, seq, event_id, event_type,
                   status, occurred_at, actor, via) VALUES ($1, 1, $2, 'dossier.received', 2,
                   $3, 'raw', 'http')""",
                dossier,
                event,
                now,
            )
            await conn.execute(
                """INSERT INTO intake.outbox (event_id, topic, key, event_type, payload)
                   VALUES ($1, 'none', $2, 'dossier.received', $3)""",
                event,
                str(dossier),
                payload,
            )

    async def worker(n: int) -> None:
        for i in range(n, total, RAW_CONNECTIONS):
            await one(i)

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(RAW_CONNECTIONS)))
        elapsed = time.perf_counter() - started
        async with pool.acquire() as conn:  # leave the outbox as we found it
            await conn.execute("DELETE FROM intake.outbox WHERE topic = 'none'")
        return total / elapsed
    finally:
        await pool.close()


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def run(servers: Servers) -> dict[str, Any]:
    kafka = KafkaSettings(
        bootstrap_servers=servers.kafka_bootstrap,
        embedded=servers.kafka_embedded,
        topic_prefix=f"bench{uuid.uuid4().hex[:6]}.",
    )
    await ensure_topics(kafka)
    async with _database(servers.postgres_url) as db_url, _service(db_url, kafka) as (url, pid):
        print(f"intake: warming up at {url}", flush=True)
        await _receive_many(url, CLIENTS * 4, ["warmup"])
        centers = [f"ward-{i:02d}" for i in range(CENTERS)]
        print(f"intake: {DOSSIERS} receipts, {CLIENTS} clients, {CENTERS} centers", flush=True)
        service_cpu, client_cpu = _cpu_seconds(pid), _cpu_seconds()
        seconds, latencies = await _receive_many(url, DOSSIERS, centers)
        service_cpu_ms = _per_dossier_ms(service_cpu, _cpu_seconds(pid))
        client_cpu_ms = _per_dossier_ms(client_cpu, _cpu_seconds())
        rate = DOSSIERS / seconds
        print(f"intake: {rate:.0f} dossiers/s (p99 {_p(latencies, 99):.1f} ms)", flush=True)
        drain = await _drained(db_url, CLIENTS * 4 + DOSSIERS)
        print(f"intake: outbox drained {drain:.2f} s after the last receipt", flush=True)

        print(f"intake: {SINGLE_CENTER_DOSSIERS} receipts to a single center", flush=True)
        one_seconds, one_latencies = await _receive_many(url, SINGLE_CENTER_DOSSIERS, ["solo"])
        one_rate = SINGLE_CENTER_DOSSIERS / one_seconds
        print(f"intake: {one_rate:.0f} dossiers/s at one center", flush=True)
        await _drained(db_url, CLIENTS * 4 + DOSSIERS + SINGLE_CENTER_DOSSIERS)

        print(f"intake: raw asyncpg baseline, {DOSSIERS} dossiers", flush=True)
        raw_rate = await _raw_baseline(db_url, DOSSIERS)
        print(f"intake: raw baseline {raw_rate:.0f} dossiers/s", flush=True)
    return {
        "api_dossiers_per_s": round(rate, 1),
        "api_p50_ms": round(_p(latencies, 50), 2),
        "api_p99_ms": round(_p(latencies, 99), 2),
        "api_single_center_dossiers_per_s": round(one_rate, 1),
        "api_single_center_p99_ms": round(_p(one_latencies, 99), 2),
        "outbox_drain_after_last_receipt_s": round(drain, 2),
        "raw_asyncpg_dossiers_per_s": round(raw_rate, 1),
        "api_vs_raw_ratio": round(rate / raw_rate, 3),
        # CPU per receipt: the service process (relay included) and the httpx clients.
        "service_cpu_ms_per_dossier": service_cpu_ms,
        "client_cpu_ms_per_dossier": client_cpu_ms,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "dossiers": DOSSIERS,
        "clients": CLIENTS,
        "goal_dossiers_per_s": 300,
    }


def _per_dossier_ms(before: float | None, after: float | None) -> float | None:
    if before is None or after is None:
        return None
    return round((after - before) * 1000 / DOSSIERS, 3)
