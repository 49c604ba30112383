"""Service processes for the benchmarks: started as in production, awaited until ready.

Every benchmark that measures a service runs it as its own ``python -m`` process
(its own event loop and interpreter, as deployed) on a free port, waits for its
``/readyz``, and stops it with SIGTERM so that its outbox drains. Also here: the
databases and topic prefixes each run gets afresh, and the CPU time of processes,
which is what the benchmarks report per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg

from bench.http_load import HttpLoad
from motcua.devtools.backends import Servers, with_database
from motcua.devtools.embedded import free_port
from motcua.shared.settings import KafkaSettings

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Proc:
    """One running service process."""

    name: str
    port: int
    process: asyncio.subprocess.Process
    log: Path | None
    tag: str = ""  # tells instances of one service apart in the figures

    @property
    def label(self) -> str:
        return self.tag or self.name

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
        return 0.0

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log else ""


async def start(name: str, env: Mapping[str, str], logs: Path | None = None) -> Proc:
    """``python -m motcua.services.<name>`` on a free port, its output in
    ``logs/<name>-<port>.log`` (discarded without ``logs``); not yet ready."""
    port = free_port()
    log = logs / f"{name}-{port}.log" if logs else None
    with open(log or os.devnull, "wb") as out:  # noqa: ASYNC230 (opening is instant)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", f"motcua.services.{name}",
            cwd=ROOT, env={**env, f"MOTCUA_{name.upper()}_PORT": str(port)},
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return Proc(name, port, process, log)


async def ready(procs: Iterable[Proc], timeout: float = 90) -> None:
    """Until every process answers ``/readyz`` with 200; a process that exits fails it."""
    pending = list(procs)
    deadline = time.monotonic() + timeout
    async with HttpLoad("", timeout=2) as http:
        while pending:
            for p in list(pending):
                if p.process.returncode is not None:
                    raise RuntimeError(f"{p.name} exited ({p.process.returncode}):\n{p.tail()}")
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    if (await http.get(f"{p.url}/readyz")).status == 200:
                        pending.remove(p)
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {timeout:g} s: {[p.name for p in pending]}")
            await asyncio.sleep(0.1)


async def stop(procs: Iterable[Proc]) -> None:
    """SIGTERM, then up to 30 s to finish (the outbox drains); killed after that."""
    live = [p for p in procs if p.process.returncode is None]
    for p in live:
        p.process.send_signal(signal.SIGTERM)
    for p in live:
        try:
            await asyncio.wait_for(p.process.wait(), 30)
        except TimeoutError:
            p.process.kill()
            await p.process.wait()


@contextlib.asynccontextmanager
async def running(
    name: str, env: Mapping[str, str], logs: Path | None = None
) -> AsyncIterator[Proc]:
    """One service process, ready, stopped on the way out."""
    proc = await start(name, env, logs)
    try:
        await ready([proc])
        yield proc
    finally:
        await stop([proc])


# ------------------------------------------------------------- run set-up


def kafka_of(servers: Servers, stem: str) -> KafkaSettings:
    """The run's broker settings, under a topic prefix of its own."""
    return KafkaSettings(
        bootstrap_servers=servers.kafka_bootstrap,
        topic_prefix=f"{stem}{uuid.uuid4().hex[:6]}.",
    )


def database_name(url: str) -> str:
    return url.rpartition("/")[2].partition("?")[0]


async def _admin(servers: Servers, statement: str) -> None:
    admin = await asyncpg.connect(servers.postgres_url)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


async def new_database(servers: Servers, stem: str) -> str:
    """A fresh, empty database for one run; its URL."""
    name = f"{stem}_{uuid.uuid4().hex[:8]}"
    await _admin(servers, f'CREATE DATABASE "{name}"')
    return with_database(servers.postgres_url, name)


async def drop_database(servers: Servers, url: str) -> None:
    await _admin(servers, f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


AUTH_SECRET = secrets.token_urlsafe(32)
"""The services' token secret for this run: made up at random, so no fixed value exists
to leak; the benchmarks sign their clerks' tokens with it."""


def service_env(kafka: KafkaSettings, db_url: str, **extra: str) -> dict[str, str]:
    """This process's environment plus what every service needs to find the servers."""
    return (
        dict(os.environ)
        | {
            "DATABASE_URL": db_url,
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "MOTCUA_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
            "MOTCUA_LOG_FORMAT": "json",
            "MOTCUA_DEV_MODE": "true",
            "MOTCUA_AUTH_SECRET": AUTH_SECRET,
        }
        | extra
    )


# ------------------------------------------------------------------ CPU time


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU time of a process (this one by default), from /proc (Linux)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def postgres_cpu_seconds(database: str) -> float:
    """CPU time of the local PostgreSQL backends serving ``database`` (0 if not local)."""
    total = 0.0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if f" {database} ".encode() in (proc / "cmdline").read_bytes():
                total += cpu_seconds(proc.name)
        except OSError:
            continue
    return total


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process, its reaped children and its live children (PostgreSQL's
    postmaster with its backends)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    total = sum(int(f) for f in fields[11:15]) / CLK_TCK  # utime stime cutime cstime
    for child in Path("/proc").iterdir():
        try:
            stat = (child / "stat").read_text()
        except (OSError, ValueError):
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[1] == str(pid):
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


@dataclass
class CpuMeter:
    """CPU time spent between ``start()`` and ``stop()`` by the services, by this
    (the load generator's) process and by the run database's PostgreSQL backends."""

    procs: Mapping[str, int]  # label -> pid
    database: str = ""
    _t0: dict[str, float] | None = None
    spent: dict[str, float] | None = None

    def _now(self) -> dict[str, float]:
        now = {label: cpu_seconds(pid) for label, pid in self.procs.items()}
        now["client"] = cpu_seconds()
        if self.database:
            now["postgres"] = postgres_cpu_seconds(self.database)
        return now

    def start(self) -> None:
        self._t0 = self._now()

    def stop(self) -> dict[str, float]:
        assert self._t0 is not None, "start() first"
        now = self._now()
        self.spent = {k: now[k] - self._t0[k] for k in now}
        return self.spent

    def ms_per(self, requests: int) -> dict[str, float]:
        """Milliseconds of CPU per request, by label."""
        assert self.spent is not None, "stop() first"
        return {k: round(v * 1000 / requests, 3) for k, v in self.spent.items()}


def broker_pid(kafka: KafkaSettings) -> int | None:
    """The local process of the (first) broker in ``kafka``'s bootstrap list, if any."""
    first = kafka.bootstrap_servers.split(",")[0]
    return listener_pid(int(first.rsplit(":", 1)[1]))


def listener_pid(port: int) -> int | None:
    """The local process listening on TCP ``port`` (a broker started by someone else:
    the test harness), from /proc; None if none is found (not local, or not Linux)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # local address is HEX_IP:HEX_PORT; state 0A is LISTEN
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in inodes:
                        return int(proc.name)
    return None
