"""``motcua dev``: the whole system on one machine, embedded servers by default.

Starts PostgreSQL (data in ``./.motcua/pg``, kept across restarts) and a broker
unless external ones are given: Tansu by default (memory only), or Apache Kafka
with ``--broker kafka`` (its log in ``./.motcua/kafka``, kept across restarts).
Then it creates the topics, applies every service's migrations and runs each
service as its own OS process. Ctrl-C or SIGTERM stops everything; children
also die with us if we are killed outright.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path

import asyncpg
import httpx

from shared import migrations
from shared.bus.kafka import ensure_topics
from shared.embedded import (
    ApacheKafka,
    EmbeddedKafka,
    EmbeddedPostgres,
    _die_with_parent,
    embedded_broker,
)
from shared.landing import serve_landing
from shared.services import SERVICES
from shared.settings import KafkaSettings


@dataclass
class DevStack:
    database_url: str | None = None
    kafka: str | None = None
    state_dir: Path = field(default_factory=lambda: Path(".motcua"))
    pg_port: int = 15432
    kafka_port: int = 19092
    broker_kind: str = "tansu"  # the embedded broker when no --kafka is given
    port_offset: int = 0
    simulate: bool = False
    speed: float = 60.0
    ready_timeout: float = 60.0
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)
    pg: EmbeddedPostgres | None = None
    broker: EmbeddedKafka | ApacheKafka | None = None
    landing: ThreadingHTTPServer | None = None

    @property
    def landing_url(self) -> str:
        return f"http://127.0.0.1:{8000 + self.port_offset}"

    def start(self) -> dict[str, str]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self.database_url is None:
            self.pg = EmbeddedPostgres(self.state_dir / "pg", self.pg_port).start()
            admin = self.pg.url
            self.database_url = admin.rsplit("/", 1)[0] + "/motcua"
            asyncio.run(_ensure_database(admin, "motcua"))
        # Tansu answers a waiting fetch late, so consumers wait less at it.
        embedded = self.kafka is None and self.broker_kind == "tansu"
        if self.kafka is None:
            self.broker = embedded_broker(self.broker_kind, self.kafka_port, self.state_dir)
            self.broker.start()
            self.kafka = self.broker.bootstrap
        kafka = KafkaSettings(bootstrap_servers=self.kafka, embedded=embedded)
        asyncio.run(ensure_topics(kafka))
        asyncio.run(migrate_all(self.database_url))
        env = os.environ | {
            "DATABASE_URL": self.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka,
            "MOTCUA_KAFKA_EMBEDDED": "true" if embedded else "false",
            "MOTCUA_LOG_FORMAT": os.environ.get("MOTCUA_LOG_FORMAT", "console"),
            "MOTCUA_DEV_MODE": "true",
            "MOTCUA_NOTIFY_DEV_INBOX": "true",
        }
        urls = {n: f"http://127.0.0.1:{s.port + self.port_offset}" for n, s in SERVICES.items()}
        # Browsers reach one service's pages from another's: tell each where the others are.
        env |= {
            "MOTCUA_QUEUE_INTAKE_URL": urls["intake"],
            "MOTCUA_INTAKE_CORS_ORIGINS": json.dumps([urls["queue"]]),
            "MOTCUA_INTAKE_LOOKUP_URL": f"{urls['intake']}/lookup",
            "MOTCUA_DEADLINES_QUEUE_URL": urls["queue"],
            "MOTCUA_QUEUE_CORS_ORIGINS": json.dumps([urls["deadlines"]]),
        }
        for svc in SERVICES.values():
            port = svc.port + self.port_offset
            log = open(self.state_dir / f"{svc.name}.log", "ab")  # noqa: SIM115
            self.children.append(
                subprocess.Popen(
                    [sys.executable, "-m", svc.package],
                    env=env | {f"MOTCUA_{svc.name.upper()}_PORT": str(port)},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    preexec_fn=_die_with_parent,
                )
            )
        self.landing = serve_landing(8000 + self.port_offset, urls)
        self.wait_ready(urls)
        if self.simulate:
            self._start_simulation(urls, kafka)
        return urls

    def _start_simulation(self, urls: dict[str, str], kafka: KafkaSettings) -> None:
        from shared.settings import ServiceSettings
        from simulator.live import LiveSimulation

        sim = LiveSimulation(
            queue_url=urls["queue"],
            intake_url=urls["intake"],
            kafka=kafka,
            auth_secret=ServiceSettings().auth_secret.get_secret_value(),
            factor=self.speed,
        )
        # Its own thread and loop: the launcher's main thread only watches children.
        threading.Thread(
            target=lambda: asyncio.run(sim.run()), name="simulation", daemon=True
        ).start()
        print(f"  simulation: on, time x{self.speed:g} (--no-simulate turns it off)", flush=True)

    def wait_ready(self, urls: dict[str, str]) -> None:
        deadline = time.monotonic() + self.ready_timeout
        pending = dict(urls)
        while pending and time.monotonic() < deadline:
            for name, url in list(pending.items()):
                try:
                    if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                        del pending[name]
                        print(f"  ready: {name:<10} {url}", flush=True)
                except httpx.HTTPError:
                    pass
            for child in self.children:
                if child.poll() is not None:
                    raise RuntimeError(
                        f"a service exited early (code {child.returncode}); "
                        f"see {self.state_dir}/*.log"
                    )
            time.sleep(0.3)
        if pending:
            raise RuntimeError(f"not ready after {self.ready_timeout}s: {', '.join(pending)}")

    def stop(self) -> None:
        if self.landing is not None:
            self.landing.shutdown()
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self.children:
            try:
                child.wait(20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if self.broker is not None:
            self.broker.stop()
        if self.pg is not None:
            self.pg.stop()


async def _ensure_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def migrate_all(database_url: str, names: list[str] | None = None) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    conn = await asyncpg.connect(database_url)
    try:
        for name in names or list(SERVICES):
            svc = SERVICES[name]
            applied[name] = await migrations.apply(conn, name, migrations.plan(svc.migrations))
    finally:
        await conn.close()
    return applied


def run_dev(stack: DevStack) -> int:
    stop = {"now": False}

    def on_signal(signum: int, _: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    _die_with_parent()
    try:
        print("motcua: starting the embedded stack…", flush=True)
        urls = stack.start()
        print(f"\nmotcua is running: open {stack.landing_url}", flush=True)
        for name, url in urls.items():
            print(f"  {name:<10} {url}   (API docs {url}/docs)", flush=True)
        print(f"  database   {stack.database_url}\n  kafka      {stack.kafka}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        while not stop["now"]:
            for child in stack.children:
                if child.poll() is not None:
                    print(f"a service exited (code {child.returncode}); stopping", flush=True)
                    stop["now"] = True
            time.sleep(0.5)
        return 0
    except Exception as exc:
        print(f"motcua dev failed: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        print("motcua: stopping…", flush=True)
        stack.stop()
