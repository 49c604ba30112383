"""Offering a load: requests started at a fixed rate whatever the answers do (open
loop), and the figures of one stage at one load."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.e2e.knobs import BACKLOG_SECONDS, DRAIN_SECONDS, STEP_SECONDS, say
from bench.http_load import HttpLoad
from bench.pipeline import pct


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
    http: HttpLoad, o: Offer, path: str, body: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any] | None:
    """One request of a step; a failure is counted by kind, never raised.

    Every request carries an ``Idempotency-Key``, so one whose connection drops is
    sent again on a fresh connection: a repeat cannot make a second ticket or dossier.
    """
    headers = headers | {"Idempotency-Key": uuid.uuid4().hex}
    try:
        answer = await http.post(path, body, headers, resend=2)
    except (aiohttp.ClientError, TimeoutError) as exc:
        o.errors[type(exc).__name__] += 1
        return None
    if answer.status not in (200, 201):  # 200: the replay of a request sent again
        o.errors[str(answer.status)] += 1
        return None
    result: dict[str, Any] = answer.json()
    return result


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
