"""One ``motcua dev`` stack for the end-to-end tests that only use a running system.

Starting one takes most of a minute on a loaded machine. The README's commands and the
clerk-app client both need just a running stack (no simulation, nothing stopped or
killed), and each works with data of its own, so they share one. The tests that stop,
kill or restore a stack start their own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from motcua.devtools.backends import broker_kind
from motcua.devtools.services import SERVICES
from tests.support.ports import free_stack_offset

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class DevStack:
    proc: subprocess.Popen[str]
    urls: dict[str, str]  # each service's base URL, by name
    database_url: str
    bootstrap: str
    log: Path
    env: dict[str, str]  # the environment the stack was started with


def motcua() -> list[str]:
    """The installed ``motcua`` script beside this interpreter, as a user types it."""
    script = Path(sys.executable).with_name("motcua")
    return [str(script)] if script.exists() else [sys.executable, "-m", "motcua.devtools.cli"]


class _Shared:
    """The shared stack: started by the first test that asks for it, stopped after the
    last one (a package-scoped fixture would keep it running beside the stacks of the
    package's other tests, on a machine with few cores)."""

    def __init__(self) -> None:
        self.stack: DevStack | None = None
        self._state: tempfile.TemporaryDirectory[str] | None = None
        self._running: Iterator[DevStack] | None = None

    def get(self) -> DevStack:
        if self.stack is None:
            # Not under pytest's base temp: a pytest starting meanwhile makes that private
            # again, and the embedded PostgreSQL runs as its own user when run as root.
            self._state = tempfile.TemporaryDirectory(prefix="motcua-e2e-")
            self._running = _running_stack(Path(self._state.name))
            try:
                self.stack = next(self._running)
            except BaseException:
                self.stop()
                raise
        return self.stack

    def stop(self) -> None:
        if self._running is not None:
            self._running.close()  # its ``finally``: SIGTERM, then wait for the stop
        if self._state is not None:
            self._state.cleanup()
        self.stack, self._state, self._running = None, None, None


_shared = _Shared()


def _uses_stack(item: pytest.Item | None) -> bool:
    return "dev_stack" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the tests on the shared stack one after another, where the first of them was."""
    users = [item for item in items if _uses_stack(item)]
    if not users:
        return
    first = items.index(users[0])
    shared = set(users)
    rest = [item for item in items if item not in shared]
    items[:] = [*rest[:first], *users, *rest[first:]]


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if _uses_stack(item) and not _uses_stack(nextitem):
        _shared.stop()


def pytest_sessionfinish() -> None:
    _shared.stop()  # an interrupted or failed run


@pytest.fixture
def dev_stack() -> DevStack:
    return _shared.get()


def _running_stack(state: Path) -> Iterator[DevStack]:
    # Shifted ports: others may run `make run` on this machine. The stack runs on the broker
    # MOTCUA_TEST_BROKER names (Tansu by default), and finds its own servers.
    offset = free_stack_offset()
    pg_port, kafka_port = offset + 1, offset + 2
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "MOTCUA_BROKER")
    }
    log = state / "dev.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*motcua(), "dev", "--state-dir", str(state / "s"), "--broker", broker_kind(os.environ),
             "--pg-port", str(pg_port), "--kafka-port", str(kafka_port),
             "--port-offset", str(offset), "--no-simulate"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    urls = {name: f"http://127.0.0.1:{svc.port + offset}" for name, svc in SERVICES.items()}
    running = DevStack(
        proc,
        urls,
        f"postgresql://postgres@127.0.0.1:{pg_port}/motcua",
        f"127.0.0.1:{kafka_port}",
        log,
        env,
    )
    try:
        deadline = time.monotonic() + 180
        while not ("motcua is running" in log.read_text() and _all_ready(urls)):
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"not running in 180 s:\n{log.read_text()}"
            time.sleep(0.5)
        yield running
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=90)


def _all_ready(urls: dict[str, str]) -> bool:
    try:
        answers = [httpx.get(f"{url}/readyz", timeout=2) for url in urls.values()]
    except httpx.HTTPError:
        return False
    return all(a.status_code == 200 for a in answers)
