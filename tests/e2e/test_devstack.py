"""`motcua dev` (what `make run` starts): every service ready, then a clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from motcua.devtools.services import SERVICES
from tests.support.ports import free_stack_offset

ROOT = Path(__file__).resolve().parents[2]
READY_WITHIN = 180  # seconds, as for the README's stack (test_readme_commands)


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@pytest.mark.slow
def test_dev_stack_comes_up_ready_and_stops_without_orphans(tmp_path: Path) -> None:
    offset = free_stack_offset()
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")
    }
    # The stack's output goes to a file: a pipe nobody reads until the end would block the
    # stack once its buffer is full, and the test would wait on a stack that cannot start.
    log = tmp_path / "dev.out"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "motcua.devtools.cli", "dev",
             "--state-dir", str(tmp_path / "state"),
             "--pg-port", str(offset + 1), "--kafka-port", str(offset + 2),
             "--port-offset", str(offset), "--no-simulate"],
            cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    urls = {name: f"http://127.0.0.1:{svc.port + offset}" for name, svc in SERVICES.items()}
    try:
        # A deadline for "it comes up", not a speed goal: on two busy cores the start of
        # PostgreSQL, the broker and every service took more than a minute.
        started = time.monotonic()
        pending = set(urls)
        while pending and time.monotonic() - started < READY_WITHIN:
            assert proc.poll() is None, log.read_text(errors="replace")
            for name in list(pending):
                try:
                    if httpx.get(f"{urls[name]}/readyz", timeout=2).status_code == 200:
                        pending.discard(name)
                except httpx.HTTPError:
                    pass
            time.sleep(0.5)
        assert not pending, f"not ready within {READY_WITHIN} s: {sorted(pending)}"
        landing = httpx.get(f"http://127.0.0.1:{8000 + offset}/")
        assert landing.status_code == 200
        for url in urls.values():
            assert url in landing.text
        # The one-click sign-in: each click on a printed link mints a one-time code.
        landing_url = f"http://127.0.0.1:{8000 + offset}"
        leader = httpx.get(f"{landing_url}/sign-in/leader")
        assert leader.status_code == 303
        code_url = leader.headers["location"]
        assert code_url.startswith(f"{urls['deadlines']}/dashboard/sign-in/dev?code=")
        signed_in = httpx.get(code_url)
        assert signed_in.status_code == 200
        assert "motcua_dashboard_token=" in signed_in.headers["set-cookie"]
        assert httpx.get(code_url).status_code == 401  # spent
        clerk = httpx.get(f"{landing_url}/sign-in/clerk", follow_redirects=True)
        assert clerk.status_code == 200
        assert 'data-token="v1.' in clerk.text
        tree = descendants(proc.pid)
        assert len(tree) >= 6  # four services, PostgreSQL and the broker
        for name, url in urls.items():
            assert httpx.get(f"{url}/healthz").json()["service"] == name
            assert "# TYPE motcua_outbox_backlog gauge" in httpx.get(f"{url}/metrics").text
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    out = log.read_text(errors="replace")
    assert proc.returncode == 0, out
    assert "motcua is running" in out
    assert f"Sign in as dev-leader: http://127.0.0.1:{8000 + offset}/sign-in/leader" in out
    assert f"Sign in as dev-clerk: http://127.0.0.1:{8000 + offset}/sign-in/clerk" in out
    for url in urls.values():
        assert url in out
    _gone, alive = psutil.wait_procs(tree, timeout=10)
    assert alive == [], f"orphans left behind: {alive}"
    assert (tmp_path / "state" / "pg" / "PG_VERSION").exists()  # data survives for the next run
