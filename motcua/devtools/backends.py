"""Which servers the tests and benchmarks use, in order: the environment, Docker, embedded.

1. ``DATABASE_URL`` / ``KAFKA_BOOTSTRAP_SERVERS`` if set;
2. testcontainers (PostgreSQL, Apache Kafka in KRaft mode) if a Docker engine answers;
3. otherwise the embedded PostgreSQL, and the embedded broker that
   ``MOTCUA_TEST_BROKER`` names: ``tansu`` (the default, from a PyPI wheel) or
   ``kafka`` (Apache Kafka in KRaft mode, from the jars ``make kafka`` fetches).

The choice is per server, so a machine with a local PostgreSQL and no broker
gets that PostgreSQL and an embedded broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import asyncpg

from motcua.shared.bus.kafka import ensure_topics
from motcua.shared.settings import KafkaSettings

Backend = Literal["env", "docker", "embedded"]
BrokerKind = Literal["tansu", "kafka"]

POSTGRES_IMAGE = "postgres:18-alpine"
KAFKA_IMAGE = "apache/kafka:3.9.1"


def docker_available(timeout: float = 2.0) -> bool:
    """Does a Docker engine answer? (A docker CLI without an engine does not count.)"""
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=int(timeout))
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def broker_kind(env: Mapping[str, str]) -> BrokerKind:
    """Which embedded broker the tests run on: ``MOTCUA_TEST_BROKER``, Tansu by default."""
    kind = env.get("MOTCUA_TEST_BROKER") or "tansu"
    if kind not in ("tansu", "kafka"):
        raise ValueError(f"MOTCUA_TEST_BROKER={kind!r}: choose tansu or kafka")
    return "kafka" if kind == "kafka" else "tansu"


def choose(env: Mapping[str, str], var: str, docker: Callable[[], bool]) -> Backend:
    if env.get(var):
        return "env"
    if env.get("MOTCUA_TEST_NO_DOCKER") != "1" and docker():
        return "docker"
    return "embedded"


@dataclass(frozen=True)
class Servers:
    postgres_url: str  # an admin URL; tests create their own databases from it
    kafka_bootstrap: str
    postgres_backend: Backend
    kafka_backend: Backend
    broker: BrokerKind = "tansu"  # what speaks Kafka's protocol: Tansu or Apache Kafka


@contextlib.contextmanager
def servers(env: Mapping[str, str], *, durable: bool = False) -> Iterator[Servers]:
    """Start (or find) one PostgreSQL and one broker for the whole test session.

    Tests run the embedded PostgreSQL without fsync (speed, nothing to keep);
    benchmarks pass ``durable=True`` so their figures include real commits.
    """
    memo: dict[str, bool] = {}

    def docker() -> bool:
        if "up" not in memo:
            memo["up"] = docker_available()
        return memo["up"]

    pg_backend = choose(env, "DATABASE_URL", docker)
    kafka_backend = choose(env, "KAFKA_BOOTSTRAP_SERVERS", docker)
    kind = broker_kind(env)
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="motcua-test-")))
        if pg_backend == "env":
            pg_url = env["DATABASE_URL"]
        elif pg_backend == "docker":
            from testcontainers.postgres import PostgresContainer

            pg = stack.enter_context(PostgresContainer(POSTGRES_IMAGE, driver=None))
            pg_url = pg.get_connection_url()
        else:
            from motcua.devtools.embedded import EmbeddedPostgres, free_port

            embedded_pg = EmbeddedPostgres(workdir / "pg", free_port(), durable=durable).start()
            stack.callback(embedded_pg.stop)
            pg_url = embedded_pg.url
        if kafka_backend == "env":
            bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
        elif kafka_backend == "docker":
            from testcontainers.kafka import KafkaContainer

            kafka = stack.enter_context(KafkaContainer(KAFKA_IMAGE).with_kraft())
            bootstrap = kafka.get_bootstrap_server()
        else:
            from motcua.devtools.embedded import embedded_broker, free_port

            broker = embedded_broker(kind, free_port(), workdir).start()
            stack.callback(broker.stop)
            bootstrap = broker.bootstrap
        if kafka_backend != "embedded":
            # A named server or a container: the broker says what it is (Tansu refuses
            # the idempotent producer), as it does to the services.
            kind = "kafka" if asyncio.run(_grants_producer_ids(bootstrap)) else "tansu"
        yield Servers(
            postgres_url=pg_url,
            kafka_bootstrap=bootstrap,
            postgres_backend=pg_backend,
            kafka_backend=kafka_backend,
            broker=kind,
        )


async def _grants_producer_ids(bootstrap: str) -> bool:
    from motcua.shared.bus.kafka import grants_producer_ids

    return await grants_producer_ids(KafkaSettings(bootstrap_servers=bootstrap))


def with_database(url: str, name: str) -> str:
    """``url`` with its database name replaced by ``name`` (the query string kept)."""
    base, _, rest = url.rpartition("/")
    query = rest.partition("?")[2]
    return f"{base}/{name}" + (f"?{query}" if query else "")


@contextlib.asynccontextmanager
async def fresh_database(servers: Servers, *, prefix: str = "t") -> AsyncIterator[str]:
    """A new, empty database on the server; dropped, connections and all, on exit.
    Every database fixture of the tests, whatever its scope, is one of these."""
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(servers.postgres_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield with_database(servers.postgres_url, name)
    finally:
        admin = await asyncpg.connect(servers.postgres_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def fresh_kafka(
    servers: Servers, *, quick_join: bool = True, prefix: str = "t"
) -> KafkaSettings:
    """Kafka settings with a topic prefix of their own; topics created.

    ``quick_join``: the embedded broker delays a group's first join by about half the
    session timeout; a shorter one keeps start-up quick without risking churn."""
    timeouts: dict[str, Any] = {"session_timeout_ms": 6_000, "heartbeat_interval_ms": 1_500}
    settings = KafkaSettings(
        bootstrap_servers=servers.kafka_bootstrap,
        topic_prefix=f"{prefix}{uuid.uuid4().hex[:10]}.",
        **(timeouts if quick_join else {}),
    )
    await ensure_topics(settings)
    return settings
