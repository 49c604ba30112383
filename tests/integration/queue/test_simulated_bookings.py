"""The live simulation's booked citizens against the real queue service: one books the
earliest free slot today, comes when its check-in window is open, and gets a ticket."""

from __future__ import annotations

import httpx

from motcua.simulator.live import LiveSimulation
from tests.integration.queue.conftest import SECRET, CenterRules, FakeClock, QueueEnv


async def test_a_simulated_citizen_books_then_checks_in(
    queue_env: QueueEnv, center: str, clock: FakeClock, own_rules: CenterRules
) -> None:
    own_rules(center, closes_minutes_before=0)  # the next slot at once: no waiting here
    sim = LiveSimulation(
        queue_url=queue_env.url,
        intake_url="http://127.0.0.1:9",
        kafka=queue_env.settings.kafka,
        auth_secret=SECRET,
        center_id=center,
        clock=clock,
    )
    sim.rng.random = lambda: 0.5  # type: ignore[method-assign]  # neither missed nor a walk-in
    async with httpx.AsyncClient(timeout=30) as client:
        await sim.booked_citizen(client, "justice")
    assert sim.stats == {
        "appointments_booked": 1,
        "appointments_checked_in": 1,
        "tickets_issued": 1,
    }
