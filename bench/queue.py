"""Queue benchmark: kiosk tickets per second over HTTP, and call-to-display latency.

1. Baselines in the same run: one-row INSERT transactions through asyncpg (same
   concurrency, no HTTP), and the same server answering ``/healthz`` (HTTP alone).
2. Tickets issued per second through the HTTP API (real uvicorn in its own
   process, outbox on, relay publishing to the broker), from several concurrent
   httpx clients, spread over 40 centers and their five lines (about 100 tickets
   per center: a busy day each). Goal: >= 500/s on 2 cores.
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
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx

from services.queue.directory import DEFAULT_FILE
from shared.auth import issue_token
from shared.bus.kafka import ensure_topics
from shared.embedded import free_port
from shared.settings import KafkaSettings

if TYPE_CHECKING:
    from tests.support.backends import Servers

ROOT = Path(__file__).resolve().parents[1]
# A national deployment issues tickets in many centers at once, each with its own queue.
CENTERS = [f"bench{i:02d}" for i in range(40)]
CENTER = CENTERS[0]  # where the call-to-display latency is measured
SECRET = "bench-secret"
LINES = ["justice", "land", "business", "labour", "other"]
COUNTERS = [f"K{i:02d}" for i in range(1, 21)]
ISSUE_TOTAL = 4000
ISSUE_WORKERS = 32
HTTP_CLIENTS = 4
RAW_TOTAL = 4000
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


async def _database(servers: Servers) -> str:
    name = f"bench_queue_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(servers.postgres_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base, _, rest = servers.postgres_url.rpartition("/")
    query = rest.partition("?")[2]
    return f"{base}/{name}" + (f"?{query}" if query else "")


async def _drop(servers: Servers, url: str) -> None:
    admin = await asyncpg.connect(servers.postgres_url)
    try:
        name = url.rpartition("/")[2].partition("?")[0]
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@contextlib.contextmanager
def _server(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The queue service in its own process, as it runs in production."""
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.queue"],
            cwd=ROOT,
            env=os.environ | env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def _ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=2) as client:
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError(f"queue service exited with {proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError("queue service not ready in 30 s")


async def _raw_baseline(database_url: str) -> dict[str, float]:
    """One-row INSERT transactions through asyncpg, no HTTP, no outbox."""
    pool = await asyncpg.create_pool(database_url, min_size=10, max_size=10)
    try:
        await pool.execute(
            "CREATE TABLE IF NOT EXISTS bench_raw (id uuid PRIMARY KEY, line text, "
            "number text, issued_at timestamptz DEFAULT now())"
        )
        per_worker = RAW_TOTAL // ISSUE_WORKERS

        async def worker() -> None:
            for i in range(per_worker):
                async with pool.acquire() as conn, conn.transaction():
                    await conn.execute(
                        "INSERT INTO bench_raw (id, line, number) VALUES ($1, $2, $3)",
                        uuid.uuid4(),
                        LINES[i % 5],
                        f"A{i:03d}",
                    )

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(ISSUE_WORKERS)))
        elapsed = time.perf_counter() - start
    finally:
        await pool.close()
    return {"raw_insert_rows_per_s": per_worker * ISSUE_WORKERS / elapsed}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux); 0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_cpu_seconds(database: str) -> float:
    """CPU time of the local PostgreSQL backends serving ``database`` (0 if not local)."""
    total = 0.0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if f" {database} ".encode() in (proc / "cmdline").read_bytes():
                total += _cpu_seconds(int(proc.name))
        except OSError:
            continue
    return total


