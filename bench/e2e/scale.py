"""Scale-out: one burst of real ``dossier.received`` events to one, then two,
instances of one consumer group: deadlines (a clock per dossier) and notify (a receipt
message per dossier with a consented contact, delivered to the dev inbox)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bench.e2e.ladder import e2e_env, stable
from bench.e2e.machine import Sampler, consumed, postmaster_pid
from bench.http_load import HttpLoad
from bench.launch import kafka_of, new_database, ready, start, stop
from motcua.devtools.backends import Servers
from motcua.devtools.bus import read_all
from motcua.devtools.devstack import migrate_all
from motcua.shared.bus.kafka import ensure_topics, open_producer
from motcua.shared.events.topics import DEADLINES, DOSSIERS


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


@dataclass(frozen=True)
class Target:
    """A consumer service to scale out, and how to tell it has taken the whole burst."""

    service: str
    # How many of the burst's events are fully handled (effects committed and, for
    # notify, every message delivered).
    progress_sql: str
    # (effects, distinct subjects): equal when no event was handled twice.
    effects_sql: str


TARGETS = {
    "deadlines": Target(
        "deadlines",
        "SELECT count(*) FROM deadlines.clocks WHERE due_at IS NOT NULL",
        "SELECT count(*), count(DISTINCT dossier_id) FROM deadlines.flags WHERE kind = 'set'",
    ),
    "notify": Target(
        "notify",
        # Events the consumers applied, once no message waits to be sent.
        """SELECT CASE WHEN EXISTS (SELECT 1 FROM notify.deliveries
                                    WHERE status IN ('pending', 'sending'))
                       THEN 0 ELSE (SELECT count(*) FROM notify.inbox) END""",
        "SELECT count(*), count(DISTINCT source_event_id) FROM notify.deliveries",
    ),
}


async def scale_out(
    servers: Servers,
    logs: Path,
    events: list[tuple[bytes, bytes]],
    instances: int,
    target: Target = TARGETS["deadlines"],
) -> dict[str, Any]:
    """The same burst of real ``dossier.received`` events, to ``instances`` processes of
    ``target`` in one group, already joined: time until every event is handled."""
    kafka = kafka_of(servers, "e2e")
    await ensure_topics(kafka)
    db_url = await new_database(servers, "e2e_scale")
    await migrate_all(db_url, [target.service])
    env = e2e_env(kafka, db_url)
    procs = [await start(target.service, env, logs) for _ in range(instances)]
    for i, p in enumerate(procs, 1):
        p.tag = f"{target.service}-{i}"
    conn = await asyncpg.connect(db_url)
    watch = await asyncpg.connect(db_url)
    sampler = Sampler(procs, watch, await postmaster_pid(watch))
    sampling: asyncio.Task[None] | None = None
    try:
        await ready(procs)
        await stable(kafka, {f"{kafka.topic_prefix}motcua-{target.service}": instances})
        producer = await open_producer(kafka)
        sampler.begin()
        sampling = asyncio.create_task(sampler.run())
        t0 = time.perf_counter()
        topic = DOSSIERS.topic(kafka.topic_prefix)
        futures = [await producer.send(topic, value, key=key) for key, value in events]
        await asyncio.gather(*futures)
        await producer.stop()
        want, handled = len(events), 0
        while handled < want and time.perf_counter() - t0 < 300:
            await asyncio.sleep(0.05)
            handled = await conn.fetchval(target.progress_sql)
        seconds = time.perf_counter() - t0
        machine = sampler.report()
        effects, distinct = await conn.fetchrow(target.effects_sql)
        async with HttpLoad("", timeout=10) as http:
            applied = [await consumed(http, p, "dossier.received", "applied") for p in procs]
            skipped = [await consumed(http, p, "dossier.received", "duplicate") for p in procs]
        tag = f"scale_{instances}x_{target.service}"
        figures = {
            f"{tag}_events": want,
            f"{tag}_handled": handled,
            f"{tag}_seconds": round(seconds, 2),
            f"{tag}_events_per_s": round(handled / seconds),
            f"{tag}_applied_per_instance": applied,
            f"{tag}_applied_total": sum(applied),
            f"{tag}_redelivered_and_skipped": sum(skipped),
            f"{tag}_effects_total": effects,
            f"{tag}_effects_distinct": distinct,
            f"{tag}_rss_mib": [p.rss_mib() for p in procs],
            f"{tag}_cpu_pct": machine["cpu_pct"],
            f"{tag}_cpu_stalled_pct": machine["cpu_stalled_pct"],
            f"{tag}_pg_waits_pct": machine["pg_waits_pct"],
        }
        if target.service == "deadlines":
            figures |= await _deadline_set_on_topic(kafka, want, tag)
        return figures
    finally:
        if sampling is not None:
            sampling.cancel()
            await asyncio.gather(sampling, return_exceptions=True)
        await conn.close()
        await watch.close()
        await stop(procs)


async def _deadline_set_on_topic(kafka: Any, want: int, tag: str) -> dict[str, Any]:
    """Each clock set is published once: one ``deadline.set`` per dossier on the topic."""
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
    return {
        f"{tag}_deadline_set_on_topic": len(on_topic),
        f"{tag}_deadline_set_distinct_events": len(ids),
        f"{tag}_deadline_set_distinct_dossiers": len(dossiers),
    }
