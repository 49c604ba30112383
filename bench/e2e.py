"""End to end: the four services as separate processes, at fixed offered loads.

Stages, each timed from the moment a request was due (open loop: a saturated
entry point shows up as latency, not as a slower offer):

- ``ticket_to_display``: POST a ticket at the kiosk API until the display
  board's SSE stream announces it (``ticket.issued`` with its number).
- ``dossier_to_deadline_set``: POST a dossier with a consented phone at the
  clerk API until its ``deadline.set`` is on the deadline topic.
- ``dossier_to_sms``: the same dossier until its SMS reaches the gateway (an
  HTTP sink in this process, deduping on ``Idempotency-Key``).

Loads go up a ladder, the same for both entry points; an entry point that no
longer keeps up is not offered the higher loads (its backlog would only grow).
Besides: raw aiokafka and asyncpg baselines from ``bench.pipeline`` on the same
servers; RSS of every service at idle and under the highest load; scale-out,
the run's ``dossier.received`` events (topped up to a burst) replayed to one
and then two deadlines instances of one consumer group. The latency plot goes
to ``bench/results/e2e_latency.svg``.

Knobs: ``MOTCUA_BENCH_E2E_LOADS`` (``25,50,100,200,400``),
``MOTCUA_BENCH_E2E_STEP_SECONDS`` (30), ``MOTCUA_BENCH_E2E_CENTERS`` (20),
``MOTCUA_BENCH_E2E_SCALE_EVENTS`` (10000).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.pipeline import pct, raw_kafka, raw_postgres
from bench.plot import Series, line_chart
from shared.auth import issue_token
from shared.bus.kafka import ensure_topics
from shared.devstack import migrate_all
from shared.embedded import free_port
from shared.events.topics import DEADLINES, DOSSIERS
from shared.settings import KafkaSettings, ServiceSettings
from tests.integration.notify.sinks import HttpSink
from tests.support.backends import Servers
from tests.support.kafka import read_all

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results"
LINES = ("justice", "land", "business", "labour", "other")
# Requests spread over this many centers, as a national deployment's are: one center's
# tickets of a line, and its dossiers, take numbers from one sequence, one at a time.
CENTERS = tuple(
    f"ward-{i:02d}" for i in range(1, int(os.environ.get("MOTCUA_BENCH_E2E_CENTERS", "20")) + 1)
)
# Per stage, per second. The HTTP entry points of this 2-core machine top out at a few
# hundred requests a second, so the ladder brackets that instead of issue 9's 100-2,000.
LOADS = tuple(
    int(x) for x in os.environ.get("MOTCUA_BENCH_E2E_LOADS", "25,50,100,200,400").split(",")
)
# 30 s keeps the whole benchmark under ~8 minutes; 60 s doubles the load phase.
STEP_SECONDS = float(os.environ.get("MOTCUA_BENCH_E2E_STEP_SECONDS", "30"))
DRAIN_SECONDS = 120.0
HTTP_CONNECTIONS = 64
HTTP_TIMEOUT = 120.0
BACKLOG_SECONDS = 10.0  # of work waiting unanswered ends a step's offer early
KEEPALIVE_SECONDS = 4.0  # below uvicorn's 5 s idle timeout
SMS_RATE = 5000.0  # the gateway's own limit is not what is measured here
SCALE_EVENTS = int(os.environ.get("MOTCUA_BENCH_E2E_SCALE_EVENTS", "10000"))
STAGES = ("ticket_to_display", "dossier_to_deadline_set", "dossier_to_sms")
CLK_TCK = os.sysconf("SC_CLK_TCK")
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def say(line: str) -> None:
    print(f"   {line}", flush=True)


# ------------------------------------------------------------------ processes


@dataclass
class Proc:
    name: str
    port: int
    process: asyncio.subprocess.Process
    log: Path
    tag: str = ""  # tells instances of one service apart in the figures

    @property
    def label(self) -> str:
        return self.tag or self.name

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
        return 0.0

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)


def cpu_seconds(pid: int | str) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


async def start(name: str, env: dict[str, str], logs: Path) -> Proc:
    port = free_port()
    log = logs / f"{name}-{port}.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", f"services.{name}",
            cwd=ROOT, env=env | {f"MOTCUA_{name.upper()}_PORT": str(port)},
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return Proc(name, port, process, log)


async def ready(procs: Iterable[Proc], timeout: float = 90) -> None:
    pending = list(procs)
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        while pending:
            for p in list(pending):
                if p.process.returncode is not None:
                    tail = p.log.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"{p.name} exited ({p.process.returncode}):\n{tail}")
                try:
                    if (await client.get(f"{p.url}/readyz")).status_code == 200:
                        pending.remove(p)
                except httpx.HTTPError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {timeout}s: {[p.name for p in pending]}")
            await asyncio.sleep(0.2)


async def stop(procs: Iterable[Proc]) -> None:
    procs = [p for p in procs if p.process.returncode is None]
    for p in procs:
        p.process.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            await asyncio.wait_for(p.process.wait(), 30)
        except TimeoutError:
            p.process.kill()
            await p.process.wait()


async def consumed(
    client: httpx.AsyncClient, proc: Proc, event_type: str, outcome: str | None = None
) -> int:
    """Events of a type a process's consumer took in (Prometheus), of one outcome or all."""
    name = "motcua_events_consumed_total{"
    labels = [f'event_type="{event_type}"'] + ([f'outcome="{outcome}"'] if outcome else [])
    text = (await client.get(f"{proc.url}/metrics")).text
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in text.splitlines()
        if line.startswith(name) and all(label in line for label in labels)
    )


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process, its reaped children and its live children (PostgreSQL's
    postmaster with its backends)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    total = sum(int(f) for f in fields[11:15]) / CLK_TCK  # utime stime cutime cstime
    for child in Path("/proc").iterdir():
        try:
            stat = (child / "stat").read_text()
        except (OSError, ValueError):
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[1] == str(pid):
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


