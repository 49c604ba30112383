"""The load ladder: the four services as processes, tickets and dossiers offered
at rising rates, each stage timed to its far end."""

from __future__ import annotations

import asyncio
import functools
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.e2e.knobs import (
    CENTERS,
    DRAIN_SECONDS,
    HTTP_CONNECTIONS,
    HTTP_TIMEOUT,
    LINES,
    LOADS,
    SMS_RATE,
    STEP_SECONDS,
    say,
)
from bench.e2e.machine import Sampler, consumed, postmaster_pid
from bench.e2e.observe import DeadlineTopic, Display, Sms, last_digits, local_day
from bench.e2e.offer import Offer, Sent, drain, offer, post, row, saturated, show
from bench.http_load import HttpLoad, expect
from bench.launch import AUTH_SECRET, Proc, kafka_of, new_database, ready, service_env, start, stop
from bench.pipeline import raw_kafka, raw_postgres
from motcua.devtools.backends import Servers
from motcua.devtools.bus import read_all
from motcua.devtools.devstack import migrate_all
from motcua.devtools.sinks import HttpSink
from motcua.services.queue.directory import DEFAULT_FILE
from motcua.shared.auth import issue_token
from motcua.shared.bus.kafka import ensure_topics, takes_idempotence
from motcua.shared.events.topics import DEADLINES, DOSSIERS
from motcua.shared.settings import KafkaSettings


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


def e2e_env(kafka: KafkaSettings, db_url: str, sms_url: str = "") -> dict[str, str]:
    env = service_env(kafka, db_url, MOTCUA_QUEUE_SSE_MAX_SECONDS="3600")
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
    packaged = json.loads(DEFAULT_FILE.read_text(encoding="utf-8"))
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


@dataclass
class Ladder:
    procs: dict[str, Proc]
    http: HttpLoad  # metrics, by absolute URL
    kiosk: HttpLoad
    clerk: HttpLoad
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
            if await consumed(self.http, self.procs["notify"], "ticket.issued") >= (
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
    kafka = kafka_of(servers, "e2e")
    await ensure_topics(kafka)
    db_url = await new_database(servers, "e2e")
    figures: dict[str, Any] = {}

    say("baselines: raw aiokafka produce+consume (100k x 200 B) and raw asyncpg inserts…")
    raw_topic = f"{kafka.topic_prefix}raw"
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    await admin.create_topics([NewTopic(raw_topic, 4, 1)])
    await admin.close()
    figures["idempotent_producer"] = await takes_idempotence(kafka)
    figures |= await raw_kafka(
        kafka.bootstrap_servers, raw_topic, idempotent=figures["idempotent_producer"]
    )
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
    env = e2e_env(kafka, db_url, sink.url("/sms")) | {
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
        secret = AUTH_SECRET  # the services' secret for this run (service_env)
        auth = {
            center: {
                "Authorization": "Bearer "
                + issue_token(secret, center_id=center, subject="bench-clerk", role="clerk")
            }
            for center in CENTERS
        }
        poster = functools.partial(HttpLoad, connections=HTTP_CONNECTIONS, timeout=HTTP_TIMEOUT)
        async with (
            HttpLoad("", timeout=30) as http,
            poster(procs["queue"].url) as kiosk,
            poster(procs["intake"].url) as clerk,
        ):
            procedures = expect(await http.get(f"{procs['intake'].url}/v1/procedures"), 200).json()
            ladder = Ladder(
                procs,
                http,
                kiosk,
                clerk,
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
