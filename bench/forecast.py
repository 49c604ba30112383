"""The breach forecast's backtest: precision and recall of ``deadline.at_risk`` against
the dossiers that really went late, beside the baseline "flag every dossier with under N
working days left", on the Nam Cường history and on a synthetic staff shortage.

It replays the service's pure forecast over each history (``motcua report backtest``); it
needs no broker or database, so the servers ``make bench`` started are left alone. The
figures are quality, not speed: the same on any machine for the same seeds.
"""

from __future__ import annotations

import time
from typing import Any

from motcua.devtools.backends import Servers
from motcua.simulator.backtest import render
from motcua.simulator.backtest import run as backtest

LEAD_DAYS = 2
SEEDS = (2025, 7)


async def run(servers: Servers) -> dict[str, Any]:
    del servers  # a replay of histories: no server involved
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