def cpu_stall_seconds() -> float:
    """Time some runnable task waited for a CPU (Linux PSI), 0 where not available."""
    try:
        some = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return 0.0
    return int(some.rsplit("total=", 1)[1]) / 1e6


async def postmaster_pid(db: asyncpg.Connection) -> int | None:
    """The PostgreSQL server's pid when it runs on this machine (embedded or local)."""
    try:
        return _running_pid(Path(await db.fetchval("SHOW data_directory")) / "postmaster.pid")
    except asyncpg.PostgresError:
        return None


def _running_pid(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text().split()[0])
        return pid if Path(f"/proc/{pid}/stat").exists() else None
    except (OSError, ValueError, IndexError):
        return None


WAITS = """
    SELECT wait_event_type, wait_event FROM pg_stat_activity
    WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()
"""


@dataclass
class Sampler:
    """While a step runs: peak RSS and CPU share of each process and of PostgreSQL, what
    PostgreSQL's busy sessions wait on, and how long runnable work waited for a CPU."""

    procs: list[Proc]
    db: asyncpg.Connection
    postmaster: int | None
    peak_mib: dict[str, float] = field(default_factory=dict)
    cpu0: dict[str, float] = field(default_factory=dict)
    waits: Counter[str] = field(default_factory=Counter)
    samples: int = 0
    t0: float = 0.0

    def _cpu(self) -> dict[str, float]:
        now = {p.label: p.cpu_seconds() for p in self.procs} | {"bench": cpu_seconds("self")}
        if self.postmaster is not None:
            now["postgres"] = tree_cpu_seconds(self.postmaster)
        return now | {"stalled": cpu_stall_seconds()}

    def begin(self) -> None:
        self.peak_mib = {p.label: p.rss_mib() for p in self.procs}
        self.cpu0 = self._cpu()
        self.waits.clear()
        self.samples = 0
        self.t0 = time.perf_counter()

    def report(self) -> dict[str, Any]:
        wall = time.perf_counter() - self.t0
        now = self._cpu()
        share = {k: round(100 * (now[k] - self.cpu0[k]) / wall) for k in now}
        seen = sum(self.waits.values())
        return {
            "cpu_pct": {k: v for k, v in share.items() if k != "stalled"},
            "cpu_stalled_pct": share["stalled"],
            "pg_active_sessions_avg": round(seen / max(self.samples, 1), 1),
            "pg_waits_pct": {
                k: round(100 * n / seen) for k, n in self.waits.most_common(4) if seen
            },
        }

    async def run(self) -> None:
        while True:
            for p in self.procs:
                self.peak_mib[p.label] = max(self.peak_mib[p.label], p.rss_mib())
            for r in await self.db.fetch(WAITS):
                self.waits[f"{r[0]}:{r[1]}" if r[0] else "on CPU"] += 1
            self.samples += 1
            await asyncio.sleep(0.25)


# ------------------------------------------------------------------ observers


def local_day(at: str) -> str:
    """Ticket numbers start again each local day."""
    return datetime.fromisoformat(at).astimezone(TZ).date().isoformat()


@dataclass
class Display:
    """Reads every center's display board stream; notes when each ticket number shows."""

    queue_url: str
    seen: dict[tuple[str, str, str, str], list[float]] = field(
        default_factory=lambda: defaultdict(list)
    )
    resyncs: int = 0

    async def run(self) -> None:
        limits = httpx.Limits(max_connections=len(CENTERS))
        async with httpx.AsyncClient(timeout=httpx.Timeout(None, connect=5), limits=limits) as c:
            await asyncio.gather(*(self._board(c, center) for center in CENTERS))

    async def _board(self, client: httpx.AsyncClient, center: str) -> None:
        url = f"{self.queue_url}/centers/{center}/display/stream"
        while True:  # the server ends a stream after its max age; reconnect
            async with client.stream("GET", url) as r:
                event, first = "", True
                async for line in r.aiter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        if event == "ticket.issued":
                            d = json.loads(line[5:])
                            key = (center, d["line_code"], d["number"], local_day(d["at"]))
                            self.seen[key].append(time.time())
                        elif event == "snapshot":
                            # After the first, a resync: the stream skipped changes.
                            self.resyncs += 0 if first else 1
                            first = False


