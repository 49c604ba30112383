"""SIGKILL of the service process in the middle of firing, then a restart: every flag that
fell due, before or during the outage, is emitted, and none twice.

The service runs as ``python -m motcua.services.deadlines`` on real time. Its center gets a
round-the-clock calendar, so a 1-working-hour limit on a receipt backdated by about an
hour falls due seconds from now. (The outbox relay publishes at least once: a kill between
the broker's acknowledgement and the row's deletion may repeat a message with the same
event id, which consumers drop; the assertions count flags by event id and by flag.)
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import holidays
import httpx
import pytest

from motcua.devtools.bus import read_all
from motcua.devtools.embedded import free_port
from motcua.services.deadlines.calendars import default_config
from motcua.shared.auth import issue_token
from motcua.shared.settings import KafkaSettings
from tests.integration.deadlines.conftest import produce_events
from tests.integration.deadlines.support import Dossier
from tests.support.process import ServiceProcess
from tests.support.waiting import eventually

SECRET = "sigkill-test-secret"
N = 150
CENTER = "round-the-clock"

pytestmark = pytest.mark.slow


def deadlines_process(env: dict[str, str], log: Path) -> ServiceProcess:
    return ServiceProcess("deadlines", env, log, graceful=False)


@pytest.fixture
async def processes() -> AsyncIterator[list[ServiceProcess]]:
    started: list[ServiceProcess] = []
    yield started
    for p in started:
        await p.stop()


def round_the_clock() -> dict[str, Any]:
    """Every day one session 00:00-23:59:59, no holiday: working time is wall time."""
    years = range(datetime.now(UTC).year - 1, datetime.now(UTC).year + 2)
    listed = holidays.country_holidays("VN", years=years)
    days_off = [
        str(d["date"] if isinstance(d, dict) else d) for d in default_config()["extra_days_off"]
    ]
    day = [["00:00", "23:59:59"]]
    return {
        "weekly_sessions": dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), day),
        "make_up_day_sessions": day,
        "not_holidays": sorted(d.isoformat() for d in listed if isinstance(d, date)),
        "make_up_working_days": days_off,  # the center works the national extra days off
    }


async def test_sigkill_and_restart_miss_nothing_and_double_nothing(
    database_url: str,
    kafka_settings: KafkaSettings,
    processes: list[ServiceProcess],
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "MOTCUA_KAFKA_TOPIC_PREFIX": kafka_settings.topic_prefix,
        "MOTCUA_KAFKA_SESSION_TIMEOUT_MS": str(kafka_settings.session_timeout_ms),
        "MOTCUA_KAFKA_HEARTBEAT_INTERVAL_MS": str(kafka_settings.heartbeat_interval_ms),
        "MOTCUA_DEADLINES_PORT": str(free_port()),
        "MOTCUA_AUTH_SECRET": SECRET,
        "MOTCUA_LOG_FORMAT": "console",
        "MOTCUA_DEADLINES_APPROACHING_THRESHOLDS": '["50%"]',
        # Small batches and a short poll: many commits while the kill happens.
        "MOTCUA_DEADLINES_SCHEDULER_BATCH": "10",
        "MOTCUA_DEADLINES_SCHEDULER_POLL_SECONDS": "0.1",
    }
    first = deadlines_process(env, tmp_path / "service.log")
    processes.append(first)
    await first.start()
    token = issue_token(SECRET, center_id=CENTER, subject="test", role="admin")
    async with httpx.AsyncClient(base_url=first.url, timeout=30) as http:
        put = await http.put(
            f"/v1/centers/{CENTER}/calendar",
            json=round_the_clock(),
            headers={"Authorization": f"Bearer {token}"},
        )
        assert put.status_code == 200, put.text

    # Due from 6 s ago to 24 s ahead (room for a slow start under load); the 50% warnings
    # are half an hour in the past.
    now = datetime.now(UTC)
    dossiers = [Dossier(center_id=CENTER) for _ in range(N)]
    offsets = [timedelta(seconds=-6 + 30 * i / N) for i in range(N)]
    await produce_events(
        kafka_settings,
        *(
            d.received(now - timedelta(hours=1) + off, amount=1, unit="working_hours")
            for d, off in zip(dossiers, offsets, strict=True)
        ),
    )
    db = await asyncpg.connect(database_url)
    try:

        async def overdue() -> int:
            n: int = await db.fetchval(
                "SELECT count(*) FROM deadlines.flags WHERE kind = 'overdue'"
            )
            return n

        await eventually(overdue, until=lambda n: n >= N // 4, timeout=60, what="some overdue")
        await first.kill()
        killed_at = datetime.now(UTC)
        at_kill = await overdue()
        assert at_kill < N, "the kill should interrupt the firing"
        last_due = now + offsets[-1]
        assert last_due > killed_at  # flags fall due while no instance runs
        await eventually(
            lambda: _now_after(last_due + timedelta(seconds=1)), timeout=30, what="all due"
        )

        second = deadlines_process(env | {"MOTCUA_DEADLINES_PORT": str(free_port())}, first.log)
        processes.append(second)
        await second.start()

        async def flags() -> int:
            n: int = await db.fetchval("SELECT count(*) FROM deadlines.flags")
            return n

        await eventually(flags, until=lambda n: n >= 3 * N, timeout=60, what="every flag")
        topic = kafka_settings.topic_prefix + "deadline.events"
        messages = await eventually(
            lambda: read_all(kafka_settings.bootstrap_servers, topic),
            until=lambda ms: len({json.loads(m.value)["event_id"] for m in ms}) >= 3 * N,
            timeout=60,
            what="every flag on the bus",
        )
        assert await flags() == 3 * N
        assert await db.fetchval("SELECT count(*) FROM deadlines.outbox") == 0
    finally:
        await db.close()

    events = {json.loads(m.value)["event_id"]: json.loads(m.value) for m in messages}
    assert len(events) == 3 * N
    per_flag = Counter(
        (e["data"]["dossier_id"], e["event_type"], e["data"].get("due_at")) for e in events.values()
    )
    assert set(per_flag.values()) == {1}  # one event id per dossier, flag and due date
    per_dossier = Counter(e["data"]["dossier_id"] for e in events.values())
    assert per_dossier == dict.fromkeys((str(d.dossier_id) for d in dossiers), 3)
    assert Counter(e["event_type"] for e in events.values()) == {
        "deadline.set": N,
        "deadline.approaching": N,
        "deadline.overdue": N,
    }


async def _now_after(t: datetime) -> bool:
    return datetime.now(UTC) > t
