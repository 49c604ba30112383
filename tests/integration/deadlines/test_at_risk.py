"""The breach forecast on the real database and broker: what resolved dossiers teach,
the ranked list, and ``deadline.at_risk`` published once by two instances."""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import asyncpg

from motcua.devtools.bus import read_all
from motcua.services.deadlines.app import create_app
from motcua.services.deadlines.forecast import Reason
from motcua.services.deadlines.repository import forecast as store
from motcua.services.deadlines.risks import ForecastPolicy, assess_center, sweep_center
from motcua.services.deadlines.settings import DeadlinesSettings
from motcua.services.deadlines.usecases import Deadlines
from motcua.shared.calendar import WorkingCalendar
from tests.integration.deadlines.conftest import produce_events
from tests.integration.deadlines.support import Dossier, MovableClock, apply, outbox_events
from tests.support.clock import vn
from tests.support.serving import serve
from tests.support.waiting import eventually

CAL = WorkingCalendar.default()
HISTORY = 10
N = 40


def history(center_id: str) -> list[Dossier]:
    return [Dossier(center_id=center_id) for _ in range(HISTORY)]


def late_history_events(dossiers: list[Dossier]) -> list[Any]:
    # Received Monday 2 March 2026 09:00 with 3 working days (due Thursday 09:00), resolved
    # Friday 16:00: Monday 6 h + Tuesday to Thursday 22 h 30 + Friday 6 h 30 = 35 working
    # hours of work each.
    events = []
    for d in dossiers:
        events += [d.received(vn(2026, 3, 2, 9)), d.resolved(vn(2026, 3, 6, 16))]
    return events


async def test_resolved_dossiers_teach_once_and_rank_the_open_ones(
    conn: asyncpg.Connection,
) -> None:
    past = history("hoc")
    events = late_history_events(past)
    await apply(conn, *events)
    await apply(conn, *events)  # a redelivery teaches nothing twice
    rows = await conn.fetch("SELECT working_seconds FROM forecast_durations")
    assert [r[0] for r in rows] == [35 * 3600] * HISTORY

    # Monday 9 March 09:00 and Tuesday 08:00, two dossiers with 3 working days (due at the
    # close of the third working day after receipt). On Tuesday at 09:00 the first has used
    # 7 h 30 (Monday from 09:00, Tuesday from 07:30) and has 21 h left; every past case
    # needed 27 h 30 more: late in all ten,
    # (10 + .5) / (10 + 1). The second has used 1 h and has 28 h 30 left against 34 h more:
    # as likely, but with more time left it ranks second.
    early, later = Dossier(center_id="hoc"), Dossier(center_id="hoc")
    await apply(conn, early.received(vn(2026, 3, 9, 9)), later.received(vn(2026, 3, 10, 8)))
    ranked, _ = await assess_center(conn, "hoc", vn(2026, 3, 10, 9), CAL, ForecastPolicy())
    assert [a.clock.dossier_id for a in ranked] == [early.dossier_id, later.dossier_id]
    top = ranked[0].risk
    assert top.probability == round(10.5 / 11, 4)
    assert (top.elapsed_seconds, top.working_seconds_left) == (27000, 21 * 3600)
    assert ranked[1].risk.probability == top.probability
    assert ranked[1].risk.working_seconds_left == 28 * 3600 + 1800
    assert top.reason is Reason.TIME

    # A center with open dossiers but nothing finished says so instead of guessing.
    await apply(conn, Dossier(center_id="moi").received(vn(2026, 3, 9, 9)))
    fresh, _ = await assess_center(conn, "moi", vn(2026, 3, 10, 9), CAL, ForecastPolicy())
    assert [(a.risk.probability, a.risk.reason) for a in fresh] == [(0.0, Reason.NO_HISTORY)]


