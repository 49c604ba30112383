"""The full Nam Cường replay: 3,510 dossiers through intake and deadlines, each
service in its own process, timed, and checked against the ground truth."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from shared.bus.kafka import ensure_topics
from shared.embedded import free_port
from shared.settings import KafkaSettings, ServiceSettings
from simulator.replay import render, replay
from simulator.workload import nam_cuong_2025
from tests.support.backends import Servers

ROOT = Path(__file__).resolve().parent.parent


async def _start(name: str, env: dict[str, str], port: int) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", f"services.{name}",
        cwd=ROOT, env=env | {f"MOTCUA_{name.upper()}_PORT": str(port)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            try:
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return proc
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{name} did not become ready")


async def run(servers: Servers) -> dict[str, Any]:
    kafka = KafkaSettings(
        bootstrap_servers=servers.kafka_bootstrap,
        embedded=servers.kafka_embedded,
        topic_prefix=f"replay{uuid.uuid4().hex[:6]}.",
    )
    await ensure_topics(kafka)
    db = f"replay_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(servers.postgres_url)
    await admin.execute(f'CREATE DATABASE "{db}"')
    await admin.close()
    env = os.environ | {
        "DATABASE_URL": servers.postgres_url.rsplit("/", 1)[0] + f"/{db}",
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "MOTCUA_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "MOTCUA_KAFKA_EMBEDDED": "true" if kafka.embedded else "false",
        "MOTCUA_LOG_FORMAT": "json",
    }
    deadlines_port = free_port()
    procs = [
        await _start("intake", env, free_port()),
        await _start("deadlines", env, deadlines_port),
    ]
    try:
        started = time.perf_counter()
        scenario = nam_cuong_2025()
        report, truth = await replay(
            scenario,
            seed=2025,
            kafka=kafka,
            deadlines_url=f"http://127.0.0.1:{deadlines_port}",
            auth_secret=ServiceSettings().auth_secret.get_secret_value(),
            timeout=600,
            say=lambda line: print("   " + line, flush=True),
        )
        seconds = time.perf_counter() - started
        print(render(report, truth, "2025-11-27 17:00"), flush=True)
        return {
            "replay_dossiers": len(scenario.plans),
            "replay_seconds": round(seconds, 1),
            "replay_dossiers_per_s": round(len(scenario.plans) / seconds),
            "replay_report_equals_truth": report == truth,
            "replay_received": report["received"],
            "replay_resolved_on_time_or_early": report["resolved_early"]
            + report["resolved_on_time"],
            "replay_in_progress": report["in_progress_within_deadline"]
            + report["in_progress_overdue"],
        }
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            await asyncio.wait_for(p.wait(), 30)
