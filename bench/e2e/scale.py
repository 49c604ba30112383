"""Scale-out: one burst of real ``dossier.received`` events to one, then two,
deadlines instances of one consumer group."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from bench.e2e.ladder import e2e_env, stable
from bench.e2e.machine import Sampler, consumed, postmaster_pid
from bench.http_load import HttpLoad
from bench.launch import kafka_of, new_database, ready, start, stop
from shared.bus.kafka import ensure_topics
from shared.devstack import migrate_all
from shared.events.topics import DEADLINES, DOSSIERS
from tests.support.backends import Servers
from tests.support.kafka import read_all


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
    kafka = kafka_of(servers, "e2e")
    await ensure_topics(kafka)
    db_url = await new_database(servers, "e2e_scale")
    await migrate_all(db_url, ["deadlines"])
    env = e2e_env(kafka, db_url)
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
        async with HttpLoad("", timeout=10) as http:
            applied = [await consumed(http, p, "dossier.received", "applied") for p in procs]
            skipped = [await consumed(http, p, "dossier.received", "duplicate") for p in procs]
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
