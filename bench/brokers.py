"""The two brokers side by side: which benchmarks run on both, where their results
go, and ours against raw aiokafka on the same broker in the same run.

``make bench`` runs everything on the embedded Tansu broker, then ``ON_BOTH``
again on a single Apache Kafka node (idempotent producer on: the services ask
the broker). Raw aiokafka figures differ between brokers by far more than our
overhead does, so a figure is compared only with the raw figure measured on the
same broker in the same run: the ratio ours / raw is what says whether a change
in the bus plumbing helped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

Broker = Literal["tansu", "kafka"]
BROKERS: tuple[Broker, ...] = ("tansu", "kafka")
# The bus pipeline and the four-service ladder; the other benchmarks measure one
# service's own work, which the broker hardly touches, and stay on Tansu.
ON_BOTH = ("pipeline", "e2e")

RAW = "raw_kafka_produce_consume_msgs_per_s"
# (benchmark, figure, what it is): each is set against RAW from the same results file.
OURS = (
    ("pipeline", "pipeline_end_to_end_events_per_s", "pipeline, outbox -> relay -> inbox"),
    ("e2e", "scale_1x_deadlines_events_per_s", "deadlines consumer, 1 instance"),
    ("e2e", "scale_2x_deadlines_events_per_s", "deadlines consumer, 2 instances"),
)
# Figures shown beside the ratios, per broker, without a ratio.
ALSO = (
    ("pipeline", "pipeline_commit_to_effect_p50_ms", "commit -> effect p50 ms at 1,000/s"),
    ("pipeline", "pipeline_commit_to_effect_p99_ms", "commit -> effect p99 ms at 1,000/s"),
    ("pipeline", "pipeline_steady_commit_to_publish_p99_ms", "  of which commit -> broker p99"),
    ("pipeline", "pipeline_steady_publish_to_effect_p99_ms", "  of which broker -> effect p99"),
    ("e2e", "dossier_to_deadline_set_max_achieved_per_s", "dossiers -> deadline set, best /s"),
    ("e2e", "ticket_to_display_max_achieved_per_s", "tickets -> display board, best /s"),
)


def results_name(benchmark: str, broker: Broker) -> str:
    """The results file's stem: Tansu keeps the historical names, Kafka gets a suffix."""
    return benchmark if broker == "tansu" else f"{benchmark}_{broker}"


def ratio(ours: float | None, raw: float | None) -> float | None:
    """ours / raw, to three places; None when either is missing or raw is not positive."""
    if ours is None or raw is None or raw <= 0:
        return None
    return round(ours / raw, 3)


Results = Mapping[Broker, Mapping[str, Mapping[str, Any]]]  # broker -> benchmark -> figures


def compare(results: Results) -> list[dict[str, Any]]:
    """One row per figure: its value on each broker, and for ours its ratio to raw
    aiokafka produce+consume on the same broker and run. Rows no broker measured are
    left out."""
    rows: list[dict[str, Any]] = []
    for benchmark in ON_BOTH:
        raw = {b: results.get(b, {}).get(benchmark, {}).get(RAW) for b in BROKERS}
        if any(v is not None for v in raw.values()):
            rows.append({"what": f"raw aiokafka produce+consume msgs/s ({benchmark})"} | raw)
        for source, key, what in OURS:
            if source != benchmark:
                continue
            ours = {b: results.get(b, {}).get(source, {}).get(key) for b in BROKERS}
            if all(v is None for v in ours.values()):
                continue
            rows.append({"what": what} | ours)
            rows.append(
                {"what": "  ours / raw, same broker"} | {b: ratio(ours[b], raw[b]) for b in BROKERS}
            )
    for source, key, what in ALSO:
        got = {b: results.get(b, {}).get(source, {}).get(key) for b in BROKERS}
        if any(v is not None for v in got.values()):
            rows.append({"what": what} | got)
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value < 10:
        return f"{value:.3g}" if value < 1 else f"{value:.1f}"
    if isinstance(value, int | float):
        return f"{value:,.0f}"
    return str(value)


def table(rows: list[dict[str, Any]]) -> str:
    """The comparison as aligned text, one line per row."""
    width = max([len(r["what"]) for r in rows] + [10])
    head = f"{'':<{width}}  " + "  ".join(f"{b:>10}" for b in BROKERS)
    lines = [head] + [
        f"{r['what']:<{width}}  " + "  ".join(f"{_cell(r.get(b)):>10}" for b in BROKERS)
        for r in rows
    ]
    return "\n".join(lines)
