"""End to end: the four services as separate processes, at fixed offered loads.

Stages, each timed from the moment a request was due (open loop: a saturated
entry point shows up as latency, not as a slower offer):

- ``ticket_to_display``: POST a ticket at the kiosk API until the display
  board's SSE stream announces it (``ticket.issued`` with its number).
- ``dossier_to_deadline_set``: POST a dossier with a consented phone at the
  clerk API until its ``deadline.set`` is on the deadline topic.
- ``dossier_to_sms``: the same dossier until its SMS reaches the gateway (an
  HTTP sink in this process, deduping on ``Idempotency-Key``).

Loads go up a ladder, the same for both entry points; an entry point that no
longer keeps up is not offered the higher loads (its backlog would only grow).
Besides: raw aiokafka and asyncpg baselines from ``bench.pipeline`` on the same
servers; RSS of every service at idle and under the highest load; scale-out,
the run's ``dossier.received`` events replayed to one and then two instances of
one consumer group, for deadlines (topped up to a burst with copies) and for
notify (the run's own events: only they carry contacts it can open). The
latency plot goes to ``bench/results/e2e_latency.svg`` (``e2e_latency_kafka.svg``
for the run on Apache Kafka, which ``make bench`` does after the one on Tansu).

Knobs: ``MOTCUA_BENCH_E2E_LOADS`` (``25,50,100,200,400``),
``MOTCUA_BENCH_E2E_STEP_SECONDS`` (60), ``MOTCUA_BENCH_E2E_CENTERS`` (20),
``MOTCUA_BENCH_E2E_SCALE_EVENTS`` (10000).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from bench.e2e.knobs import CENTERS, LOADS, RESULTS, SCALE_EVENTS, STAGES, STEP_SECONDS, say
from bench.e2e.ladder import run_ladder
from bench.e2e.scale import TARGETS, Target, burst, scale_out
from bench.http_load import loop_factory as loop_factory  # uvloop, as the services run
from bench.plot import Series, line_chart
from motcua.devtools.backends import Servers


def plot(rows: list[dict[str, Any]], broker: str = "tansu") -> Path:
    colors = dict(zip(STAGES, ("#1f77b4", "#d62728", "#2ca02c"), strict=True))
    series = []
    for stage in STAGES:
        mine = [r for r in rows if r["stage"] == stage and r["p50_ms"] is not None]
        for q, dashed in (("p50", False), ("p99", True)):
            points = [(float(r["offered_per_s"]), float(r[f"{q}_ms"])) for r in mine]
            series.append(Series(f"{stage} {q}", points, dashed, colors[stage]))
    svg = line_chart(
        series,
        title=f"motcua end to end on {broker}: latency against offered load "
        f"({STEP_SECONDS:g} s per step)",
        x_label="offered load (requests per second, per stage)",
        y_label="latency (ms, log scale)",
        log_x=True,
        log_y=True,
        x_ticks=sorted({float(r["offered_per_s"]) for r in rows}),
        width=900,
    )
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / ("e2e_latency.svg" if broker == "tansu" else f"e2e_latency_{broker}.svg")
    path.write_text(svg)
    return path


def flat(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in rows:
        tag = f"{r['stage']}_at_{r['offered_per_s']}_per_s"
        out[f"{tag}_achieved_per_s"] = r["achieved_per_s"]
        for q in ("p50", "p95", "p99"):
            out[f"{tag}_{q}_ms"] = r[f"{q}_ms"]
    for stage in STAGES:
        mine = [r for r in rows if r["stage"] == stage]
        out[f"{stage}_max_achieved_per_s"] = max(r["achieved_per_s"] for r in mine)
        out[f"{stage}_lost"] = sum(r["lost"] for r in mine)
        out[f"{stage}_duplicates"] = sum(r["duplicates"] for r in mine)
        out[f"{stage}_http_errors"] = sum(r["http_errors"] for r in mine)
    return out


async def run(servers: Servers) -> dict[str, Any]:
    # Other work on the machine shows in every figure; the load average says how much.
    load_before = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory(prefix="motcua-e2e-") as tmp:
        logs = Path(tmp)
        figures, received = await run_ladder(servers, logs)
        rows = figures.pop("steps")
        say(f"plot: {plot(rows, servers.broker)}")
        events = burst(received, SCALE_EVENTS)
        say(
            f"scale-out: {len(events)} dossier.received events ({len(received)} from the run) "
            "to 1, then 2 deadlines instances"
        )
        figures |= await _scale(servers, logs, events, TARGETS["deadlines"])
        # Notify can open only the run's own sealed contacts: no copies for it.
        own = burst(received, min(SCALE_EVENTS, len(received)))
        say(f"scale-out: {len(own)} of the run's dossier.received events to 1, then 2 notify")
        figures |= await _scale(servers, logs, own, TARGETS["notify"])
    figures |= flat(rows)
    best_ticket = figures["ticket_to_display_max_achieved_per_s"]
    best_dossier = figures["dossier_to_sms_max_achieved_per_s"]
    raw_tx = figures["raw_pg_one_row_tx_per_s"]
    raw_bus = figures["raw_kafka_produce_consume_msgs_per_s"]
    figures |= {
        "centers": len(CENTERS),
        "load_avg_1m_at_start": load_before,
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        "step_seconds": STEP_SECONDS,
        "offered_loads_per_s": list(LOADS),
        "ratio_tickets_to_raw_pg_one_row_tx": round(best_ticket / raw_tx, 3),
        "ratio_dossiers_to_raw_pg_one_row_tx": round(best_dossier / raw_tx, 3),
        "ratio_deadlines_1x_to_raw_kafka": round(
            figures["scale_1x_deadlines_events_per_s"] / raw_bus, 3
        ),
        "ratio_deadlines_2x_to_raw_kafka": round(
            figures["scale_2x_deadlines_events_per_s"] / raw_bus, 3
        ),
        "scale_out_speedup": round(
            figures["scale_2x_deadlines_events_per_s"] / figures["scale_1x_deadlines_events_per_s"],
            2,
        ),
        "scale_out_speedup_notify": round(
            figures["scale_2x_notify_events_per_s"] / figures["scale_1x_notify_events_per_s"], 2
        ),
        "steps": rows,
    }
    for key in [k for k in figures if k.startswith("ratio_")]:
        say(f"{key}: {figures[key]}")
    return figures


async def _scale(
    servers: Servers, logs: Path, events: list[tuple[bytes, bytes]], target: Target
) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for n in (1, 2):
        got = await scale_out(servers, logs, events, n, target)
        tag = f"scale_{n}x_{target.service}"
        say(
            f"  {n} instance(s): {got[f'{tag}_events_per_s']} events/s, applied per instance "
            f"{got[f'{tag}_applied_per_instance']}, effects {got[f'{tag}_effects_total']} "
            f"({got[f'{tag}_effects_distinct']} distinct); cpu % {got[f'{tag}_cpu_pct']}, "
            f"runnable work waited for a CPU {got[f'{tag}_cpu_stalled_pct']}% of the time; "
            f"postgres waits % {got[f'{tag}_pg_waits_pct']}"
        )
        figures |= got
    return figures
