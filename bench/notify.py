"""Notify benchmark: notifications per second delivered to a local HTTP SMS gateway,
and the latency from event to delivery at a steady 100 events/s.

1. Baselines, each in its own process, posting the same JSON to the same sink
   (no broker, no database): apprise alone with the service's apprise thread
   count (a new connection per message, as the service sent SMS before), httpx
   alone (one ``AsyncClient``, keep-alive) and aiohttp alone (one
   ``ClientSession``, keep-alive, the client the service uses for JSON/form
   gateways), both with the service's send concurrency: the transport's ceiling.
2. Pipeline: a burst of ``dossier.received`` events, each with a consented phone,
   through the notify service (its own process) with no channel configured, so
   every message lands in the dev inbox: consume -> record -> claim -> log.
3. Throughput: the same burst with SMS over keep-alive HTTP to the sink,
   counted at the sink. Goal: >= 1,000/s.
4. Latency at ~100 events/s, from handing the event to the broker to the sink
   receiving the SMS. Goal: p99 < 500 ms.

CPU is reported in ms per message for each process involved: the notify service,
the PostgreSQL backends of its database, and this process (the sink, plus the
producer during a burst); the sink's own cost is measured alone during the
baselines. On a small machine these, added up, bound the rate more than any
latency does, and they vary far less with the machine's other load.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from bench.launch import broker_pid, cpu_seconds, service_env
from motcua.devtools.backends import fresh_database, fresh_kafka
from motcua.devtools.embedded import free_port
from motcua.devtools.samples import CONTACT_KEY, dossier_received, random_phone
from motcua.devtools.services import answers_ready
from motcua.devtools.sinks import HttpSink

if TYPE_CHECKING:
    from motcua.devtools.backends import Servers

ROOT = Path(__file__).resolve().parents[1]
BURST = 3000
RAW = 1500
RAW_KEEPALIVE = 3000
STEADY_RATE = 100.0
STEADY_SECONDS = 15.0
THREADS = 8
CONCURRENCY = 4  # in flight, service and keep-alive baselines: saturates a loopback sink
CODE = re.compile(r"HS-\d{8}")


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def _raw_apprise(url: str, count: int) -> float:
    """Messages per second apprise alone delivers to the sink (run in a child process)."""
    import apprise

    from motcua.services.notify.channels import target_url

    def one(i: int) -> bool:
        plugin: Any = apprise.Apprise.instantiate(target_url(url, f"+8490{i:07d}"))
        plugin.headers["Idempotency-Key"] = f"raw-{i}"
        return bool(plugin.notify(body="Hồ sơ HS-1 đã được tiếp nhận.", title=""))

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        assert all(pool.map(one, range(count)))
    return count / (time.perf_counter() - started)


def _raw_request(i: int, tag: str) -> tuple[bytes, dict[str, str]]:
    """The body and headers the service sends for an SMS (apprise's JSON plugin)."""
    import json

    body = {
        "version": "1.0",
        "title": "",
        "message": "Hồ sơ HS-1 đã được tiếp nhận.",
        "attachments": [],
        "type": "info",
        "to": f"+8490{i:07d}",
    }
    headers = {
        "User-Agent": "Apprise",
        "Content-Type": "application/json",
        "Idempotency-Key": f"{tag}-{i}",
    }
    return json.dumps(body).encode(), headers


def _timed(main: Callable[[], Awaitable[float]], count: int) -> dict[str, float]:
    """Run ``main`` (its wall seconds for ``count`` messages); rate and CPU per message."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    before = usage.ru_utime + usage.ru_stime
    seconds = asyncio.run(main())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - before
    return {"per_s": count / seconds, "cpu_ms_per_msg": cpu / count * 1000}


def _raw_httpx(url: str, count: int) -> dict[str, float]:
    """httpx alone to the sink over keep-alive connections (run in a child process)."""

    async def main() -> float:
        slots = asyncio.Semaphore(CONCURRENCY)
        limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        async with httpx.AsyncClient(limits=limits) as client:

            async def one(i: int) -> None:
                body, headers = _raw_request(i, "httpx")
                async with slots:
                    r = await client.post(url, content=body, headers=headers)
                assert r.status_code == 200

            started = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(count)))
            return time.perf_counter() - started

    return _timed(main, count)


def _raw_aiohttp(url: str, count: int) -> dict[str, float]:
    """aiohttp alone to the sink over keep-alive connections (run in a child process)."""
    import aiohttp

    async def main() -> float:
        slots = asyncio.Semaphore(CONCURRENCY)
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def one(i: int) -> None:
                body, headers = _raw_request(i, "aiohttp")
                async with slots, session.post(url, data=body, headers=headers) as r:
                    await r.read()
                assert r.status == 200

            started = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(count)))
            return time.perf_counter() - started

    return _timed(main, count)


async def _until(probe: Callable[[], Awaitable[Any]], until: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not until(await probe()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"not done in {timeout}s")
        await asyncio.sleep(0.02)


@dataclass
class _Notify:
    """The notify service under test: its process, database, producer and topic."""

    proc: asyncio.subprocess.Process
    db: asyncpg.Connection  # the benchmark's own: its backend is not counted
    producer: AIOKafkaProducer
    topic: str
    broker: int | None  # the broker's process, when it runs on this machine

    async def cpu(self) -> dict[str, float]:
        """CPU seconds so far of the service, its database's backends, the broker (all of
        it: the producer's traffic too) and this process."""
        pids = await self.db.fetch(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        postgres = 0.0
        for r in pids:
            with contextlib.suppress(OSError):  # not on this machine, or just gone
                postgres += cpu_seconds(r["pid"])
        service = cpu_seconds(self.proc.pid) if self.proc.returncode is None else 0.0
        broker = 0.0
        if self.broker is not None:
            with contextlib.suppress(OSError):
                broker = cpu_seconds(self.broker)
        return {
            "service": service,
            "postgres": postgres,
            "broker": broker,
            "bench": time.process_time(),
        }


@contextlib.asynccontextmanager
async def _notify(servers: Servers, channels: str | None) -> AsyncIterator[_Notify]:
    """The notify service as its own process on a fresh database and topics."""
    async with fresh_database(servers) as url:
        kafka = await fresh_kafka(servers, quick_join=False)
        port = free_port()
        env = service_env(
            kafka,
            url,
            MOTCUA_NOTIFY_PORT=str(port),
            MOTCUA_CONTACT_KEY=CONTACT_KEY,
            MOTCUA_NOTIFY_QUIET_HOURS_START="00:00",
            MOTCUA_NOTIFY_QUIET_HOURS_END="00:00",
            MOTCUA_NOTIFY_RATE_PER_SECOND='{"sms": 100000, "dev_inbox": 100000}',
            MOTCUA_NOTIFY_SEND_THREADS=str(THREADS),
            MOTCUA_NOTIFY_SEND_CONCURRENCY=str(CONCURRENCY),
            MOTCUA_NOTIFY_WORKER_BATCH="500",
        )
        if channels:
            env["MOTCUA_NOTIFY_CHANNELS"] = channels
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "motcua.services.notify", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        producer = AIOKafkaProducer(
            bootstrap_servers=kafka.bootstrap_servers, acks="all", linger_ms=5
        )
        db = await asyncpg.connect(url)
        try:
            await _until(lambda: answers_ready(f"http://127.0.0.1:{port}"), bool, 60)
            await producer.start()
            topic = f"{kafka.topic_prefix}dossier.events"
            yield _Notify(
                proc,
                db,
                producer,
                topic,
                broker_pid(kafka),
            )
        finally:
            await db.close()
            await producer.stop()
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _burst(notify: _Notify, count: Callable[[], Awaitable[int]]) -> dict[str, float]:
    """Warm up, then hand ``BURST`` events to the broker at once: deliveries per second,
    and CPU ms per delivery of each process."""
    producer, topic = notify.producer, notify.topic
    before = await count()
    warm = [dossier_received("bench", phone=random_phone())[1] for _ in range(20)]
    for e in warm:
        await producer.send(topic, e.to_bytes(), key=str(e.data.dossier_id).encode())
    await _until(count, lambda n: n >= before + len(warm), 60)
    before += len(warm)
    events = [dossier_received("bench", phone=random_phone())[1] for _ in range(BURST)]
    cpu = await notify.cpu()
    started = time.perf_counter()
    futures = [
        await producer.send(topic, e.to_bytes(), key=str(e.data.dossier_id).encode())
        for e in events
    ]
    await asyncio.gather(*futures)
    await _until(count, lambda n: n >= before + BURST, 300)
    rate = BURST / (time.perf_counter() - started)
    used = await notify.cpu()
    return {"per_s": rate} | {k: (used[k] - cpu[k]) / BURST * 1000 for k in cpu}


def _cpu_figures(tag: str, burst: dict[str, float]) -> dict[str, float]:
    names = {"service": "service", "postgres": "postgres", "broker": "broker"}
    names["bench"] = "bench_process"  # the sink, and the producer during a burst
    return {f"{tag}_{name}_cpu_ms_per_msg": round(burst[k], 3) for k, name in names.items()}


def _say(what: str, burst: dict[str, float]) -> None:
    print(
        f"   {what}: {burst['per_s']:.0f} notifications/s; CPU ms each: "
        f"service {burst['service']:.2f}, postgres {burst['postgres']:.2f}, "
        f"broker {burst['broker']:.2f}, producer and sink {burst['bench']:.2f}",
        flush=True,
    )


async def _raw(
    child: concurrent.futures.Executor, baseline: Callable[[str, int], dict[str, float]], url: str
) -> dict[str, float]:
    """A keep-alive baseline in the child process; this process serves the sink meanwhile."""
    sink_cpu = time.process_time()
    found = await asyncio.get_running_loop().run_in_executor(child, baseline, url, RAW_KEEPALIVE)
    return found | {"sink_cpu_ms_per_msg": (time.process_time() - sink_cpu) / RAW_KEEPALIVE * 1000}


async def run(servers: Servers) -> dict[str, Any]:
    sink = await HttpSink().start()
    figures: dict[str, Any] = {}
    try:
        loop = asyncio.get_running_loop()
        with concurrent.futures.ProcessPoolExecutor(1) as child:
            raw = await loop.run_in_executor(child, _raw_apprise, sink.url("/raw"), RAW)
            figures["raw_apprise_msgs_per_s"] = round(raw)
            print(f"   raw apprise to the sink: {raw:.0f}/s", flush=True)
            base = f"http://127.0.0.1:{sink.port}"
            keepalive = {
                "httpx": await _raw(child, _raw_httpx, f"{base}/raw-httpx"),
                "aiohttp": await _raw(child, _raw_aiohttp, f"{base}/raw-aiohttp"),
            }
        for name, found in keepalive.items():
            figures[f"raw_{name}_msgs_per_s"] = round(found["per_s"])
            figures[f"raw_{name}_cpu_ms_per_msg"] = round(found["cpu_ms_per_msg"], 3)
            print(
                f"   raw {name} to the sink (keep-alive, {CONCURRENCY} in flight): "
                f"{found['per_s']:.0f}/s, {found['cpu_ms_per_msg']:.2f} ms CPU each, "
                f"sink {found['sink_cpu_ms_per_msg']:.2f} ms",
                flush=True,
            )
        figures["sink_cpu_ms_per_msg"] = round(keepalive["aiohttp"]["sink_cpu_ms_per_msg"], 3)
        figures["send_concurrency"] = CONCURRENCY

        async with _notify(servers, None) as notify:

            async def sent() -> int:
                n: int = await notify.db.fetchval(
                    "SELECT count(*) FROM notify.deliveries WHERE status = 'sent'"
                )
                return n

            inbox = await _burst(notify, sent)
        figures["pipeline_dev_inbox_per_s"] = round(inbox["per_s"])
        figures |= _cpu_figures("pipeline", inbox)
        _say("pipeline alone (dev inbox)", inbox)

        opened = sink.connections
        async with _notify(servers, f'{{"sms": "{sink.url("/sms")}"}}') as notify:

            async def delivered() -> int:
                return len(sink.delivered)

            sms = await _burst(notify, delivered)
            figures["notifications_per_s"] = round(sms["per_s"])
            figures |= _cpu_figures("sms", sms)
            _say(f"burst of {BURST} by SMS", sms)
            figures["ratio_to_raw_aiohttp"] = round(sms["per_s"] / keepalive["aiohttp"]["per_s"], 2)
            figures["ratio_to_raw_httpx"] = round(sms["per_s"] / keepalive["httpx"]["per_s"], 2)
            figures |= await _steady(sink, notify.producer, notify.topic)
        figures["duplicates_at_sink"] = len(sink.accepted) - len(sink.delivered)
        # Burst and steady phase together: what keep-alive saved.
        figures["service_connections_to_sink"] = sink.connections - opened
    finally:
        await sink.stop()
    return figures


async def _steady(sink: HttpSink, producer: AIOKafkaProducer, topic: str) -> dict[str, Any]:
    """~100 events/s; latency from handing each to the broker to the sink receiving it."""
    sent_at: dict[str, float] = {}
    total = int(STEADY_RATE * STEADY_SECONDS)
    before = len(sink.delivered)
    t0 = time.perf_counter()
    for i in range(total):
        dossier, event = dossier_received("bench", phone=random_phone())
        await asyncio.sleep(max(0.0, t0 + i / STEADY_RATE - time.perf_counter()))
        sent_at[dossier.code] = time.time()
        await producer.send(topic, event.to_bytes(), key=str(event.data.dossier_id).encode())

    async def delivered() -> int:
        return len(sink.delivered)

    await _until(delivered, lambda n: n >= before + total, 120)
    latencies = []
    for m in sink.delivered.values():
        code = CODE.search(m.body)
        if code and code.group(0) in sent_at:
            latencies.append((m.received_at - sent_at[code.group(0)]) * 1000)
    p50, p99 = _pct(latencies, 50), _pct(latencies, 99)
    print(f"   steady {STEADY_RATE:.0f}/s: p50 {p50:.0f} ms, p99 {p99:.0f} ms", flush=True)
    return {
        "steady_events_per_s": STEADY_RATE,
        "steady_notifications": len(latencies),
        "event_to_delivery_p50_ms": round(p50, 1),
        "event_to_delivery_p99_ms": round(p99, 1),
        "event_to_delivery_max_ms": round(max(latencies), 1),
    }
