"""The system under test: the five services as OS processes, on real servers.

By default the stack starts its own embedded PostgreSQL (durable, with fsync) and
broker, each behind a TCP proxy that a scenario can cut: a broker advertises its
proxy's port, so every client path (bootstrap, metadata, fetches, the relay's
produces, and between Kafka nodes the followers' fetches) goes through it. The
broker is one of:

* ``tansu``: the embedded Tansu broker, topics in memory;
* ``kafka``: one Apache Kafka node (KRaft combined mode), its log on disk;
* ``kafka-cluster``: three Apache Kafka nodes forming one KRaft quorum, every topic
  replicated three times with ``min.insync.replicas=2``, so that one node may fail.

Given the addresses of existing servers instead (the test suite's), it makes a
fresh database and topic prefix on them and runs without proxies: enough for
process faults and poison messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from motcua.devtools import bus
from motcua.devtools.backends import with_database
from motcua.devtools.devstack import migrate_all
from motcua.devtools.embedded import (
    ApacheKafka,
    EmbeddedKafka,
    EmbeddedPostgres,
    _die_with_parent,
    free_port,
    kafka_cluster,
)
from motcua.devtools.sinks import MessageSink
from motcua.devtools.tcpproxy import Background, TcpProxy
from motcua.shared.auth import issue_token
from motcua.shared.bus.kafka import ensure_topics
from motcua.shared.settings import KafkaSettings

ROOT = Path(__file__).resolve().parents[2]  # the checkout: services run from there
# The registry first: queue, intake and deadlines follow the centers it publishes.
SERVICES = ("registry", "queue", "intake", "deadlines", "notify")
CENTER = "nam-cuong"
AUTH_SECRET = "chaos-auth-secret-not-for-production"
CONTACT_KEY = "chaos-contact-key-not-for-production"
# Short group timings: the embedded broker delays a group's first join by about half
# the session timeout, and a stopped consumer is evicted after it.
SESSION_TIMEOUT_MS = 6_000
HEARTBEAT_INTERVAL_MS = 1_500
BROKERS = ("tansu", "kafka", "kafka-cluster")
CLUSTER_SIZE = 3

Broker = EmbeddedKafka | ApacheKafka


def token(center_id: str = CENTER, role: str = "clerk", subject: str = "chaos") -> str:
    return issue_token(AUTH_SECRET, center_id=center_id, subject=subject, role=role)  # type: ignore[arg-type]


@dataclass
class ServiceProcess:
    """``python -m motcua.services.<name>``, its output appended to one log file across restarts."""

    name: str
    instance: int
    port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def label(self) -> str:
        return self.name if self.instance == 1 else f"{self.name}#{self.instance}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        if self.alive:
            raise RuntimeError(f"{self.label} is already running")
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", f"motcua.services.{self.name}"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )
        self.starts += 1

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    async def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, in-flight work is cut wherever it is."""
        self.signal(signal.SIGKILL)
        if self.proc is not None:
            await asyncio.to_thread(self.proc.wait)

    async def stop(self, timeout: float = 30) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.signal(signal.SIGCONT)  # a stopped process cannot handle SIGTERM
        self.signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.to_thread(self.proc.wait), timeout)
        except TimeoutError:
            await self.kill()

    async def wait_ready(self, timeout: float = 120) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient(timeout=3) as client:
            while loop.time() < deadline:
                if not self.alive:
                    raise RuntimeError(f"{self.label} exited ({self.exit_code}); see its log")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.25)
        raise RuntimeError(f"{self.label} not ready after {timeout:.0f}s")

    @property
    def exit_code(self) -> int | None:
        return None if self.proc is None else self.proc.poll()