async def test_the_sweep_publishes_once_and_samples_the_backlog(conn: asyncpg.Connection) -> None:
    await apply(conn, *late_history_events(history("quet")))
    open_ = Dossier(center_id="quet")
    await apply(
        conn, open_.received(vn(2026, 3, 9, 9)), open_.assigned(vn(2026, 3, 9, 10), "can-bo-1")
    )
    now = vn(2026, 3, 10, 9)
    for _ in range(2):
        async with conn.transaction():
            await sweep_center(conn, "quet", now, CAL, ForecastPolicy())
    at_risk = [e for e in await outbox_events(conn) if e["event_type"] == "deadline.at_risk"]
    assert len(at_risk) == 1
    assert at_risk[0]["data"]["dossier_id"] == str(open_.dossier_id)
    assert at_risk[0]["data"]["reason"] == "time"
    # One open dossier, one assignee on line B: a backlog of 1 per staff member today.
    loads = await conn.fetch("SELECT line_code, load FROM forecast_load WHERE center_id='quet'")
    assert [(r[0], r[1]) for r in loads] == [("B", 1.0)]


async def test_two_instances_publish_each_at_risk_once(
    make_settings: Callable[..., Any], database_url: str
) -> None:
    clock = MovableClock(vn(2026, 3, 2, 8))
    settings: DeadlinesSettings = make_settings(
        DeadlinesSettings, scheduler_poll_seconds=0.05, forecast_interval_seconds=0.05
    )
    apps = [create_app(settings, clock=clock) for _ in range(2)]
    db = await asyncpg.connect(database_url)
    async with contextlib.AsyncExitStack() as stack:
        for app in apps:
            await stack.enter_async_context(serve(app))
        await produce_events(settings.kafka, *late_history_events(history("doi")))

        async def learnt() -> int:
            n: int = await db.fetchval("SELECT count(*) FROM deadlines.forecast_durations")
            return n

        await eventually(learnt, until=lambda n: n == HISTORY, what="the history", timeout=60)
        open_ = [Dossier(center_id="doi") for _ in range(N)]
        await produce_events(settings.kafka, *(d.received(vn(2026, 3, 9, 9)) for d in open_))

        async def open_clocks() -> int:
            n: int = await db.fetchval(
                "SELECT count(*) FROM deadlines.clocks WHERE closed_kind IS NULL"
            )
            return n

        await eventually(open_clocks, until=lambda n: n == N, what="the open clocks", timeout=60)
        clock.set(vn(2026, 3, 10, 9))  # every open dossier is now likely to be late

        async def flagged() -> int:
            n: int = await db.fetchval(
                "SELECT count(*) FROM deadlines.flags WHERE kind = 'at_risk'"
            )
            return n

        await eventually(flagged, until=lambda n: n == N, what="every at_risk flag", timeout=60)
        # Let both sweeps pass several more times over the same dossiers.
        sweeps = [app.state.deadlines.risk_sweep for app in apps]
        seen = [s.passes for s in sweeps]
        await eventually(
            _async(lambda: [s.passes for s in sweeps]),
            until=lambda now: all(p >= q + 3 for p, q in zip(now, seen, strict=True)),
            what="more sweeps",
        )
        topic = settings.kafka.topic_prefix + "deadline.events"

        def at_risk(ms: list[Any]) -> list[dict[str, Any]]:
            events = [json.loads(m.value) for m in ms]
            return [e for e in events if e["event_type"] == "deadline.at_risk"]

        messages = await eventually(
            lambda: read_all(settings.kafka.bootstrap_servers, topic),
            until=lambda ms: len(at_risk(ms)) >= N,
            what="every at_risk on the bus",
            timeout=60,
        )
        deadlines: list[Deadlines] = [app.state.deadlines for app in apps]
        published = [d.risk_sweep.published for d in deadlines if d.risk_sweep]
    await db.close()

    events = at_risk(messages)
    assert len(events) == N
    assert Counter(e["data"]["dossier_id"] for e in events) == {str(d.dossier_id): 1 for d in open_}
    assert sum(published) == N


def _async(f: Callable[[], Any]) -> Callable[[], Any]:
    async def probe() -> Any:
        return f()

    return probe


async def test_an_instance_skips_a_center_another_swept_moments_ago(
    conn: asyncpg.Connection,
) -> None:
    async with conn.transaction():
        assert await store.claim_center(conn, "chia", 60)
    async with conn.transaction():
        assert not await store.claim_center(conn, "chia", 60)  # swept under a minute ago
    async with conn.transaction():
        assert await store.claim_center(conn, "chia", 0)  # spacing over: sweep again
    async with conn.transaction():
        assert await store.claim_center(conn, "khac", 60)  # other centers are free
