"""The full Nam Cường replay: 3,510 dossiers through intake and deadlines, each
service in its own process, timed, and checked against the ground truth."""

from __future__ import annotations

import time
from typing import Any

from bench.launch import AUTH_SECRET, Proc, kafka_of, new_database, ready, service_env, start, stop
from motcua.devtools.backends import Servers
from motcua.shared.bus.kafka import ensure_topics
from motcua.simulator.replay import render, replay
from motcua.simulator.workload import nam_cuong_2025


async def run(servers: Servers) -> dict[str, Any]:
    kafka = kafka_of(servers, "replay")
    await ensure_topics(kafka)
    env = service_env(kafka, await new_database(servers, "replay"))
    procs: list[Proc] = []
    try:
        for name in ("intake", "deadlines"):
            procs.append(await start(name, env))
        await ready(procs, timeout=60)
        started = time.perf_counter()
        scenario = nam_cuong_2025()
        report, truth = await replay(
            scenario,
            seed=2025,
            kafka=kafka,
            deadlines_url=procs[1].url,
            auth_secret=AUTH_SECRET,
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
        await stop(procs)