async def _issue(url: str, server_pid: int, database: str) -> dict[str, float]:
    """Concurrent kiosks issuing tickets across the five lines."""
    clients = [
        httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=16))
        for _ in range(HTTP_CLIENTS)
    ]
    latencies: list[float] = []
    per_worker = ISSUE_TOTAL // ISSUE_WORKERS

    async def worker(w: int, count: int) -> None:
        client = clients[w % HTTP_CLIENTS]
        for i in range(count):
            k = w * count + i
            center, line = CENTERS[k % len(CENTERS)], LINES[k // len(CENTERS) % len(LINES)]
            t = time.perf_counter()
            r = await client.post(f"/centers/{center}/tickets", json={"line_code": line})
            latencies.append(time.perf_counter() - t)
            if r.status_code != 201:
                raise RuntimeError(f"issue failed: {r.status_code} {r.text}")

    try:
        await asyncio.gather(*(worker(w, 25) for w in range(8)))  # warm-up
        latencies.clear()
        server_cpu, client_cpu = _cpu_seconds(server_pid), time.process_time()
        pg_cpu = _postgres_cpu_seconds(database)
        start = time.perf_counter()
        await asyncio.gather(*(worker(w, per_worker) for w in range(ISSUE_WORKERS)))
        elapsed = time.perf_counter() - start
        server_cpu = _cpu_seconds(server_pid) - server_cpu
        client_cpu = time.process_time() - client_cpu
        pg_cpu = _postgres_cpu_seconds(database) - pg_cpu
    finally:
        for c in clients:
            await c.aclose()
    issued = per_worker * ISSUE_WORKERS
    return {
        "issue_tickets_per_s": issued / elapsed,
        "issue_p50_ms": statistics.median(latencies) * 1000,
        "issue_p99_ms": _pct(latencies, 99) * 1000,
        # Where the time goes: CPU per ticket in the service process and in the clients.
        "issue_server_cpu_ms_per_ticket": server_cpu / issued * 1000,
        "issue_client_cpu_ms_per_ticket": client_cpu / issued * 1000,
        "issue_postgres_cpu_ms_per_ticket": pg_cpu / issued * 1000,
    }


async def _http_floor(url: str, server_pid: int) -> dict[str, float]:
    """The same server answering /healthz: what HTTP alone costs here, for comparison."""
    total = 1200
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def worker() -> None:
            for _ in range(total // 8):
                (await client.get("/healthz")).raise_for_status()

        cpu = _cpu_seconds(server_pid)
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(8)))
        elapsed = time.perf_counter() - start
    return {
        "healthz_requests_per_s": total / elapsed,
        "healthz_server_cpu_ms_per_request": (_cpu_seconds(server_pid) - cpu) / total * 1000,
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


async def _sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    name, data = "message", ""
    async for line in response.aiter_lines():
        if not line:
            if data:
                yield name, json.loads(data)
            name, data = "message", ""
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data = line[5:].strip()


async def _call_latency(url: str) -> dict[str, float]:
    """Call-next at a steady rate; time from sending it to the SSE client's receipt."""
    token = issue_token(SECRET, center_id=CENTER, subject="bench")
    headers = {"Authorization": f"Bearer {token}"}
    received: dict[tuple[str, str], float] = {}
    snapshot = asyncio.Event()

    async with (
        httpx.AsyncClient(base_url=url, timeout=30, headers=headers) as client,
        httpx.AsyncClient(base_url=url, timeout=None) as watcher,
    ):
        for counter in COUNTERS:
            r = await client.post(f"/centers/{CENTER}/counters/{counter}/open")
            r.raise_for_status()

        async def prefill(n: int) -> None:  # enough waiting tickets for every call
            for i in range(n):
                r = await client.post(
                    f"/centers/{CENTER}/tickets", json={"line_code": LINES[i % len(LINES)]}
                )
                r.raise_for_status()

        await asyncio.gather(*(prefill(int(CALL_RATE * CALL_SECONDS) // 8 + 1) for _ in range(8)))

        async def watch() -> None:
            async with watcher.stream("GET", f"/centers/{CENTER}/display/stream") as stream:
                async for name, data in _sse_events(stream):
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
            if (ticket_id := holding[counter]) is not None:
                done = await client.post(
                    f"/centers/{CENTER}/counters/{counter}/tickets/{ticket_id}/finish"
                )
                done.raise_for_status()
            t = time.perf_counter()
            r = await client.post(f"/centers/{CENTER}/counters/{counter}/call-next")
            r.raise_for_status()
            body = r.json()
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
    # httpcore probes for the optional sniffio package on every request; when it is not
    # installed each probe is a failed import that scans sys.path, which would bill the
    # client's overhead to the server under test. A None entry makes the probe fail at once.
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]
    database_url = await _database(servers)
    kafka = KafkaSettings(
        bootstrap_servers=servers.kafka_bootstrap,
        embedded=servers.kafka_embedded,
        topic_prefix=f"bq{uuid.uuid4().hex[:6]}.",
    )
    await ensure_topics(kafka)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="motcua-bench-queue-") as tmp:
        env = {
            "MOTCUA_QUEUE_PORT": str(port),
            "MOTCUA_QUEUE_CENTERS_FILE": str(_centers_file(Path(tmp))),
            "MOTCUA_QUEUE_SSE_KEEPALIVE_SECONDS": "5",
            "DATABASE_URL": database_url,
            "MOTCUA_DB_POOL_MAX": "20",
            "KAFKA_BOOTSTRAP_SERVERS": servers.kafka_bootstrap,
            "MOTCUA_KAFKA_EMBEDDED": "true" if servers.kafka_embedded else "false",
            "MOTCUA_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
            "MOTCUA_AUTH_SECRET": SECRET,
            "MOTCUA_LOG_FORMAT": "json",
        }
        try:
            print("queue: raw asyncpg INSERT baseline ...", flush=True)
            results |= await _raw_baseline(database_url)
            print(f"queue:   {results['raw_insert_rows_per_s']:.0f} rows/s", flush=True)
            with _server(env, Path(tmp) / "queue.log") as proc:
                await _ready(url, proc)
                results |= await _http_floor(url, proc.pid)
                print(
                    f"queue:   /healthz {results['healthz_requests_per_s']:.0f} req/s", flush=True
                )
                print(f"queue: issuing {ISSUE_TOTAL} tickets over HTTP ...", flush=True)
                database = database_url.rpartition("/")[2].partition("?")[0]
                results |= await _issue(url, proc.pid, database)
                print(f"queue:   {results['issue_tickets_per_s']:.0f} tickets/s", flush=True)
                results["outbox_drain_after_issue_s"] = await _outbox_drained(database_url)
                print(f"queue: call-next at {CALL_RATE:.0f}/s for {CALL_SECONDS:.0f} s ...")
                results |= await _call_latency(url)
                print(
                    f"queue:   call->SSE p50 {results['call_to_sse_p50_ms']:.1f} ms, "
                    f"p99 {results['call_to_sse_p99_ms']:.1f} ms",
                    flush=True,
                )
        finally:
            await _drop(servers, database_url)
    results["issue_vs_raw_ratio"] = (
        results["issue_tickets_per_s"] / results["raw_insert_rows_per_s"]
    )
    results["goal_issue_tickets_per_s"] = 500
    results["goal_call_to_sse_p99_ms"] = 200
    return results


if __name__ == "__main__":
    from tests.support.backends import servers as test_servers

    async def _main() -> None:
        with test_servers(os.environ) as found:
            print(json.dumps(await run(found), indent=2))

    asyncio.run(_main())
