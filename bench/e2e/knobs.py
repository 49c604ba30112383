"""What the end-to-end benchmark offers and how long it waits (``MOTCUA_BENCH_E2E_*``)."""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo

from motcua.shared.reference.lines import service_lines

RESULTS = Path(__file__).resolve().parent.parent / "results"
LINES = service_lines().codes()
# Requests spread over this many centers, as a national deployment's are: one center's
# tickets of a line, and its dossiers, take numbers from one sequence, one at a time.
CENTERS = tuple(
    f"ward-{i:02d}" for i in range(1, int(os.environ.get("MOTCUA_BENCH_E2E_CENTERS", "20")) + 1)
)
# Per stage, per second. The HTTP entry points of this 2-core machine top out at a few
# hundred requests a second, so the ladder brackets that instead of issue 9's 100-2,000.
LOADS = tuple(
    int(x) for x in os.environ.get("MOTCUA_BENCH_E2E_LOADS", "25,50,100,200,400").split(",")
)
# A minute per step, so that each figure covers more than a burst; the whole benchmark
# then takes about 10 minutes (MOTCUA_BENCH_E2E_STEP_SECONDS=30 halves the load phase).
STEP_SECONDS = float(os.environ.get("MOTCUA_BENCH_E2E_STEP_SECONDS", "60"))
DRAIN_SECONDS = 120.0
HTTP_CONNECTIONS = 64
HTTP_TIMEOUT = 120.0
BACKLOG_SECONDS = 10.0  # of work waiting unanswered ends a step's offer early
SMS_RATE = 5000.0  # the gateway's own limit is not what is measured here
SCALE_EVENTS = int(os.environ.get("MOTCUA_BENCH_E2E_SCALE_EVENTS", "10000"))
STAGES = ("ticket_to_display", "dossier_to_deadline_set", "dossier_to_sms")
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def say(line: str) -> None:
    print(f"   {line}", flush=True)