@dataclass
class DeadlineTopic:
    """Reads the deadline topic from its start; notes each dossier's ``deadline.set``."""

    bootstrap: str
    topic: str
    seen: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            self.topic, bootstrap_servers=self.bootstrap, group_id=None,
            auto_offset_reset="earliest", enable_auto_commit=False,
        )  # fmt: skip
        await consumer.start()
        try:
            while True:
                batch = await consumer.getmany(timeout_ms=200, max_records=2000)
                now = time.time()
                for records in batch.values():
                    for r in records:
                        event = json.loads(r.value or b"{}")
                        if event.get("event_type") == "deadline.set":
                            self.seen[event["data"]["dossier_id"]].append(now)
        finally:
            await consumer.stop()


def last_digits(address: str) -> str:
    return re.sub(r"\D", "", address)[-9:]


@dataclass
class Sms:
    """Index of what the gateway sink received, by recipient."""

    sink: HttpSink
    seen: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    keys: dict[str, set[str | None]] = field(default_factory=lambda: defaultdict(set))
    _done: int = 0

    def refresh(self) -> None:
        new = self.sink.accepted[self._done :]
        self._done += len(new)
        for m in new:
            self.seen[last_digits(m.to)].append(m.received_at)
            self.keys[last_digits(m.to)].add(m.key)


# ------------------------------------------------------------------ offering


@dataclass(frozen=True)
class Sent:
    key: Any  # what the observers match on
    due: float  # wall time the request was due
    answered: float  # wall time the 2xx came back


@dataclass
class Offer:
    sent: list[Sent] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    offered: int = 0
    cut_short: bool = False


