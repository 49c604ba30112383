"""Notify benchmark: notifications per second delivered to a local HTTP SMS gateway,
and the latency from event to delivery at a steady 100 events/s.

1. Baselines, each in its own process, posting the same JSON to the same sink
   (no broker, no database): apprise alone with the service's apprise thread
   count (a new connection per message, as the service sent SMS before), and
   httpx alone (one ``AsyncClient``, keep-alive, the service's send concurrency)
   -- the ceiling of the transport the service now uses for JSON/form gateways.
2. Pipeline: a burst of ``dossier.received`` events, each with a consented phone,
   through the notify service (its own process) with no channel configured, so
   every message lands in the dev inbox: consume -> record -> claim -> log.
3. Throughput: the same burst with SMS over keep-alive HTTP to the sink,
   counted at the sink. Goal: >= 1,000/s.
4. Latency at ~100 events/s, from handing the event to the broker to the sink
   receiving the SMS. Goal: p99 < 500 ms.

CPU seconds are reported per stage where they explain a figure: on a small
machine the sender's own CPU per request bounds what any gateway can receive.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from shared.embedded import free_port
from tests.integration.notify.harness import (
    CONTACT_KEY,
    database,
    dossier_received,
    kafka_for_module,
    random_phone,
)
from tests.integration.notify.sinks import HttpSink

if TYPE_CHECKING:
    from tests.support.backends import Servers

ROOT = Path(__file__).resolve().parents[1]
BURST = 3000
RAW = 1500
RAW_HTTPX = 3000
STEADY_RATE = 100.0
STEADY_SECONDS = 15.0
THREADS = 8
CONCURRENCY = 4  # in flight, service and httpx baseline: saturates a loopback sink, and
# httpcore's CPU per request grows with the connections in its pool
CODE = re.compile(r"HS-\d{8}")


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def _raw_apprise(url: str, count: int) -> float:
    """Messages per second apprise alone delivers to the sink (run in a child process)."""
    import apprise

    from services.notify.channels import target_url

    def one(i: int) -> bool:
        plugin: Any = apprise.Apprise.instantiate(target_url(url, f"+8490{i:07d}"))
        plugin.headers["Idempotency-Key"] = f"raw-{i}"
        return bool(plugin.notify(body="Hồ sơ HS-1 đã được tiếp nhận.", title=""))

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        assert all(pool.map(one, range(count)))
    return count / (time.perf_counter() - started)


def _raw_httpx(url: str, count: int) -> dict[str, float]:
    """Messages per second httpx alone delivers to the sink over keep-alive connections,
    and its CPU per message (run in a child process)."""
    import json
    import resource

    import httpx

    from services.notify.webhooks import _cache_missing_sniffio

    _cache_missing_sniffio()  # as the service does: same library cost, not a handicap

    async def main() -> float:
        slots = asyncio.Semaphore(CONCURRENCY)
        limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        async with httpx.AsyncClient(limits=limits) as client:

            async def one(i: int) -> None:
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
                    "Idempotency-Key": f"httpx-{i}",
                }
                async with slots:
                    r = await client.post(url, content=json.dumps(body), headers=headers)
                assert r.status_code == 200

            started = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(count)))
            return time.perf_counter() - started

    usage = resource.getrusage(resource.RUSAGE_SELF)
    before = usage.ru_utime + usage.ru_stime
    seconds = asyncio.run(main())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - before
    return {"per_s": count / seconds, "cpu_ms_per_msg": cpu / count * 1000}


async def _until(probe: Callable[[], Awaitable[Any]], until: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not until(await probe()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"not done in {timeout}s")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def _notify(
    servers: Servers, channels: str | None
) -> AsyncIterator[tuple[str, AIOKafkaProducer, str]]:
    """The notify service as its own process on a fresh database and topics."""
    async with database(servers) as url:
        kafka = await kafka_for_module(servers)
        port = free_port()
        env = os.environ | {
            "DATABASE_URL": url,
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "MOTCUA_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
            "MOTCUA_KAFKA_EMBEDDED": "true" if kafka.embedded else "false",
            "MOTCUA_NOTIFY_PORT": str(port),
            "MOTCUA_CONTACT_KEY": CONTACT_KEY,
            "MOTCUA_NOTIFY_QUIET_HOURS_START": "00:00",
            "MOTCUA_NOTIFY_QUIET_HOURS_END": "00:00",
            "MOTCUA_NOTIFY_RATE_PER_SECOND": '{"sms": 100000, "dev_inbox": 100000}',
            "MOTCUA_NOTIFY_SEND_THREADS": str(THREADS),
            "MOTCUA_NOTIFY_SEND_CONCURRENCY": str(CONCURRENCY),
            "MOTCUA_NOTIFY_WORKER_BATCH": "500",
            "MOTCUA_LOG_FORMAT": "json",
        }
        if channels:
            env["MOTCUA_NOTIFY_CHANNELS"] = channels
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.notify", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        producer = AIOKafkaProducer(
            bootstrap_servers=kafka.bootstrap_servers, acks="all", linger_ms=5
        )
        try:
            await _until(lambda: _ready(port), bool, 60)
            await producer.start()
            yield url, producer, f"{kafka.topic_prefix}dossier.events"
        finally:
            await producer.stop()
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _ready(port: int) -> bool:
    try:
        async with httpx.AsyncClient() as client:
            r = await client.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
        return r.status_code == 200
    except httpx.HTTPError:
        return False


async def _burst(
    producer: AIOKafkaProducer, topic: str, count: Callable[[], Awaitable[int]]
) -> float:
    """Warm up, then hand ``BURST`` events to the broker at once; deliveries per second."""
    before = await count()
    warm = [dossier_received("bench", phone=random_phone())[1] for _ in range(20)]
    for e in warm:
        await producer.send(topic, e.to_bytes(), key=str(e.data.dossier_id).encode())
    await _until(count, lambda n: n >= before + len(warm), 60)
    before += len(warm)
    events = [dossier_received("bench", phone=random_phone())[1] for _ in range(BURST)]
    started = time.perf_counter()
    futures = [
        await producer.send(topic, e.to_bytes(), key=str(e.data.dossier_id).encode())
        for e in events
    ]
    await asyncio.gather(*futures)
    await _until(count, lambda n: n >= before + BURST, 300)
    return BURST / (time.perf_counter() - started)


async def run(servers: Servers) -> dict[str, Any]:
    sink = await HttpSink().start()
    figures: dict[str, Any] = {}
    try:
        loop = asyncio.get_running_loop()
        with concurrent.futures.ProcessPoolExecutor(1) as child:
            raw = await loop.run_in_executor(child, _raw_apprise, sink.url("/raw"), RAW)
            figures["raw_apprise_msgs_per_s"] = round(raw)
            print(f"   raw apprise to the sink: {raw:.0f}/s", flush=True)
            url = f"http://127.0.0.1:{sink.port}/raw-httpx"
            httpx_raw = await loop.run_in_executor(child, _raw_httpx, url, RAW_HTTPX)
        figures["raw_httpx_msgs_per_s"] = round(httpx_raw["per_s"])
        figures["raw_httpx_cpu_ms_per_msg"] = round(httpx_raw["cpu_ms_per_msg"], 2)
        figures["send_concurrency"] = CONCURRENCY
        print(
            f"   raw httpx to the sink (keep-alive, {CONCURRENCY} in flight): "
            f"{httpx_raw['per_s']:.0f}/s, {httpx_raw['cpu_ms_per_msg']:.2f} ms CPU each",
            flush=True,
        )

        async with _notify(servers, None) as (url, producer, topic):
            db = await asyncpg.connect(url)

            async def sent() -> int:
                n: int = await db.fetchval(
                    "SELECT count(*) FROM notify.deliveries WHERE status = 'sent'"
                )
                return n

            try:
                rate = await _burst(producer, topic, sent)
            finally:
                await db.close()
        figures["pipeline_dev_inbox_per_s"] = round(rate)
        print(f"   pipeline alone (dev inbox): {rate:.0f} notifications/s", flush=True)

        opened = sink.connections
        async with _notify(servers, f'{{"sms": "{sink.url("/sms")}"}}') as (_, producer, topic):

            async def delivered() -> int:
                return len(sink.delivered)

            rate = await _burst(producer, topic, delivered)
            figures["notifications_per_s"] = round(rate)
            print(f"   burst of {BURST} by SMS: {rate:.0f} notifications/s", flush=True)
            figures["ratio_to_raw_httpx"] = round(rate / httpx_raw["per_s"], 2)
            figures |= await _steady(sink, producer, topic)
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
