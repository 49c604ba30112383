"""`motcua dev --simulate` drives the real services through their public APIs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from motcua.services.intake.app import create_app as intake_app
from motcua.services.intake.settings import IntakeSettings
from motcua.services.queue.app import create_app as queue_app
from motcua.services.queue.settings import QueueSettings
from motcua.simulator.live import LiveSimulation, arrivals_per_hour
from tests.support.serving import serve
from tests.support.waiting import eventually


def test_the_day_has_a_morning_peak_and_a_lunch_pause() -> None:
    assert arrivals_per_hour(8.0) > arrivals_per_hour(10.0) > arrivals_per_hour(16.0) > 0
    assert arrivals_per_hour(12.0) == 0
    assert arrivals_per_hour(18.0) == 0


async def _counts(db: asyncpg.Connection) -> dict[str, int]:
    served = await db.fetchval("SELECT count(*) FROM queue.tickets WHERE status = 'served'")
    dossiers = await db.fetchval(
        "SELECT count(*) FROM intake.dossiers WHERE ticket_id IS NOT NULL AND channel = 'counter'"
    )
    history = await db.fetchval("SELECT count(*) FROM intake.dossiers WHERE ticket_id IS NULL")
    return {"served": served, "dossiers_from_tickets": dossiers, "history": history}


@pytest.mark.slow
async def test_simulation_serves_citizens_and_receives_dossiers(
    make_settings: Callable[..., Any], db: asyncpg.Connection
) -> None:
    q_settings = make_settings(QueueSettings)
    i_settings = make_settings(IntakeSettings)
    async with serve(queue_app(q_settings)) as q_url, serve(intake_app(i_settings)) as i_url:
        sim = LiveSimulation(
            queue_url=q_url,
            intake_url=i_url,
            kafka=i_settings.kafka,
            auth_secret=i_settings.auth_secret.get_secret_value(),
            factor=900,
            seed=5,
        )
        sim.virtual_hour = lambda: 8.0  # type: ignore[method-assign]  # always the morning peak
        task = asyncio.create_task(sim.run())
        try:
            counts = await eventually(
                lambda: _counts(db),
                until=lambda c: (
                    c["served"] >= 5 and c["dossiers_from_tickets"] >= 2 and c["history"] >= 400
                ),
                timeout=120,
                what="citizens served, dossiers received and the history loaded",
            )
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert counts["history"] == 400  # the planned recent history, each dossier once
    assert sim.stats["tickets_issued"] >= sim.stats["tickets_called"] > 0
    assert not any(k.startswith("http_5") for k in sim.stats), sim.stats