class Poster:
    """POSTs JSON over at most ``size`` keep-alive HTTP/1.1 connections to one server.

    Hand-written because the load generator shares the machine's cores with what it
    measures, and a general client spends several times the CPU per request. A request
    whose connection drops is sent again on a fresh one: every request carries an
    ``Idempotency-Key``, so a repeat cannot make a second ticket or dossier.
    """

    def __init__(self, port: int, size: int = HTTP_CONNECTIONS) -> None:
        self.port = port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.slots = asyncio.Semaphore(size)  # waiting requests queue here, in order
        self.resent = 0

    async def post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        data = json.dumps(body).encode()
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n{head}\r\n"
        ).encode() + data
        async with self.slots:
            for attempt in range(3):
                conn = await self._connection(fresh=attempt > 0)
                try:
                    status, answer, keep = await asyncio.wait_for(
                        self._exchange(conn, request), HTTP_TIMEOUT
                    )
                except TimeoutError:
                    conn[1].close()
                    raise
                except (OSError, asyncio.IncompleteReadError):
                    conn[1].close()
                    if attempt == 2:
                        raise
                    self.resent += 1
                    continue
                if keep:
                    self.idle.append((*conn, time.monotonic()))
                else:
                    conn[1].close()
                if status not in (200, 201):  # 200: the replay of a request sent again
                    raise HttpStatus(status)
                return json.loads(answer)
        raise AssertionError("unreachable")

    async def _connection(
        self, *, fresh: bool
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self.idle and not fresh:
            reader, writer, since = self.idle.pop()
            if time.monotonic() - since < KEEPALIVE_SECONDS:
                return reader, writer
            writer.close()  # the server may be closing it right now
        return await asyncio.open_connection("127.0.0.1", self.port)

    @staticmethod
    async def _exchange(
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: bytes
    ) -> tuple[int, bytes, bool]:
        reader, writer = conn
        writer.write(request)
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionResetError("the server closed the connection")
        status, length, keep = int(status_line.split()[1]), 0, True
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                keep = False
        return status, await reader.readexactly(length), keep

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()


class HttpStatus(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


async def offer(
    o: Offer, rate: float, send: Callable[[int, float], Coroutine[Any, Any, None]]
) -> None:
    """Start ``send`` at a fixed rate, whatever the answers do, then wait for them all.

    The offer stops early when the entry point is plainly saturated: a request has
    waited over half of ``BACKLOG_SECONDS`` for its answer (more than a passing stall),
    and more wait than it answers in ``BACKLOG_SECONDS``. Offering more would only
    lengthen the drain."""
    t0, wall0 = time.perf_counter(), time.time()
    tasks: list[asyncio.Task[None]] = []
    waiting: deque[tuple[float, asyncio.Task[None]]] = deque()
    answered = 0

    def done(_: object) -> None:
        nonlocal answered
        answered += 1

    for i in range(round(rate * STEP_SECONDS)):
        while waiting and waiting[0][1].done():
            waiting.popleft()
        stalled = bool(waiting) and time.time() - waiting[0][0] > BACKLOG_SECONDS / 2
        if stalled and i - answered > BACKLOG_SECONDS * answered / (time.perf_counter() - t0):
            o.cut_short = True
            break
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        due = wall0 + i / rate
        task = asyncio.create_task(send(i, due))
        task.add_done_callback(done)
        tasks.append(task)
        waiting.append((due, task))
    o.offered = len(tasks)
    await asyncio.gather(*tasks)


async def post(
    poster: Poster, o: Offer, path: str, body: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any] | None:
    """One request of a step; a failure is counted by kind, never raised."""
    try:
        answer: dict[str, Any] = await poster.post(
            path, body, headers | {"Idempotency-Key": uuid.uuid4().hex}
        )
    except HttpStatus as exc:
        o.errors[str(exc.status)] += 1
        return None
    except (OSError, asyncio.IncompleteReadError) as exc:
        o.errors[type(exc).__name__] += 1
        return None
    return answer


def row(
    stage: str,
    load: float,
    o: Offer,
    arrivals: Callable[[Sent], list[float]],
    drain_s: float,
) -> dict[str, Any]:
    """Figures of one stage at one load: throughput, latency, losses, duplicates."""
    lat, last, lost, dup = [], 0.0, 0, 0
    for s in o.sent:
        times = arrivals(s)
        if not times:
            lost += 1
            continue
        lat.append((min(times) - s.due) * 1000)
        last = max(last, min(times))
        dup += len(times) - 1
    first = min((s.due for s in o.sent), default=0.0)
    http = [(s.answered - s.due) * 1000 for s in o.sent]
    return {
        "stage": stage,
        "offered_per_s": load,
        "offered": o.offered,
        "offer_cut_short": o.cut_short,
        "accepted": len(o.sent),
        "http_errors": sum(o.errors.values()),
        "http_error_kinds": dict(o.errors),
        "seen": len(lat),
        "lost": lost,
        "duplicates": dup,
        "achieved_per_s": round(len(lat) / (last - first), 1) if lat and last > first else 0.0,
        "p50_ms": round(pct(lat, 0.50), 1) if lat else None,
        "p95_ms": round(pct(lat, 0.95), 1) if lat else None,
        "p99_ms": round(pct(lat, 0.99), 1) if lat else None,
        "max_ms": round(max(lat), 1) if lat else None,
        "http_p50_ms": round(pct(http, 0.50), 1) if http else None,
        "http_p99_ms": round(pct(http, 0.99), 1) if http else None,
        "drain_s": round(drain_s, 1),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def saturated(r: dict[str, Any]) -> bool:
    kept_up = r["achieved_per_s"] >= 0.8 * r["offered_per_s"]
    return not kept_up or r["offer_cut_short"] or bool(r["http_errors"]) or bool(r["lost"])


async def drain(done: Callable[[], bool], timeout: float = DRAIN_SECONDS) -> float:
    t0 = time.perf_counter()
    while not done() and time.perf_counter() - t0 < timeout:
        await asyncio.sleep(0.1)
    return time.perf_counter() - t0


def show(r: dict[str, Any]) -> None:
    say(
        f"  {r['stage']:<24} {r['offered_per_s']:>4}/s -> {r['achieved_per_s']:>6}/s  "
        f"p50 {r['p50_ms']} ms  p95 {r['p95_ms']} ms  p99 {r['p99_ms']} ms  "
        f"lost {r['lost']}  dup {r['duplicates']}  http errors {r['http_error_kinds'] or 0}"
        + (f"  (offer stopped after {r['offered']}: backlog)" if r["offer_cut_short"] else "")
    )
    say(
        f"    cpu % {r.get('cpu_pct')}, runnable work waited for a CPU "
        f"{r.get('cpu_stalled_pct')}% of the time; postgres waits % {r.get('pg_waits_pct')}"
    )


# ------------------------------------------------------------------ set-up


async def commits(db_url: str, *, notify: bool, seconds: float = 3.0) -> float:
    """One-row transactions per second from 8 connections at once, with or without a
    ``pg_notify`` in each (as every outbox write and display change has)."""
    pool = await asyncpg.create_pool(db_url, min_size=8, max_size=8)
    await pool.execute("CREATE TABLE IF NOT EXISTS raw_commits (id uuid PRIMARY KEY, body bytea)")
    done = 0

    async def writer() -> None:
        nonlocal done
        async with pool.acquire() as conn:
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                async with conn.transaction():
                    await conn.execute(
                        "INSERT INTO raw_commits VALUES ($1, $2)", uuid.uuid4(), b"x" * 600
                    )
                    if notify:
                        await conn.execute("SELECT pg_notify('raw_commits', '')")
                done += 1

    await asyncio.gather(*(writer() for _ in range(8)))
    await pool.close()
    return round(done / seconds)


async def new_database(servers: Servers, stem: str) -> str:
    name = f"{stem}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(servers.postgres_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return servers.postgres_url.rsplit("/", 1)[0] + f"/{name}"


def kafka_of(servers: Servers) -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=servers.kafka_bootstrap,
        embedded=servers.kafka_embedded,
        topic_prefix=f"e2e{uuid.uuid4().hex[:6]}.",
    )


def service_env(kafka: KafkaSettings, db_url: str, sms_url: str = "") -> dict[str, str]:
    env = os.environ | {
        "DATABASE_URL": db_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "MOTCUA_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "MOTCUA_KAFKA_EMBEDDED": "true" if kafka.embedded else "false",
        "MOTCUA_LOG_FORMAT": "json",
        "MOTCUA_QUEUE_SSE_MAX_SECONDS": "3600",
    }
    if sms_url:
        env |= {
            "MOTCUA_NOTIFY_CHANNELS": json.dumps({"sms": sms_url}),
            "MOTCUA_NOTIFY_RATE_PER_SECOND": json.dumps({"sms": SMS_RATE}),
            # Equal start and end: no quiet hours, whatever the hour of the run.
            "MOTCUA_NOTIFY_QUIET_HOURS_START": "00:00",
            "MOTCUA_NOTIFY_QUIET_HOURS_END": "00:00",
        }
    return env


def centers_file(folder: Path) -> Path:
    """The queue's center directory for the benchmark: the packaged center, copied
    under every benchmark center id."""
    packaged = json.loads((ROOT / "services/queue/data/centers.json").read_text())
    template = packaged["centers"][0]
    path = folder / "centers.json"
    centers = [template | {"center_id": c, "name": c, "name_en": c} for c in CENTERS]
    path.write_text(json.dumps({"centers": centers}, ensure_ascii=False))
    return path


async def stable(kafka: KafkaSettings, groups: dict[str, int], timeout: float = 60) -> None:
    """Wait until each consumer group is Stable with its expected number of members."""
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        deadline = time.monotonic() + timeout
        while True:
            found = {}
            for name in groups:  # one per request: the embedded broker fails on several
                for response in await admin.describe_consumer_groups([name]):
                    for g in response.groups:
                        found[g[1]] = (g[2], len(g[5]))
            if all(found.get(name) == ("Stable", n) for name, n in groups.items()):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"consumer groups not stable after {timeout}s: {found}")
            await asyncio.sleep(0.3)
    finally:
        await admin.close()


# ------------------------------------------------------------------ the ladder


@dataclass
class Ladder:
    procs: dict[str, Proc]
    client: httpx.AsyncClient  # metrics
    kiosk: Poster
    clerk: Poster
    auth: dict[str, dict[str, str]]
    procedure: str
    display: Display
    deadlines: DeadlineTopic
    sms: Sms
    sampler: Sampler
    tickets_issued: int = 0
    phones: int = 0
    peak_mib: dict[float, dict[str, float]] = field(default_factory=dict)

    async def tickets(self, load: float) -> list[dict[str, Any]]:
        o = Offer()

        async def send(i: int, due: float) -> None:
            center, line = CENTERS[i % len(CENTERS)], LINES[i // len(CENTERS) % len(LINES)]
            target = f"/centers/{center}/tickets"
            got = await post(self.kiosk, o, target, {"line_code": line}, {})
            if got is not None:
                key = (center, line, got["number"], local_day(got["issued_at"]))
                o.sent.append(Sent(key, due, time.time()))

        self.sampler.begin()
        resent = self.kiosk.resent
        await offer(o, load, send)
        seen = self.display.seen
        drained = await drain(lambda: all(s.key in seen for s in o.sent))
        r = row("ticket_to_display", load, o, lambda s: seen.get(s.key, []), drained)
        r |= self.sampler.report() | {"http_resent": self.kiosk.resent - resent}
        self._peak(load)
        # notify follows every ticket's waiting line: let it catch up before the next stage.
        self.tickets_issued += len(o.sent)
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < DRAIN_SECONDS:
            if await consumed(self.client, self.procs["notify"], "ticket.issued") >= (
                self.tickets_issued
            ):
                break
            await asyncio.sleep(0.2)
        r["notify_catch_up_s"] = round(time.perf_counter() - t0, 1)
        return [r]

    async def dossiers(self, load: float) -> list[dict[str, Any]]:
        o = Offer()
        target = "/v1/dossiers"

        async def send(i: int, due: float) -> None:
            self.phones += 1
            phone = f"091{self.phones:07d}"
            body = {
                "procedure_code": self.procedure,
                "contact": {"kind": "phone", "value": phone},
                "consent_notifications": True,
            }
            got = await post(self.clerk, o, target, body, self.auth[CENTERS[i % len(CENTERS)]])
            if got is not None:
                o.sent.append(Sent((got["dossier"]["id"], last_digits(phone)), due, time.time()))

        self.sampler.begin()
        resent = self.clerk.resent
        await offer(o, load, send)

        def done() -> bool:
            self.sms.refresh()
            return all(
                s.key[0] in self.deadlines.seen and s.key[1] in self.sms.seen for s in o.sent
            )

        drained = await drain(done)
        self.sms.refresh()
        set_at = self.deadlines.seen
        sms_at = self.sms.seen
        rows = [
            row("dossier_to_deadline_set", load, o, lambda s: set_at.get(s.key[0], []), drained),
            row("dossier_to_sms", load, o, lambda s: sms_at.get(s.key[1], []), drained),
        ]
        rows[1]["idempotency_keys_per_sms"] = max(
            (len(self.sms.keys[s.key[1]]) for s in o.sent if s.key[1] in self.sms.keys),
            default=0,
        )
        seen_by_machine = self.sampler.report() | {"http_resent": self.clerk.resent - resent}
        rows[0] |= seen_by_machine
        rows[1] |= seen_by_machine
        self._peak(load)
        return rows

    def _peak(self, load: float) -> None:
        mine = self.peak_mib.setdefault(load, {})
        for name, mib in self.sampler.peak_mib.items():
            mine[name] = max(mine.get(name, 0.0), mib)


async def run_ladder(servers: Servers, logs: Path) -> tuple[dict[str, Any], list[Any]]:
    kafka = kafka_of(servers)
    await ensure_topics(kafka)
    db_url = await new_database(servers, "e2e")
    figures: dict[str, Any] = {}

    say("baselines: raw aiokafka produce+consume (100k x 200 B) and raw asyncpg inserts…")
    raw_topic = f"{kafka.topic_prefix}raw"
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    await admin.create_topics([NewTopic(raw_topic, 4, 1)])
    await admin.close()
    figures |= await raw_kafka(kafka.bootstrap_servers, raw_topic)
    figures |= await raw_postgres(db_url)
    figures["raw_pg_one_row_tx_8_conns_per_s"] = await commits(db_url, notify=False)
    figures["raw_pg_one_row_tx_with_notify_8_conns_per_s"] = await commits(db_url, notify=True)
    say(
        f"  raw kafka {figures['raw_kafka_produce_consume_msgs_per_s']} msgs/s produce+consume, "
        f"raw pg {figures['raw_pg_one_row_tx_per_s']} one-row tx/s (1 connection), "
        f"{figures['raw_pg_one_row_tx_8_conns_per_s']} (8), "
        f"{figures['raw_pg_one_row_tx_with_notify_8_conns_per_s']} (8, with NOTIFY)"
    )

    await migrate_all(db_url)
    sink = await HttpSink().start()
    env = service_env(kafka, db_url, sink.url("/sms")) | {
        "MOTCUA_QUEUE_CENTERS_FILE": str(centers_file(logs))
    }
    say("starting queue, intake, deadlines and notify as processes…")
    procs: dict[str, Proc] = {}
    tasks: list[asyncio.Task[None]] = []
    db = await asyncpg.connect(db_url)
    try:
        for name in ("queue", "intake", "deadlines", "notify"):
            procs[name] = await start(name, env, logs)
        await ready(procs.values())
        prefix = kafka.topic_prefix
        await stable(
            kafka,
            {f"{prefix}motcua-{n}": 1 for n in ("intake", "deadlines", "notify")}
            | {f"{prefix}motcua-intake-commands": 1},
        )
        figures |= {f"idle_rss_{n}_mib": p.rss_mib() for n, p in procs.items()}
        say("  idle RSS: " + ", ".join(f"{n} {p.rss_mib()} MiB" for n, p in procs.items()))
        secret = ServiceSettings().auth_secret.get_secret_value()
        auth = {
            center: {
                "Authorization": "Bearer "
                + issue_token(secret, center_id=center, subject="bench-clerk", role="clerk")
            }
            for center in CENTERS
        }
        async with httpx.AsyncClient(timeout=30) as client:
            procedures = (await client.get(f"{procs['intake'].url}/v1/procedures")).json()
            ladder = Ladder(
                procs,
                client,
                Poster(procs["queue"].port),
                Poster(procs["intake"].port),
                auth,
                procedures[0]["code"],
                Display(procs["queue"].url),
                DeadlineTopic(kafka.bootstrap_servers, DEADLINES.topic(prefix)),
                Sms(sink),
                Sampler(list(procs.values()), db, await postmaster_pid(db)),
            )
            tasks = [
                asyncio.create_task(t)
                for t in (ladder.display.run(), ladder.deadlines.run(), ladder.sampler.run())
            ]
            rows: list[dict[str, Any]] = []
            say(f"ladder: {', '.join(map(str, LOADS))} per second, {STEP_SECONDS:g} s per step")
            if STEP_SECONDS < 60:
                say(
                    "  (issue 9 asks for 60 s steps; they take this benchmark past ~8 minutes "
                    "here: MOTCUA_BENCH_E2E_STEP_SECONDS=60 runs them)"
                )
            going = {"tickets": ladder.tickets, "dossiers": ladder.dossiers}
            for load in LOADS:
                for entry, step in list(going.items()):
                    got = await step(load)
                    for r in got:
                        show(r)
                    rows += got
                    # Past saturation a backlog only grows: the next step would measure it.
                    if any(saturated(r) for r in got):
                        say(f"  {entry} saturated at {load}/s: higher loads not offered")
                        del going[entry]
                if not going:
                    break
            ladder.kiosk.close()
            ladder.clerk.close()
        figures["display_resyncs"] = ladder.display.resyncs
        highest = max(ladder.peak_mib)
        top = ladder.peak_mib[highest]
        figures["peak_rss_at_offered_per_s"] = highest
        figures |= {f"peak_rss_{n}_mib": top[n] for n in procs}
        say(f"  peak RSS at {highest}/s: " + ", ".join(f"{n} {top[n]} MiB" for n in procs))
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await stop(procs.values())
        await sink.stop()
        await db.close()
    received = [
        m
        for m in await read_all(kafka.bootstrap_servers, DOSSIERS.topic(prefix), timeout=60)
        if b'"dossier.received"' in m.value
    ]
    return figures | {"steps": rows}, received


# ------------------------------------------------------------------ scale-out


def burst(received: list[Any], n: int) -> list[tuple[bytes, bytes]]:
    """``n`` dossier.received events (key, value): the run's own, topped up with copies
    under fresh dossier and event ids (deadlines reads neither contact nor secret)."""
    out = [(m.key, m.value) for m in received[:n]]
    for i in range(n - len(out)):
        event = json.loads(received[i % len(received)].value)
        dossier_id = str(uuid.uuid4())
        event["event_id"] = str(uuid.uuid4())
        event["data"]["dossier_id"] = dossier_id
        out.append((dossier_id.encode(), json.dumps(event).encode()))
    return out


async def scale_out(
    servers: Servers, logs: Path, events: list[tuple[bytes, bytes]], instances: int
) -> dict[str, Any]:
    """The same burst of real ``dossier.received`` events, to ``instances`` deadlines
    processes in one group, already joined: time until every clock is set."""
    kafka = kafka_of(servers)
    await ensure_topics(kafka)
    db_url = await new_database(servers, "e2e_scale")
    await migrate_all(db_url, ["deadlines"])
    env = service_env(kafka, db_url)
    procs = [await start("deadlines", env, logs) for _ in range(instances)]
    for i, p in enumerate(procs, 1):
        p.tag = f"deadlines-{i}"
    conn = await asyncpg.connect(db_url)
    watch = await asyncpg.connect(db_url)
    sampler = Sampler(procs, watch, await postmaster_pid(watch))
    sampling: asyncio.Task[None] | None = None
    try:
        await ready(procs)
        await stable(kafka, {f"{kafka.topic_prefix}motcua-deadlines": instances})
        producer = AIOKafkaProducer(**kafka.producer_options())
        await producer.start()
        sampler.begin()
        sampling = asyncio.create_task(sampler.run())
        t0 = time.perf_counter()
        topic = DOSSIERS.topic(kafka.topic_prefix)
        futures = [await producer.send(topic, value, key=key) for key, value in events]
        await asyncio.gather(*futures)
        await producer.stop()
        want, clocks = len(events), 0
        while clocks < want and time.perf_counter() - t0 < 300:
            await asyncio.sleep(0.05)
            clocks = await conn.fetchval(
                "SELECT count(*) FROM deadlines.clocks WHERE due_at IS NOT NULL"
            )
        seconds = time.perf_counter() - t0
        machine = sampler.report()
        flags, flagged = await conn.fetchrow(
            "SELECT count(*), count(DISTINCT dossier_id) FROM deadlines.flags WHERE kind = 'set'"
        )
        async with httpx.AsyncClient(timeout=10) as client:
            applied = [await consumed(client, p, "dossier.received", "applied") for p in procs]
            skipped = [await consumed(client, p, "dossier.received", "duplicate") for p in procs]
        on_topic: list[Any] = []
        t1 = time.perf_counter()
        while len(on_topic) < want and time.perf_counter() - t1 < 60:
            on_topic = [
                m
                for m in await read_all(
                    kafka.bootstrap_servers, DEADLINES.topic(kafka.topic_prefix), timeout=30
                )
                if b'"deadline.set"' in m.value
            ]
        ids = {json.loads(m.value)["event_id"] for m in on_topic}
        dossiers = {json.loads(m.value)["data"]["dossier_id"] for m in on_topic}
        tag = f"scale_{instances}x_deadlines"
        return {
            f"{tag}_events": want,
            f"{tag}_clocks_set": clocks,
            f"{tag}_seconds": round(seconds, 2),
            f"{tag}_events_per_s": round(clocks / seconds),
            f"{tag}_applied_per_instance": applied,
            f"{tag}_applied_total": sum(applied),
            f"{tag}_redelivered_and_skipped": sum(skipped),
            f"{tag}_set_flags_total": flags,
            f"{tag}_set_flags_distinct_dossiers": flagged,
            f"{tag}_deadline_set_on_topic": len(on_topic),
            f"{tag}_deadline_set_distinct_events": len(ids),
            f"{tag}_deadline_set_distinct_dossiers": len(dossiers),
            f"{tag}_rss_mib": [p.rss_mib() for p in procs],
            f"{tag}_cpu_pct": machine["cpu_pct"],
            f"{tag}_cpu_stalled_pct": machine["cpu_stalled_pct"],
            f"{tag}_pg_waits_pct": machine["pg_waits_pct"],
        }
    finally:
        if sampling is not None:
            sampling.cancel()
            await asyncio.gather(sampling, return_exceptions=True)
        await conn.close()
        await watch.close()
        await stop(procs)


# ------------------------------------------------------------------ results


def plot(rows: list[dict[str, Any]]) -> Path:
    colors = dict(zip(STAGES, ("#1f77b4", "#d62728", "#2ca02c"), strict=True))
    series = []
    for stage in STAGES:
        mine = [r for r in rows if r["stage"] == stage and r["p50_ms"] is not None]
        for q, dashed in (("p50", False), ("p99", True)):
            points = [(float(r["offered_per_s"]), float(r[f"{q}_ms"])) for r in mine]
            series.append(Series(f"{stage} {q}", points, dashed, colors[stage]))
    svg = line_chart(
        series,
        title=f"motcua end to end: latency against offered load ({STEP_SECONDS:g} s per step)",
        x_label="offered load (requests per second, per stage)",
        y_label="latency (ms, log scale)",
        log_x=True,
        log_y=True,
        x_ticks=sorted({float(r["offered_per_s"]) for r in rows}),
        width=900,
    )
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "e2e_latency.svg"
    path.write_text(svg)
    return path


def flat(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in rows:
        tag = f"{r['stage']}_at_{r['offered_per_s']}_per_s"
        out[f"{tag}_achieved_per_s"] = r["achieved_per_s"]
        for q in ("p50", "p95", "p99"):
            out[f"{tag}_{q}_ms"] = r[f"{q}_ms"]
    for stage in STAGES:
        mine = [r for r in rows if r["stage"] == stage]
        out[f"{stage}_max_achieved_per_s"] = max(r["achieved_per_s"] for r in mine)
        out[f"{stage}_lost"] = sum(r["lost"] for r in mine)
        out[f"{stage}_duplicates"] = sum(r["duplicates"] for r in mine)
        out[f"{stage}_http_errors"] = sum(r["http_errors"] for r in mine)
    return out


async def run(servers: Servers) -> dict[str, Any]:
    # Other work on the machine shows in every figure; the load average says how much.
    load_before = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory(prefix="motcua-e2e-") as tmp:
        logs = Path(tmp)
        figures, received = await run_ladder(servers, logs)
        rows = figures.pop("steps")
        say(f"plot: {plot(rows)}")
        events = burst(received, SCALE_EVENTS)
        say(
            f"scale-out: {len(events)} dossier.received events ({len(received)} from the run) "
            "to 1, then 2 deadlines instances"
        )
        for n in (1, 2):
            got = await scale_out(servers, logs, events, n)
            tag = f"scale_{n}x_deadlines"
            say(
                f"  {n} instance(s): {got[f'{tag}_events_per_s']} events/s, applied per instance "
                f"{got[f'{tag}_applied_per_instance']}; cpu % {got[f'{tag}_cpu_pct']}, "
                f"runnable work waited for a CPU {got[f'{tag}_cpu_stalled_pct']}% of the time; "
                f"postgres waits % {got[f'{tag}_pg_waits_pct']}"
            )
            figures |= got
    figures |= flat(rows)
    best_ticket = figures["ticket_to_display_max_achieved_per_s"]
    best_dossier = figures["dossier_to_sms_max_achieved_per_s"]
    raw_tx = figures["raw_pg_one_row_tx_per_s"]
    raw_bus = figures["raw_kafka_produce_consume_msgs_per_s"]
    figures |= {
        "centers": len(CENTERS),
        "load_avg_1m_at_start": load_before,
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        "step_seconds": STEP_SECONDS,
        "offered_loads_per_s": list(LOADS),
        "ratio_tickets_to_raw_pg_one_row_tx": round(best_ticket / raw_tx, 3),
        "ratio_dossiers_to_raw_pg_one_row_tx": round(best_dossier / raw_tx, 3),
        "ratio_deadlines_1x_to_raw_kafka": round(
            figures["scale_1x_deadlines_events_per_s"] / raw_bus, 3
        ),
        "ratio_deadlines_2x_to_raw_kafka": round(
            figures["scale_2x_deadlines_events_per_s"] / raw_bus, 3
        ),
        "scale_out_speedup": round(
            figures["scale_2x_deadlines_events_per_s"] / figures["scale_1x_deadlines_events_per_s"],
            2,
        ),
        "steps": rows,
    }
    for key in [k for k in figures if k.startswith("ratio_")]:
        say(f"{key}: {figures[key]}")
    return figures