@dataclass
class Stack:
    """Servers, proxies, the message sink and the service processes of one chaos run."""

    workdir: Path
    postgres_url: str | None = None  # an admin URL of an existing server
    kafka_bootstrap: str | None = None  # an existing broker
    broker_kind: str = "tansu"  # one of BROKERS, when the stack starts its own
    bg: Background = field(default_factory=Background)
    pg: EmbeddedPostgres | None = None
    brokers: list[Broker] = field(default_factory=list)
    pg_proxy: TcpProxy | None = None
    broker_proxies: list[TcpProxy] = field(default_factory=list)  # one per broker, same order
    sink: MessageSink | None = None
    kafka: KafkaSettings | None = None
    db_url: str = ""  # direct, for checks (never through the proxy)
    service_db_url: str = ""  # what the services use (through the proxy, if any)
    processes: dict[str, ServiceProcess] = field(default_factory=dict)
    _dropped_database: str | None = None

    @property
    def owns_servers(self) -> bool:
        return self.postgres_url is None

    @property
    def kafka_proxy(self) -> TcpProxy | None:
        """The proxy of the only broker (None for a cluster or a broker not ours)."""
        return self.broker_proxies[0] if len(self.broker_proxies) == 1 else None

    @property
    def replication(self) -> int:
        return CLUSTER_SIZE if self.broker_kind == "kafka-cluster" else 1

    @property
    def logs(self) -> Path:
        return self.workdir / "logs"

    def url(self, service: str) -> str:
        return self.processes[service].url

    async def start(self) -> Stack:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        self.bg.start()
        await self._start_postgres()
        await self._start_kafka()
        assert self.kafka is not None
        await ensure_topics(self.kafka, replication=self.replication)
        await migrate_all(self.db_url)
        self.sink = await MessageSink(self.bg, delay=0.05).start()
        for name in SERVICES:
            self.add_process(name)
        for proc in self.processes.values():
            proc.start()
        await asyncio.gather(*(p.wait_ready() for p in self.processes.values()))
        return self

    async def _start_postgres(self) -> None:
        if self.postgres_url is None:
            self.pg = EmbeddedPostgres(self.workdir / "pg", free_port(), durable=True)
            await asyncio.to_thread(self.pg.start)
            admin, name = self.pg.url, "motcua"
            self.pg_proxy = await TcpProxy(self.pg.port, bg=self.bg).start()
        else:
            admin, name = self.postgres_url, f"chaos_{uuid.uuid4().hex[:12]}"
            self._dropped_database = name
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        self.db_url = with_database(admin, name)
        self.service_db_url = self.db_url
        if self.pg_proxy is not None:
            self.service_db_url = f"postgresql://postgres@127.0.0.1:{self.pg_proxy.port}/{name}"

    async def _start_kafka(self) -> None:
        if self.kafka_bootstrap is None:
            if self.broker_kind not in BROKERS:
                raise ValueError(f"unknown broker {self.broker_kind!r}: one of {BROKERS}")
            if self.broker_kind == "tansu":
                self.brokers = [EmbeddedKafka(free_port(), self.workdir)]
            elif self.broker_kind == "kafka":
                self.brokers = [ApacheKafka(free_port(), self.workdir / "kafka")]
            else:
                self.brokers = list(kafka_cluster(self.workdir / "cluster", CLUSTER_SIZE))
            # The proxies listen before the brokers start: Kafka nodes reach each other
            # through them (the advertised listener), and the brokers' ports never change,
            # so a restarted node is found where it was.
            for broker in self.brokers:
                proxy = await TcpProxy(broker.port, bg=self.bg).start()
                broker.advertised_port = proxy.port
                self.broker_proxies.append(proxy)
            await asyncio.gather(*(self.start_broker(b) for b in self.brokers))
            bootstrap = ",".join(f"127.0.0.1:{p.port}" for p in self.broker_proxies)
            prefix = ""
        else:
            bootstrap, prefix = self.kafka_bootstrap, f"chaos{uuid.uuid4().hex[:8]}."
        self.kafka = KafkaSettings(
            bootstrap_servers=bootstrap,
            topic_prefix=prefix,
            session_timeout_ms=SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
        )

    async def start_broker(self, broker: Broker, timeout: float = 180) -> None:
        """Start one of the stack's brokers (again, on its own port and log) and wait
        until it serves. A Kafka node is spawned before it is waited on, so that the
        nodes of a cluster started together (``gather``) all come up: a node alone has
        no quorum and would never become ready."""
        if isinstance(broker, ApacheKafka):
            await asyncio.to_thread(broker.start, timeout, wait=False)
            await asyncio.to_thread(broker.wait_ready, timeout)
        else:
            await asyncio.to_thread(broker.start, timeout)

    async def kill_broker(self, broker: Broker) -> None:
        """SIGKILL: the node writes nothing more, its log is left as it is."""
        if broker.proc is not None and broker.proc.poll() is None:
            broker.proc.kill()
            await asyncio.to_thread(broker.proc.wait)
        broker.stop()  # only closes the log file now

    async def stop_broker(self, broker: Broker, timeout: float = 120) -> None:
        """SIGTERM: a Kafka node hands its leaderships over before it exits."""
        await asyncio.to_thread(broker.stop, signal.SIGTERM, timeout)

    def environment(self, name: str, port: int) -> dict[str, str]:
        assert self.kafka is not None
        assert self.sink is not None
        env = os.environ | {
            "DATABASE_URL": self.service_db_url,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap_servers,
            "MOTCUA_KAFKA_TOPIC_PREFIX": self.kafka.topic_prefix,
            "MOTCUA_KAFKA_SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS),
            "MOTCUA_KAFKA_HEARTBEAT_INTERVAL_MS": str(HEARTBEAT_INTERVAL_MS),
            "MOTCUA_AUTH_SECRET": AUTH_SECRET,
            "MOTCUA_CONTACT_KEY": CONTACT_KEY,
            "MOTCUA_LOG_FORMAT": "json",
            "MOTCUA_DEV_MODE": "true",
            f"MOTCUA_{name.upper()}_PORT": str(port),
        }
        for var in ("MOTCUA_DB_URL", "MOTCUA_KAFKA_BOOTSTRAP_SERVERS"):
            env.pop(var, None)  # would win over the ones above
        if name == "notify":
            env |= {
                "MOTCUA_NOTIFY_CHANNELS": json.dumps({"sms": self.sink.url("/sms")}),
                # Every message goes out at once: quiet hours would hold them till morning.
                "MOTCUA_NOTIFY_QUIET_HOURS_START": "00:00",
                "MOTCUA_NOTIFY_QUIET_HOURS_END": "00:00",
                # A killed sender's messages go out again (same key) this soon.
                "MOTCUA_NOTIFY_LEASE_SECONDS": "10",
                "MOTCUA_NOTIFY_RETRY_BASE_SECONDS": "0.2",
                "MOTCUA_NOTIFY_RETRY_MAX_SECONDS": "3",
                "MOTCUA_NOTIFY_POLL_SECONDS": "0.2",
                "MOTCUA_NOTIFY_MAX_ATTEMPTS": "50",
            }
        if name == "queue":
            env |= {
                # The load takes tickets with contacts from one address, at a steady rate.
                "MOTCUA_QUEUE_CONTACT_TICKETS_BURST": "100000",
                "MOTCUA_QUEUE_RECIPIENT_TICKETS_BURST": "100000",
            }
        if name == "intake":
            env |= {
                # The load comes from one address; the limits are tested on their own.
                "MOTCUA_INTAKE_SUBMIT_RATE_PER_MINUTE": "100000",
                "MOTCUA_INTAKE_SUBMIT_BURST": "1000",
                # The load poses as the proxy in front of many clients.
                "MOTCUA_TRUSTED_PROXIES": "127.0.0.1,::1",
            }
        return env

    def add_process(self, name: str) -> ServiceProcess:
        """Declare another instance of ``name`` (not started)."""
        instance = 1 + sum(p.name == name for p in self.processes.values())
        port = free_port()
        proc = ServiceProcess(
            name,
            instance,
            port,
            self.environment(name, port),
            self.logs / f"{name}-{instance}.log",
        )
        self.processes[proc.label] = proc
        return proc

    async def remove_process(self, label: str) -> None:
        await self.processes[label].stop()
        del self.processes[label]

    async def restart_postgres(self) -> None:
        """Stop the embedded PostgreSQL (fast shutdown) and start it on the same data."""
        if self.pg is None:
            raise RuntimeError("only an embedded PostgreSQL can be restarted")
        await asyncio.to_thread(self.pg.stop)
        await asyncio.to_thread(self.pg.start)

    def log_files(self) -> list[Path]:
        return sorted(self.logs.glob("*.log"))

    async def stop(self) -> None:
        await asyncio.gather(*(p.stop() for p in self.processes.values()))
        if self._dropped_database is not None and self.postgres_url is not None:
            with contextlib.suppress(Exception):
                conn = await asyncpg.connect(self.postgres_url)
                try:
                    await conn.execute(
                        f'DROP DATABASE IF EXISTS "{self._dropped_database}" WITH (FORCE)'
                    )
                finally:
                    await conn.close()
        # Every node at once: a Kafka node stopping alone after its quorum has gone
        # waits a long time for it before giving up.
        await asyncio.gather(*(self.stop_broker(b, timeout=30) for b in self.brokers))
        if self.pg is not None:
            await asyncio.to_thread(self.pg.stop)
        self.bg.close()


async def quiet(stack: Stack) -> dict[str, int]:
    """What is still in flight: outbox rows, unsent deliveries, consumer lag."""
    assert stack.kafka is not None
    conn = await asyncpg.connect(stack.db_url)
    try:
        state = {
            f"{s}.outbox": int(await conn.fetchval(f'SELECT count(*) FROM "{s}".outbox'))
            for s in SERVICES
        }
        state["notify.unsent"] = int(
            await conn.fetchval(
                "SELECT count(*) FROM notify.deliveries WHERE status IN ('pending', 'sending')"
            )
        )
    finally:
        await conn.close()
    state |= {f"lag {g}": behind for g, (behind, _) in (await bus.lag(stack.kafka)).items()}
    return state
