"""Every ``motcua`` command the README lists works as typed against a running dev stack
(what ``make run`` starts), on the broker ``MOTCUA_TEST_BROKER`` names.

The commands are read from the README itself, so a command added there is run here too.
The stack runs on shifted ports (others may run ``make run`` on this machine); the
commands find it through the variables the README names for that, as a user pointing
them at another stack would. Nothing tells a command which broker it talks to.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from motcua.devtools.embedded import free_port
from motcua.devtools.services import SERVICES
from motcua.shared.auth import verify_token
from motcua.shared.settings import ServiceSettings
from tests.e2e.conftest import DevStack, motcua

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

pytestmark = pytest.mark.slow


def readme_lines() -> list[str]:
    """The lines of the README's shell blocks, comments dropped, in order."""
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    lines = (line.split("#", 1)[0].strip() for block in blocks for line in block.splitlines())
    return [line for line in lines if line]


def readme_commands() -> list[str]:
    """The ``motcua …`` lines of the README's shell blocks."""
    return [line for line in readme_lines() if line.startswith("motcua ")]


def readme_exports() -> dict[str, str]:
    """What the README's shell blocks ``export`` before the commands, as a shell would."""
    exported = (shlex.split(line)[1:] for line in readme_lines() if line.startswith("export "))
    return dict(item.split("=", 1) for items in exported for item in items)


def shell(stack: DevStack) -> dict[str, str]:
    """A user's shell that ran the README's exports, pointed at this stack; nothing tells
    it which broker it is."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MOTCUA_", "KAFKA_")) and k != "DATABASE_URL"
    }
    return (
        env
        | readme_exports()
        | {
            "DATABASE_URL": stack.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap,
            "MOTCUA_DEADLINES_URL": stack.urls["deadlines"],
        }
    )


@pytest.fixture
def stack(dev_stack: DevStack) -> DevStack:
    """The running stack (what ``make run`` starts; on shifted ports), shared with the
    other tests that only need one running."""
    return dev_stack


def run(stack: DevStack, line: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    args = shlex.split(line.replace("postgresql://…", stack.database_url))
    assert args[0] == "motcua"
    return subprocess.run(
        [*motcua(), *args[1:]],
        cwd=ROOT,
        env=shell(stack),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def serves_until_stopped(stack: DevStack, line: str) -> str:
    """``motcua run <service>`` serves in the foreground: ready, then a clean stop."""
    name = shlex.split(line)[2]
    port = free_port()
    proc = subprocess.Popen(
        [*motcua(), *shlex.split(line)[1:]],
        cwd=ROOT,
        env=shell(stack) | {f"MOTCUA_{name.upper()}_PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"{line}: not ready in 90 s"
            time.sleep(0.5)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["service"] == name
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    # uvicorn ends a clean stop by raising the signal it caught again.
    assert proc.returncode in (0, -signal.SIGTERM), out
    assert "service.stopped" in out, out
    return out


def test_every_readme_command_works_as_typed(stack: DevStack) -> None:
    lines = readme_commands()
    verbs = [shlex.split(line)[1] for line in lines]
    assert {"token", "simulate", "report", "migrate", "run", "topics", "kafka", "docs"} <= set(
        verbs
    ), lines
    assert verbs.index("simulate") < verbs.index("report")  # the report reads the replay
    secret = ServiceSettings().auth_secret.get_secret_value()
    for line in lines:
        verb = shlex.split(line)[1]
        if verb == "dev":
            continue  # the stack itself, running above
        if verb == "run":
            serves_until_stopped(stack, line)
            continue
        done = run(stack, line)
        said = done.stdout + done.stderr
        assert done.returncode == 0, f"{line}\n{said}"
        assert "Traceback" not in said, f"{line}\n{said}"
        if verb == "token":
            principal = verify_token(secret, done.stdout.strip())
            assert principal.center_id == "nam-cuong", line
        elif verb == "simulate":
            assert "The report equals the ground truth." in done.stdout, said
            assert "3,510 dossiers received, 3,450 resolved on time or early, 60 in progress" in (
                done.stdout
            ), said
        elif verb == "report":
            assert "3510" in done.stdout.replace(",", ""), said
        elif verb == "migrate":
            assert {ln.split(":")[0] for ln in done.stdout.splitlines()} == set(SERVICES), said
        elif verb == "topics":
            assert re.fullmatch(r"created \d+ topics", done.stdout.splitlines()[-1]), said
        elif verb == "kafka":
            assert Path(done.stdout.strip()).is_absolute(), said
        elif verb == "docs":
            assert done.stdout == "", said  # no drift
    assert stack.proc.poll() is None, stack.log.read_text()
