"""`motcua dev` on the embedded Tansu broker stopped right after a burst of receipts,
by Ctrl-C or by a power cut, then started again on the same state: every committed
dossier gets its legal clock once, and its citizen one notification.

Tansu keeps nothing across the stop, so what the relays had published and the
consumers had not applied reaches them only through the outbox journal (published
again on the broker's new bus epoch)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import IO

import asyncpg
import httpx
import psutil
import pytest

from motcua.devtools.services import SERVICES
from motcua.shared.auth import issue_token
from motcua.shared.settings import ServiceSettings
from tests.support.ports import free_stack_offset
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
BURST = 160  # dossiers; enough to have events in flight at the stop, small for 2 cores
CLERKS = 16  # concurrent clients


class Stack:
    """One `motcua dev --no-simulate` in a session (and process group) of its own."""

    def __init__(self, state: Path, offset: int) -> None:
        self.state = state
        self.offset = offset
        self.urls = {n: f"http://127.0.0.1:{s.port + offset}" for n, s in SERVICES.items()}
        self.database_url = f"postgresql://postgres@127.0.0.1:{offset + 1}/motcua"
        self.proc: subprocess.Popen[bytes] | None = None
        self.out: IO[bytes] | None = None

    def start(self) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "MOTCUA_BROKER")
        }
        self.out = (self.state.parent / "dev.out").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "motcua.devtools.cli", "dev", "--state-dir", str(self.state),
             "--pg-port", str(self.offset + 1), "--kafka-port", str(self.offset + 2),
             "--port-offset", str(self.offset), "--no-simulate", "--broker", "tansu"],
            cwd=ROOT, env=env, stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def output(self) -> str:
        return (self.state.parent / "dev.out").read_text(errors="replace")

    async def ready(self, timeout: float = 90) -> None:
        pending = set(self.urls)
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as client:
            while pending:
                assert self.proc is not None
                assert self.proc.poll() is None, self.output()[-3000:]
                assert time.monotonic() < deadline, f"not ready: {pending}\n{self.output()[-3000:]}"
                for name in list(pending):
                    try:
                        if (await client.get(f"{self.urls[name]}/readyz")).status_code == 200:
                            pending.discard(name)
                    except httpx.HTTPError:
                        pass
                await asyncio.sleep(0.3)

    def stop(self, sig: int) -> int:
        """Ctrl-C (SIGINT to the process group), or a power cut: SIGKILL to the process
        group and to every process below it at once (its children have groups of their
        own, so that a terminal's Ctrl-C reaches only the launcher)."""
        assert self.proc is not None
        tree = psutil.Process(self.proc.pid).children(recursive=True)
        os.killpg(self.proc.pid, sig)
        if sig == signal.SIGKILL:
            for p in tree:
                with contextlib.suppress(psutil.NoSuchProcess):
                    p.kill()
        code = self.proc.wait(120)
        _gone, alive = psutil.wait_procs(tree, timeout=30)
        assert alive == [], f"left running: {alive}"
        if self.out is not None:
            self.out.close()
        return code

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.stop(signal.SIGKILL)


async def receive_burst(intake_url: str, n: int) -> list[uuid.UUID]:
    """``n`` dossiers received at the counter by ``CLERKS`` concurrent clerks, each with
    an e-mail contact and consent; the ids of those answered 201."""
    secret = ServiceSettings().auth_secret.get_secret_value()
    received: list[uuid.UUID] = []
    todo = list(range(n))

    async def clerk(c: int, client: httpx.AsyncClient) -> None:
        token = issue_token(secret, center_id="nam-cuong", subject=f"clerk-{c}", role="clerk")
        while todo:
            i = todo.pop()
            r = await client.post(
                f"{intake_url}/v1/dossiers",
                json={
                    "procedure_code": "CUTRU-TAMTRU",
                    "contact": {"kind": "email", "value": f"citizen{i}@example.vn"},
                    "consent_notifications": True,
                },
                headers={"Authorization": f"Bearer {token}"},
            )
            assert r.status_code == 201, r.text
            received.append(uuid.UUID(r.json()["dossier"]["id"]))

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(clerk(c, client) for c in range(CLERKS)))
    return received


