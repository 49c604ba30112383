"""Benchmark: dossiers received per second through the intake API, each with its
outbox event, against a raw asyncpg baseline doing the same writes.

The service runs as its own process under uvicorn (as deployed); concurrent
clerks post counter receipts over keep-alive connections of the lean load
generator, spread over centers as a national deployment would be (each
center-day has its own code sequence, whose row lock serialises that center's
receipts). A second phase sends every receipt to one
center, the worst case for that lock. The relay publishes the outbox to the
broker meanwhile; the run ends when the outbox has drained.

Standalone::

    python -c "import asyncio, os
    from motcua.devtools.backends import servers
    from bench import intake
    with servers(os.environ, durable=True) as s: print(asyncio.run(intake.run(s)))"
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import asyncpg

from bench.http_load import HttpLoad, closed_loop, expect
from bench.http_load import loop_factory as loop_factory  # uvloop, as the service runs
from bench.launch import AUTH_SECRET, CpuMeter, database_name, kafka_of, running, service_env
from motcua.devtools.backends import fresh_database
from motcua.shared.auth import issue_token
from motcua.shared.bus.kafka import ensure_topics

if TYPE_CHECKING:
    from motcua.devtools.backends import Servers

DOSSIERS = 3200
SINGLE_CENTER_DOSSIERS = 640
CLIENTS = 16
CENTERS = 20
RAW_CONNECTIONS = 10


async def _receive_many(
    http: HttpLoad, total: int, centers: list[str]
) -> tuple[float, list[float]]:
    """``total`` receipts (a multiple of ``CLIENTS``) from ``CLIENTS`` concurrent clients;
    (seconds, latencies in ms)."""
    tokens = {
        c: {"Authorization": "Bearer " + issue_token(AUTH_SECRET, center_id=c, subject="bench")}
        for c in centers
    }
    body = json.dumps({"procedure_code": "HT-XNTTHN", "applicant_name": "Nguyễn Văn A"}).encode()

    async def receive(k: int) -> None:
        expect(await http.post("/v1/dossiers", body, tokens[centers[k % len(centers)]]), 201)

    return await closed_loop(total, CLIENTS, receive)


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

    try:
        elapsed, _ = await closed_loop(total, RAW_CONNECTIONS, one)
        async with pool.acquire() as conn:  # leave the outbox as we found it
            await conn.execute("DELETE FROM intake.outbox WHERE topic = 'none'")
        return total / elapsed
    finally:
        await pool.close()


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def run(servers: Servers) -> dict[str, Any]:
    kafka = kafka_of(servers, "bench")
    await ensure_topics(kafka)
    async with (
        fresh_database(servers, prefix="bench_intake") as db_url,
        running("intake", service_env(kafka, db_url, MOTCUA_DB_POOL_MAX="20")) as proc,
        HttpLoad(proc.url, connections=CLIENTS) as http,
    ):
        print(f"intake: warming up at {proc.url}", flush=True)
        await _receive_many(http, CLIENTS * 4, ["warmup"])
        centers = [f"ward-{i:02d}" for i in range(CENTERS)]
        print(f"intake: {DOSSIERS} receipts, {CLIENTS} clients, {CENTERS} centers", flush=True)
        cpu = CpuMeter({"service": proc.pid}, database_name(db_url))
        cpu.start()
        seconds, latencies = await _receive_many(http, DOSSIERS, centers)
        cpu.stop()
        ms = cpu.ms_per(DOSSIERS)
        rate = DOSSIERS / seconds
        print(
            f"intake: {rate:.0f} dossiers/s (p99 {_p(latencies, 99):.1f} ms); CPU ms per "
            f"dossier: service {ms['service']}, client {ms['client']}, "
            f"postgres {ms['postgres']}",
            flush=True,
        )
        drain = await _drained(db_url, CLIENTS * 4 + DOSSIERS)
        print(f"intake: outbox drained {drain:.2f} s after the last receipt", flush=True)

        print(f"intake: {SINGLE_CENTER_DOSSIERS} receipts to a single center", flush=True)
        one_seconds, one_latencies = await _receive_many(http, SINGLE_CENTER_DOSSIERS, ["solo"])
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
        # CPU per receipt: the service process (relay included), the load generator and
        # the database's backends.
        "service_cpu_ms_per_dossier": ms["service"],
        "client_cpu_ms_per_dossier": ms["client"],
        "postgres_cpu_ms_per_dossier": ms["postgres"],
        "load_average_1m": round(os.getloadavg()[0], 2),
        "dossiers": DOSSIERS,
        "clients": CLIENTS,
        "goal_dossiers_per_s": 300,
    }
