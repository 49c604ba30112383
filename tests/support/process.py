"""A service as its own OS process (``python -m motcua.services.<name>``), for tests that
kill it mid-work; its output appended to one log file across restarts."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from motcua.devtools.embedded import free_port
from motcua.devtools.services import ROOT, answers_ready
from motcua.shared.settings import KafkaSettings
from tests.support.waiting import eventually


class ServiceProcess:
    """``graceful``: ``stop`` sends SIGTERM (the service drains) rather than SIGKILL."""

    def __init__(self, name: str, env: dict[str, str], log: Path, *, graceful: bool) -> None:
        self.name = name
        self.env = env
        self.log = log
        self.graceful = graceful
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def port(self) -> int:
        return int(self.env[f"MOTCUA_{self.name.upper()}_PORT"])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 90) -> None:
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                f"motcua.services.{self.name}",
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                stdin=asyncio.subprocess.DEVNULL,
            )

        async def ready() -> bool:
            assert self.proc is not None
            if self.proc.returncode is not None:
                raise AssertionError(f"{self.name} exited: {self.log.read_text()[-3000:]}")
            return await answers_ready(self.url)

        await eventually(ready, timeout=timeout, interval=0.2, what=f"{self.name} ready")

    async def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, in-flight work is cut wherever it is."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await asyncio.wait_for(self.proc.wait(), 10)

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        if not self.graceful:
            await self.kill()
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            await self.kill()


def service_env(name: str, database_url: str, kafka: KafkaSettings, **extra: str) -> dict[str, str]:
    """The environment of ``python -m motcua.services.<name>`` on the test's database and
    broker, on a free port, in dev mode, plus ``extra``."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "MOTCUA_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        f"MOTCUA_{name.upper()}_PORT": str(free_port()),
        "MOTCUA_DEV_MODE": "true",
        "MOTCUA_LOG_FORMAT": "console",
        **extra,
    }
