"""The breach forecast: how good, and how costly.

1. **Backtest**: precision and recall of ``deadline.at_risk`` against the dossiers that
   really went late, beside the baseline "flag every dossier with under N working days
   left", on the Nam Cường history and on a synthetic staff shortage. It replays the
   service's pure forecast over each history (``motcua report backtest``): quality, not
   speed, the same on any machine for the same seeds.
2. **Sweep cost at province scale**: 50,000 open clocks in 150 centers (loaded with COPY),
   200 finished dossiers per center and procedure; the time of one forecast pass over all of
   them (what the service does every ``MOTCUA_DEADLINES_FORECAST_INTERVAL_SECONDS``), and the
   longest single center's transaction (how long the event loop goes without the scheduler
   between two awaits is bounded by the per-center computation, not by the pass).
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from bench.deadlines import clock_rows
from motcua.devtools.backends import Servers, fresh_database
from motcua.services.deadlines import repository
from motcua.services.deadlines.app import MIGRATIONS
from motcua.services.deadlines.repository import forecast as store
from motcua.services.deadlines.risks import ForecastPolicy, sweep_center
from motcua.shared import migrations
from motcua.shared.calendar import WorkingCalendar
from motcua.simulator.backtest import render
from motcua.simulator.backtest import run as backtest

LEAD_DAYS = 2
SEEDS = (2025, 7)
CENTERS = 150
OPEN_CLOCKS = 50_000
PROCEDURES = ("HT-XNTTHN",)  # the procedure of bench.deadlines' clocks
HISTORY = 200
OFFICERS = 6
GOAL_PASS_S = 300.0  # the default interval: a pass must end well before the next is due


async def run(servers: Servers) -> dict[str, Any]:
    figures = _backtests()
    figures |= await _sweep_cost(servers)
    return figures


def _backtests() -> dict[str, Any]:
    figures: dict[str, Any] = {"lead_working_days": LEAD_DAYS}
    for history in ("nam-cuong", "shortage"):
        for seed in SEEDS if history == "shortage" else SEEDS[:1]:
            started = time.perf_counter()
            result = backtest(history, lead_days=LEAD_DAYS, seed=seed)
            print(render(result), flush=True)
            key = f"{history}_seed{seed}"
            figures[f"{key}_seconds"] = round(time.perf_counter() - started, 2)
            figures[f"{key}_late"] = result.late
            figures[f"{key}_eligible"] = result.eligible
            for score in [*result.forecast, *result.baseline]:
                name = score.rule.replace(" ", "_").replace(">=", "ge").replace("<", "lt")
                figures[f"{key}_{name}"] = {
                    "flagged": score.flagged,
                    "precision": score.precision,
                    "recall": score.recall,
                    "f1": score.f1,
                }
    return figures


async def _sweep_cost(servers: Servers) -> dict[str, Any]:
    figures: dict[str, Any] = {"sweep_open_clocks": OPEN_CLOCKS, "sweep_centers": CENTERS}
    now = datetime.now(UTC)
    async with fresh_database(servers, prefix="bench_forecast") as db_url:
        conn = await asyncpg.connect(db_url)
        try:
            await migrations.apply(conn, "deadlines", migrations.plan(MIGRATIONS))
            await conn.execute('SET search_path TO "deadlines", public')
            started = time.perf_counter()
            rng = random.Random(150)
            due = (now + timedelta(hours=rng.randrange(1, 240)) for _ in range(OPEN_CLOCKS))
            await repository.copy_clocks(
                conn, list(clock_rows(OPEN_CLOCKS, due, "OPEN", centers=CENTERS))
            )
            # Each center's officers: assignees seen in the last working days.
            await conn.execute(
                """UPDATE clocks SET assignee = 'can-bo-' || (abs(hashtext(dossier_code)) % $1),
                                     assigned_at = received_at""",
                OFFICERS,
            )
            await conn.copy_records_to_table(
                "forecast_durations",
                records=[
                    (
                        uuid.uuid4(),
                        f"c{c:03d}",
                        p,
                        now - timedelta(hours=h),
                        rng.randrange(1800, 200_000),
                    )
                    for c in range(CENTERS)
                    for p in PROCEDURES
                    for h in range(HISTORY)
                ],
                columns=(
                    "dossier_id",
                    "center_id",
                    "procedure_code",
                    "resolved_at",
                    "working_seconds",
                ),
            )
            await conn.execute("VACUUM ANALYZE")
            figures["sweep_load_s"] = round(time.perf_counter() - started, 1)

            cal, policy = WorkingCalendar.default(), ForecastPolicy()
            per_center: list[float] = []
            published = 0
            started = time.perf_counter()
            for center_id in await store.centers_with_open_clocks(conn):
                t0 = time.perf_counter()
                async with conn.transaction():
                    published += await sweep_center(conn, center_id, now, cal, policy)
                per_center.append(time.perf_counter() - t0)
            figures["sweep_pass_s"] = round(time.perf_counter() - started, 2)
            figures["sweep_center_max_ms"] = round(max(per_center) * 1000, 1)
            figures["sweep_published"] = published
            started = time.perf_counter()
            for center_id in await store.centers_with_open_clocks(conn):
                async with conn.transaction():
                    published += await sweep_center(conn, center_id, now, cal, policy)
            figures["sweep_second_pass_s"] = round(time.perf_counter() - started, 2)
            figures["sweep_second_pass_published"] = published - figures["sweep_published"]
        finally:
            await conn.close()
    figures["goals"] = {"sweep_pass_s": f"< {GOAL_PASS_S:.0f} (the default interval)"}
    return figures
