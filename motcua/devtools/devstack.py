"""``motcua dev``: the whole system on one machine, embedded servers by default.

Starts PostgreSQL (data in ``./.motcua/pg``, kept across restarts) and a broker
unless external ones are given: Tansu by default (memory only), or Apache Kafka
with ``--broker kafka`` (its log in ``./.motcua/kafka``, kept across restarts).
Then it creates the topics, applies every service's migrations and runs each
service as its own OS process. Children also die with us if we are killed outright.

It supervises what it starts: a server or service that dies is reported in one line
and started again (a broker that comes back empty gets the relays' journals again,
see ``motcua.shared.bus.outbox``); past ``CRASH_LIMIT`` crashes within ``CRASH_WINDOW``
seconds the stack stops with a message naming what keeps failing.

Ctrl-C or SIGTERM stops in order. Every child runs in a process group of its own, so
a terminal's Ctrl-C reaches this launcher alone, which stops the services upstream
first (registry, queue, intake, deadlines, notify), each once its relay has published what it
committed (``DRAIN_SECONDS`` at most), so that the next still consumes what the last
one published; then the broker, then PostgreSQL. A second Ctrl-C hurries it.
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
from typing import Any

import asyncpg
import httpx

from motcua.devtools.embedded import (
    ApacheKafka,
    EmbeddedKafka,
    EmbeddedPostgres,
    _Child,
    _die_with_parent,
    embedded_broker,
)
from motcua.devtools.landing import SIGN_IN, serve_landing
from motcua.devtools.services import SERVICES
from motcua.shared import migrations
from motcua.shared.bus.kafka import ensure_topics
from motcua.shared.settings import KafkaSettings, ServiceSettings

# Upstream first: a service stops after every service whose events it consumes.
# The registry feeds queue, intake, deadlines and notify its centers, so it stops first.
STOP_ORDER = ["registry", *(name for name in SERVICES if name != "registry")]
CRASH_LIMIT = 5  # crashes of anything we started, within CRASH_WINDOW seconds
CRASH_WINDOW = 60.0
DRAIN_SECONDS = 5.0  # how long a service's relay gets to empty its outbox before SIGTERM
STOP_SECONDS = 20.0  # how long a service gets to stop before SIGKILL


class StackFailed(RuntimeError):
    """Something the stack started keeps dying."""


class _OwnGroup(_Child):
    """A child in a process group of its own: a terminal's Ctrl-C reaches only the
    launcher, which stops the children in order."""

    def _spawn(self, args: list[str], log_path: Path, **kwargs: Any) -> None:
        super()._spawn(args, log_path, process_group=0, **kwargs)


class _Postgres(_OwnGroup, EmbeddedPostgres):
    pass


class _Tansu(_OwnGroup, EmbeddedKafka):
    pass


class _Kafka(_OwnGroup, ApacheKafka):
    pass


def _broker(kind: str, port: int, state_dir: Path) -> EmbeddedKafka | ApacheKafka:
    if kind == "tansu":
        return _Tansu(port, state_dir)
    if kind == "kafka":
        return _Kafka(port, state_dir / "kafka")
    return embedded_broker(kind, port, state_dir)  # refuses the unknown kind


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
    # Five services, each migrating its schema and joining its consumer groups, on two
    # busy cores can take over a minute; a newcomer's first `make run` must not give up.
    ready_timeout: float = 180.0
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    pg: EmbeddedPostgres | None = None
    broker: EmbeddedKafka | ApacheKafka | None = None
    landing: ThreadingHTTPServer | None = None
    hurry: bool = False  # a second stop signal: skip the draining
    crashes: list[float] = field(default_factory=list)  # monotonic times
    _env: dict[str, str] = field(default_factory=dict)
    _kafka_settings: KafkaSettings | None = None

    @property
    def children(self) -> list[subprocess.Popen[bytes]]:
        return list(self.procs.values())

    @property
    def landing_url(self) -> str:
        return f"http://127.0.0.1:{8000 + self.port_offset}"

    def start(self) -> dict[str, str]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self.database_url is None:
            self.pg = _Postgres(self.state_dir / "pg", self.pg_port).start()
            admin = self.pg.url
            self.database_url = admin.rsplit("/", 1)[0] + "/motcua"
            asyncio.run(_ensure_database(admin, "motcua"))
        if self.kafka is None:
            self.broker = _broker(self.broker_kind, self.kafka_port, self.state_dir)
            self.broker.start()
            self.kafka = self.broker.bootstrap
        kafka = KafkaSettings(bootstrap_servers=self.kafka)
        self._kafka_settings = kafka
        asyncio.run(ensure_topics(kafka))
        asyncio.run(migrate_all(self.database_url))
        env = os.environ | {
            "DATABASE_URL": self.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka,
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
            "MOTCUA_INTAKE_VERIFY_URL": f"{urls['intake']}/verify",
            "MOTCUA_DEADLINES_QUEUE_URL": urls["queue"],
            "MOTCUA_QUEUE_CORS_ORIGINS": json.dumps([urls["deadlines"]]),
        }
        self._env = env
        for name in SERVICES:
            self.procs[name] = self._spawn_service(name)
        # The services read the same variable: the codes the landing page mints are theirs.
        secret = ServiceSettings(dev_mode=True).auth_secret.get_secret_value()
        self.landing = serve_landing(8000 + self.port_offset, urls, secret=secret)
        self.wait_ready(urls)
        if self.simulate:
            self._start_simulation(urls, kafka)
        return urls

    def _spawn_service(self, name: str) -> subprocess.Popen[bytes]:
        svc = SERVICES[name]
        port = svc.port + self.port_offset
        with open(self.state_dir / f"{svc.name}.log", "ab") as log:  # the child keeps its copy
            return subprocess.Popen(
                [sys.executable, "-m", svc.package],
                env=self._env | {f"MOTCUA_{svc.name.upper()}_PORT": str(port)},
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
                process_group=0,
            )

    def supervise(self) -> None:
        """Start again whatever died, with one line each; raise ``StackFailed`` once
        more than ``CRASH_LIMIT`` deaths fall within ``CRASH_WINDOW`` seconds."""
        if self.pg is not None and self.pg.proc is not None and self.pg.proc.poll() is not None:
            self._crashed("PostgreSQL", self.pg.proc.returncode, "starting it again")
            self.pg.stop()
            self.pg.start()
        broker = self.broker
        if broker is not None and broker.proc is not None and broker.proc.poll() is not None:
            self._crashed(
                "the broker",
                broker.proc.returncode,
                "starting it again; the services publish their journals to it again",
            )
            broker.stop()
            broker.start()
            if self._kafka_settings is not None:
                asyncio.run(ensure_topics(self._kafka_settings))
        for name, proc in list(self.procs.items()):
            if proc.poll() is not None:
                self._crashed(name, proc.returncode, "starting it again")
                self.procs[name] = self._spawn_service(name)

    def _crashed(self, what: str, code: int | None, action: str) -> None:
        now = time.monotonic()
        self.crashes = [t for t in self.crashes if now - t < CRASH_WINDOW] + [now]
        if len(self.crashes) > CRASH_LIMIT:
            raise StackFailed(
                f"{what} exited (code {code}); {len(self.crashes)} crashes within "
                f"{CRASH_WINDOW:g} s, so the stack stops: see {self.state_dir}/*.log"
            )
        print(f"motcua: {what} exited (code {code}); {action}", flush=True)

    def _start_simulation(self, urls: dict[str, str], kafka: KafkaSettings) -> None:
        from motcua.shared.settings import ServiceSettings
        from motcua.simulator.live import LiveSimulation

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
        """Upstream first, each service once its relay has published what it committed;
        then the broker, then PostgreSQL."""
        if self.landing is not None:
            self.landing.shutdown()
        for name in STOP_ORDER:
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            self._drain(name)
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(1 if self.hurry else STOP_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.broker is not None:
            self.broker.stop()
        if self.pg is not None:
            self.pg.stop()

    def _drain(self, name: str) -> None:
        """Wait, ``DRAIN_SECONDS`` at most, for the service's outbox to be empty. What
        is left is published at the next start (and a lost broker gets the journal)."""
        if self.database_url is None or self.hurry:
            return

        async def backlog() -> int:
            conn = await asyncpg.connect(self.database_url, timeout=2)
            try:
                return int(await conn.fetchval(f'SELECT count(*) FROM "{name}".outbox'))
            finally:
                await conn.close()

        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline and not self.hurry:
            try:
                if asyncio.run(backlog()) == 0:
                    return
            except Exception:  # no database to ask: nothing to wait for
                return
            time.sleep(0.1)


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
        if stop["now"]:
            stack.hurry = True  # asked twice: stop without waiting for the drain
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
        for link, (_, _, _, title) in SIGN_IN.items():
            print(f"  {title}: {stack.landing_url}{link}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        while not stop["now"]:
            stack.supervise()
            time.sleep(0.5)
        return 0
    except StackFailed as exc:
        print(f"motcua: {exc}", file=sys.stderr, flush=True)
        return 1
    except Exception as exc:
        print(f"motcua dev failed: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        print("motcua: stopping…", flush=True)
        stack.stop()
