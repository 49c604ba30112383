"""In JSON mode a service process writes nothing but JSON lines: its own, uvicorn's,
FastStream's and aiokafka's, errors and tracebacks included, without colour codes.

The intake service runs as ``python -m motcua.services.intake``, first against a broker
port where nothing listens (aiokafka's connection errors), then against the real broker
(FastStream's subscriber lines), and is sent a request that is not HTTP (uvicorn's
warning); then against a database where nothing listens, so that its start fails
(uvicorn's traceback)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from motcua.devtools.embedded import free_port
from motcua.devtools.services import ROOT
from motcua.shared.settings import KafkaSettings
from tests.support.process import ServiceProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow


def log_lines(log: Path) -> list[dict[str, Any]]:
    """Every non-empty line of ``log``, parsed; fails on the first that is not JSON."""
    parsed = []
    for line in log.read_text().splitlines():
        if not line.strip():
            continue
        assert "\x1b[" not in line, f"a colour code: {line!r}"
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line: {line!r}")
    return parsed


def logged_by(log: Path, prefix: str) -> Any:
    """A probe: has a logger whose name starts with ``prefix`` written to ``log``?"""

    async def probe() -> bool:
        return any(line["logger"].startswith(prefix) for line in log_lines(log))

    return probe


async def test_every_line_of_a_service_process_is_json(
    database_url: str,
    kafka_settings: KafkaSettings,
    tmp_path: Path,
) -> None:
    log = tmp_path / "intake.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",  # nothing listens there
        "MOTCUA_KAFKA_TOPIC_PREFIX": kafka_settings.topic_prefix,
        "MOTCUA_INTAKE_PORT": str(free_port()),
        "MOTCUA_LOG_FORMAT": "json",
    }
    # Each process is stopped on the way out, also when an assertion fails.
    async with contextlib.AsyncExitStack() as stops:
        # Not ready without its broker: started by hand, and stopped once aiokafka has
        # complained in the log.
        no_broker = ServiceProcess("intake", env, log, graceful=True)
        stops.push_async_callback(no_broker.stop)
        with log.open("ab") as out:
            no_broker.proc = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "motcua.services.intake"),
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                stdin=asyncio.subprocess.DEVNULL,
            )
        await eventually(logged_by(log, "aiokafka"), timeout=60, what="aiokafka's error logged")
        await no_broker.stop()

        env |= {
            "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
            "MOTCUA_KAFKA_SESSION_TIMEOUT_MS": str(kafka_settings.session_timeout_ms),
            "MOTCUA_KAFKA_HEARTBEAT_INTERVAL_MS": str(kafka_settings.heartbeat_interval_ms),
            "MOTCUA_INTAKE_PORT": str(free_port()),
        }
        service = ServiceProcess("intake", env, log, graceful=True)
        stops.push_async_callback(service.stop)
        await service.start()
        _, writer = await asyncio.open_connection("127.0.0.1", service.port)
        writer.write(b"\x16\x03\x01 this is not HTTP\r\n\r\n")
        await writer.drain()
        writer.close()
        await eventually(logged_by(log, "uvicorn.error"), what="uvicorn's warning logged")
        await service.stop()

    lines = log_lines(log)
    for line in lines:
        assert {"event", "level", "logger", "timestamp"} <= line.keys(), line
        assert line["service"] == "intake", line
    names = {line["logger"] for line in lines}
    assert any(n.startswith("aiokafka") for n in names), names
    assert any(n.startswith("faststream") for n in names), names
    assert any(n.startswith("motcua") for n in names), names
    assert "uvicorn.error" in names


async def test_a_start_that_fails_on_its_database_is_logged_in_json(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    log = tmp_path / "intake.log"
    env = {
        **os.environ,
        # Nothing listens there: the lifespan cannot open its pool and uvicorn gives up.
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/motcua",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "MOTCUA_INTAKE_PORT": str(free_port()),
        "MOTCUA_LOG_FORMAT": "json",
    }
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "motcua.services.intake"),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
        )
    try:
        assert await asyncio.wait_for(proc.wait(), 60) != 0
    finally:
        if proc.returncode is None:
            proc.kill()
    failures = [line for line in log_lines(log) if line["level"] == "error"]
    assert failures, log.read_text()
    # uvicorn logs the lifespan's traceback as its message, then that it gives up.
    from_uvicorn = " ".join(line["event"] for line in failures if line["logger"] == "uvicorn.error")
    assert "ConnectionRefusedError" in from_uvicorn, failures
    assert "Application startup failed" in from_uvicorn, failures