async def outcome(database_url: str, ids: list[uuid.UUID]) -> dict[str, int]:
    conn = await asyncpg.connect(database_url)
    try:
        clocks = await conn.fetchval(
            "SELECT count(*) FROM deadlines.clocks"
            " WHERE dossier_id = ANY($1) AND due_at IS NOT NULL",
            ids,
        )
        sent = await conn.fetchval(
            "SELECT count(*) FROM notify.deliveries"
            " WHERE subject_id = ANY($1) AND kind = 'dossier_received' AND status = 'sent'",
            ids,
        )
        deliveries = await conn.fetchval(
            "SELECT count(*) FROM notify.deliveries"
            " WHERE subject_id = ANY($1) AND kind = 'dossier_received'",
            ids,
        )
        sent_twice = await conn.fetchval(
            "SELECT count(*) FROM (SELECT d.id FROM notify.deliveries d"
            " JOIN notify.delivery_attempts a ON a.delivery_id = d.id"
            " WHERE d.subject_id = ANY($1) AND a.outcome = 'sent'"
            " GROUP BY d.id HAVING count(*) > 1) twice",
            ids,
        )
        replayed = await conn.fetchval(
            "SELECT count(*) FROM intake.outbox_journal j WHERE j.event_type = 'dossier.received'"
        )
    finally:
        await conn.close()
    return {
        "clocks": clocks,
        "sent": sent,
        "deliveries": deliveries,
        "sent_twice": sent_twice,
        "journal": replayed,
    }


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "power-cut"])
async def test_a_stop_right_after_a_burst_loses_no_dossier(tmp_path: Path, how: int) -> None:
    stack = Stack(tmp_path / "state", free_stack_offset())
    stack.start()
    try:
        await stack.ready()
        ids = await receive_burst(stack.urls["intake"], BURST)
        assert len(ids) == BURST
        code = stack.stop(how)  # right after the last 201
        if how == signal.SIGINT:
            assert code == 0, stack.output()[-3000:]

        stack.start()
        await stack.ready()
        done = await eventually(
            lambda: outcome(stack.database_url, ids),
            until=lambda o: o["clocks"] == BURST and o["sent"] == BURST,
            timeout=120,
            interval=0.5,
            what="every dossier's clock and notification",
        )
    finally:
        stack.kill()
    assert done["deliveries"] == BURST  # one notification per dossier, none twice
    assert done["sent_twice"] == 0
    assert done["journal"] == BURST  # each receipt published once by intake, kept


def child(stack: Stack, marker: str) -> psutil.Process:
    """The stack's process whose command line contains ``marker``."""
    assert stack.proc is not None
    for p in psutil.Process(stack.proc.pid).children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            if marker in " ".join(p.cmdline()):
                return p
    raise AssertionError(f"no process runs {marker!r}")


async def said(stack: Stack, line: str) -> str:
    return await eventually(
        lambda: asyncio.to_thread(stack.output), until=lambda out: line in out, timeout=60
    )


@pytest.mark.slow
async def test_the_stack_restarts_a_dead_broker_or_service_then_gives_up(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "state", free_stack_offset())
    stack.start()
    try:
        await stack.ready()
        ids = await receive_burst(stack.urls["intake"], 40)
        child(stack, "--listener-url").kill()  # the broker, with all it held
        await said(stack, "motcua: the broker exited (code -9); starting it again")
        await stack.ready()
        ids += await receive_burst(stack.urls["intake"], 40)
        await eventually(
            lambda: outcome(stack.database_url, ids),
            until=lambda o: o["clocks"] == 80 and o["sent"] == 80,
            # A deadline for "nothing lost", not a speed goal: after the broker's restart
            # the five services reconnect, and on two busy cores notify's catch-up has
            # taken longer than two minutes.
            timeout=300,
            interval=0.5,
            what="clocks and notifications across the broker's restart",
        )

        child(stack, "-m motcua.services.deadlines").kill()
        await said(stack, "motcua: deadlines exited (code -9); starting it again")
        await stack.ready()

        # Past five crashes within a minute the stack stops, and says why.
        launcher = stack.proc
        assert launcher is not None
        killed: set[int] = set()

        async def next_notify() -> psutil.Process | None:
            with contextlib.suppress(AssertionError):
                found = child(stack, "-m motcua.services.notify")
                return None if found.pid in killed else found
            return None

        for _ in range(10):
            found = await eventually(
                next_notify,
                until=lambda p: p is not None or launcher.poll() is not None,
                what="notify started again",
            )
            if found is None:
                break  # the launcher has given up
            killed.add(found.pid)
            with contextlib.suppress(psutil.NoSuchProcess):
                found.kill()
        code = await asyncio.to_thread(launcher.wait, 120)
    finally:
        stack.kill()
    assert code == 1
    assert "crashes within 60 s, so the stack stops" in stack.output()
