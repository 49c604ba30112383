"""Queue benchmark: kiosk tickets per second over HTTP, and call-to-display latency.

1. Baselines in the same run: one-row INSERT transactions through asyncpg (same
   concurrency, no HTTP), and the same server answering ``/healthz`` (HTTP alone).
2. Tickets issued per second through the HTTP API (real uvicorn in its own
   process, outbox on, relay publishing to the broker), from concurrent kiosks on
   keep-alive connections of the lean load generator, spread over 40 centers and
   their five lines (about 100 tickets per center: a busy day each). Goal: >= 500/s
   on 2 cores. The CPU time per ticket of the service, of the load generator and
   of PostgreSQL says where it goes.
3. Latency from sending call-next to an SSE client receiving the ``ticket.called``
   change, at ~50 calls/s spread over the counters (each counter finishes its
   ticket before calling the next). Goal: p99 < 200 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg

from bench.http_load import HttpLoad, closed_loop, expect
from bench.http_load import loop_factory as loop_factory  # uvloop, as the service runs
from bench.launch import AUTH_SECRET, CpuMeter, database_name, kafka_of, running, service_env
from motcua.devtools.backends import fresh_database
from motcua.services.queue.directory import DEFAULT_FILE
from motcua.shared.auth import issue_token
from motcua.shared.bus.kafka import ensure_topics
from motcua.shared.reference.lines import service_lines

if TYPE_CHECKING:
    from motcua.devtools.backends import Servers

# A national deployment issues tickets in many centers at once, each with its own queue.
CENTERS = [f"bench{i:02d}" for i in range(40)]
CENTER = CENTERS[0]  # where the call-to-display latency is measured
LINES = list(service_lines().codes())
COUNTERS = [f"K{i:02d}" for i in range(1, 21)]
ISSUE_TOTAL = 4000
ISSUE_WORKERS = 32
RAW_TOTAL = 4000
HEALTHZ_TOTAL = 2000
CALL_RATE = 50.0
CALL_SECONDS = 15.0


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def _centers_file(directory: Path) -> Path:
    """Copies of the sample center whose counters all serve every line."""
    sample = json.loads(DEFAULT_FILE.read_text(encoding="utf-8"))["centers"][0]
    counters = [{"counter_id": c, "name": c, "line_codes": LINES} for c in COUNTERS]
    path = directory / "centers.json"
    centers = [sample | {"center_id": cid, "counters": counters} for cid in CENTERS]
    path.write_text(json.dumps({"centers": centers}), encoding="utf-8")
    return path


async def _raw_baseline(database_url: str) -> dict[str, float]:
    """One-row INSERT transactions through asyncpg, no HTTP, no outbox."""
    pool = await asyncpg.create_pool(database_url, min_size=10, max_size=10)
    try:
        await pool.execute(
            "CREATE TABLE IF NOT EXISTS bench_raw (id uuid PRIMARY KEY, line text, "
            "number text, issued_at timestamptz DEFAULT now())"
        )

        async def insert(k: int) -> None:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    "INSERT INTO bench_raw (id, line, number) VALUES ($1, $2, $3)",
                    uuid.uuid4(),
                    LINES[k % 5],
                    f"A{k:03d}",
                )

        elapsed, _ = await closed_loop(RAW_TOTAL, ISSUE_WORKERS, insert)
    finally:
        await pool.close()
    return {"raw_insert_rows_per_s": RAW_TOTAL / elapsed}


async def _issue(http: HttpLoad, server_pid: int, database: str) -> dict[str, float]:
    """Concurrent kiosks issuing tickets across the centers and their five lines."""
    bodies = [json.dumps({"line_code": line}).encode() for line in LINES]

    async def issue(k: int) -> None:
        center, line = k % len(CENTERS), k // len(CENTERS) % len(LINES)
        expect(await http.post(f"/centers/{CENTERS[center]}/tickets", bodies[line]), 201)

    await closed_loop(8 * 25, 8, issue)  # warm-up
    cpu = CpuMeter({"server": server_pid}, database)
    cpu.start()
    elapsed, latencies = await closed_loop(ISSUE_TOTAL, ISSUE_WORKERS, issue)
    cpu.stop()
    ms = cpu.ms_per(ISSUE_TOTAL)
    return {
        "issue_tickets_per_s": ISSUE_TOTAL / elapsed,
        "issue_p50_ms": statistics.median(latencies),
        "issue_p99_ms": _pct(latencies, 99),
        # Where the time goes: CPU per ticket in the service, the load generator and
        # the database's backends.
        "issue_server_cpu_ms_per_ticket": ms["server"],
        "issue_client_cpu_ms_per_ticket": ms["client"],
        "issue_postgres_cpu_ms_per_ticket": ms["postgres"],
    }


async def _http_floor(http: HttpLoad, server_pid: int) -> dict[str, float]:
    """The same server answering /healthz: what HTTP alone costs here, for comparison."""

    async def healthz(_: int) -> None:
        expect(await http.get("/healthz"), 200)

    cpu = CpuMeter({"server": server_pid})
    cpu.start()
    elapsed, _ = await closed_loop(HEALTHZ_TOTAL, 8, healthz)
    cpu.stop()
    ms = cpu.ms_per(HEALTHZ_TOTAL)
    return {
        "healthz_requests_per_s": HEALTHZ_TOTAL / elapsed,
        "healthz_server_cpu_ms_per_request": ms["server"],
        "healthz_client_cpu_ms_per_request": ms["client"],
    }


async def _outbox_drained(database_url: str) -> float:
    conn = await asyncpg.connect(database_url)
    start = time.perf_counter()
    try:
        while await conn.fetchval("SELECT count(*) FROM queue.outbox"):
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    return time.perf_counter() - start


async def _call_latency(url: str) -> dict[str, float]:
    """Call-next at a steady rate; time from sending it to the SSE client's receipt."""
    token = issue_token(AUTH_SECRET, center_id=CENTER, subject="bench")
    headers = {"Authorization": f"Bearer {token}"}
    received: dict[tuple[str, str], float] = {}
    snapshot = asyncio.Event()
    board = f"/centers/{CENTER}"

    async with (
        HttpLoad(url, connections=len(COUNTERS), timeout=30, headers=headers) as client,
        HttpLoad(url, connections=1, timeout=None) as watcher,
    ):
        for counter in COUNTERS:
            expect(await client.post(f"{board}/counters/{counter}/open"), 200)

        async def prefill(k: int) -> None:  # enough waiting tickets for every call
            line = {"line_code": LINES[k % len(LINES)]}
            expect(await client.post(f"{board}/tickets", line), 201)

        await closed_loop(int(CALL_RATE * CALL_SECONDS) // 8 * 8 + 8, 8, prefill)

        async def watch() -> None:
            async for name, data in watcher.events(f"{board}/display/stream"):
                if name == "snapshot":
                    snapshot.set()
                elif name == "ticket.called":
                    received[(data["counter_id"], data["number"])] = time.perf_counter()

        watching = asyncio.create_task(watch())
        await asyncio.wait_for(snapshot.wait(), 30)
        sent: list[tuple[str, str, float]] = []
        holding: dict[str, str | None] = dict.fromkeys(COUNTERS)
        busy: dict[str, asyncio.Task[None]] = {}

        async def turn(counter: str) -> None:
            at = f"{board}/counters/{counter}"
            if (ticket_id := holding[counter]) is not None:
                expect(await client.post(f"{at}/tickets/{ticket_id}/finish"), 200)
            t = time.perf_counter()
            body = expect(await client.post(f"{at}/call-next"), 200).json()
            holding[counter] = body["ticket_id"]
            sent.append((counter, body["number"], t))

        total = int(CALL_RATE * CALL_SECONDS)
        start = time.perf_counter()
        for i in range(total):
            await asyncio.sleep(max(0.0, start + i / CALL_RATE - time.perf_counter()))
            counter = COUNTERS[i % len(COUNTERS)]
            if counter in busy:
                await busy[counter]  # a counter calls again only after its last call
            busy[counter] = asyncio.create_task(turn(counter))
        await asyncio.gather(*busy.values())
        elapsed = time.perf_counter() - start
        deadline = time.perf_counter() + 10
        while len(received) < len(sent) and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching

    latencies = [received[(c, n)] - t for c, n, t in sent if (c, n) in received]
    return {
        "call_rate_per_s": len(sent) / elapsed,
        "calls": float(len(sent)),
        "sse_missing": float(len(sent) - len(latencies)),
        "call_to_sse_p50_ms": statistics.median(latencies) * 1000,
        "call_to_sse_p99_ms": _pct(latencies, 99) * 1000,
        "call_to_sse_max_ms": max(latencies) * 1000,
    }


async def run(servers: Servers) -> dict[str, Any]:
    kafka = kafka_of(servers, "bq")
    await ensure_topics(kafka)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="motcua-bench-queue-") as tmp:
        async with fresh_database(servers, prefix="bench_queue") as database_url:
            env = service_env(
                kafka,
                database_url,
                MOTCUA_QUEUE_CENTERS_FILE=str(_centers_file(Path(tmp))),
                MOTCUA_QUEUE_SSE_KEEPALIVE_SECONDS="5",
                MOTCUA_DB_POOL_MAX="20",
            )
            print("queue: raw asyncpg INSERT baseline ...", flush=True)
            results |= await _raw_baseline(database_url)
            print(f"queue:   {results['raw_insert_rows_per_s']:.0f} rows/s", flush=True)
            async with (
                running("queue", env, Path(tmp)) as proc,
                HttpLoad(proc.url, connections=ISSUE_WORKERS) as http,
            ):
                results |= await _http_floor(http, proc.pid)
                print(
                    f"queue:   /healthz {results['healthz_requests_per_s']:.0f} req/s", flush=True
                )
                print(f"queue: issuing {ISSUE_TOTAL} tickets over HTTP ...", flush=True)
                results |= await _issue(http, proc.pid, database_name(database_url))
                print(
                    f"queue:   {results['issue_tickets_per_s']:.0f} tickets/s; CPU ms per "
                    f"ticket: server {results['issue_server_cpu_ms_per_ticket']}, client "
                    f"{results['issue_client_cpu_ms_per_ticket']}, postgres "
                    f"{results['issue_postgres_cpu_ms_per_ticket']}",
                    flush=True,
                )
                results["outbox_drain_after_issue_s"] = await _outbox_drained(database_url)
                print(f"queue: call-next at {CALL_RATE:.0f}/s for {CALL_SECONDS:.0f} s ...")
                results |= await _call_latency(proc.url)
                print(
                    f"queue:   call->SSE p50 {results['call_to_sse_p50_ms']:.1f} ms, "
                    f"p99 {results['call_to_sse_p99_ms']:.1f} ms",
                    flush=True,
                )
    results["issue_vs_raw_ratio"] = (
        results["issue_tickets_per_s"] / results["raw_insert_rows_per_s"]
    )
    results["load_average_1m"] = round(os.getloadavg()[0], 2)
    results["goal_issue_tickets_per_s"] = 500
    results["goal_call_to_sse_p99_ms"] = 200
    return results


if __name__ == "__main__":
    from motcua.devtools.backends import servers as test_servers

    async def _main() -> None:
        with test_servers(os.environ) as found:
            print(json.dumps(await run(found), indent=2))

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(_main())
