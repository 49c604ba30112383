"""Two instances of the service on one database and one consumer group: the dossier
events split between them, both schedulers fire, and no flag is emitted twice."""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import asyncpg

from motcua.devtools.bus import read_all
from motcua.services.deadlines.app import create_app
from motcua.services.deadlines.settings import DeadlinesSettings
from motcua.services.deadlines.usecases import Deadlines
from tests.integration.deadlines.conftest import produce_events
from tests.integration.deadlines.support import Dossier, MovableClock
from tests.support.clock import vn
from tests.support.serving import serve
from tests.support.waiting import eventually

N = 300


async def test_two_instances_emit_each_flag_once(
    make_settings: Callable[..., Any], database_url: str
) -> None:
    clock = MovableClock(vn(2026, 3, 2, 8))
    # Small scheduler batches, so that both instances take turns many times.
    settings: DeadlinesSettings = make_settings(
        DeadlinesSettings, scheduler_poll_seconds=0.05, scheduler_batch=20
    )
    apps = [create_app(settings, clock=clock) for _ in range(2)]
    db = await asyncpg.connect(database_url)
    async with contextlib.AsyncExitStack() as stack:
        for app in apps:
            await stack.enter_async_context(serve(app))
        dossiers = [Dossier(center_id="pair") for _ in range(N)]
        await produce_events(settings.kafka, *(d.received(vn(2026, 3, 2, 9)) for d in dossiers))

        async def flags() -> int:
            count: int = await db.fetchval("SELECT count(*) FROM deadlines.flags")
            return count

        await eventually(flags, until=lambda n: n == N, what="every deadline.set", timeout=60)
        clock.set(vn(2026, 3, 9))  # all 3 x N warnings and overdue flags fall due at once
        await eventually(flags, until=lambda n: n == 4 * N, what="every flag", timeout=60)
        topic = settings.kafka.topic_prefix + "deadline.events"
        messages = await eventually(
            lambda: read_all(settings.kafka.bootstrap_servers, topic),
            until=lambda ms: len(ms) >= 4 * N,
            what="every flag on the bus",
            timeout=60,
        )
        claimed = []
        for app in apps:
            deadlines: Deadlines = app.state.deadlines
            assert deadlines.scheduler is not None
            claimed.append(deadlines.scheduler.claimed)
    await db.close()

    events = [json.loads(m.value) for m in messages]
    assert len(events) == 4 * N
    assert len({e["event_id"] for e in events}) == 4 * N
    per_flag = Counter(
        (e["data"]["dossier_id"], e["event_type"], e["data"].get("threshold")) for e in events
    )
    assert set(per_flag.values()) == {1}
    assert Counter(e["event_type"] for e in events) == {
        "deadline.set": N,
        "deadline.approaching": 2 * N,
        "deadline.overdue": N,
    }
    assert all(claimed), f"both schedulers should have fired some flags: {claimed}"
