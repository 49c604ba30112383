"""The two-broker run: which results file each leg writes, the command line, and the
ratios of ours to raw aiokafka, each taken on one broker only."""

from __future__ import annotations

import os
import socket

import pytest

from bench.__main__ import ORDER, parse
from bench.brokers import BROKERS, ON_BOTH, compare, ratio, results_name, table
from bench.launch import listener_pid
from bench.pipeline import cpu_figures


def test_both_brokers_run_the_pipeline_and_the_ladder() -> None:
    assert BROKERS == ("tansu", "kafka")
    assert set(ON_BOTH) == {"pipeline", "e2e"}
    assert set(ON_BOTH) <= set(ORDER)


def test_tansu_keeps_the_historical_results_files_and_kafka_gets_its_own() -> None:
    assert results_name("pipeline", "tansu") == "pipeline"
    assert results_name("pipeline", "kafka") == "pipeline_kafka"
    assert results_name("e2e", "kafka") == "e2e_kafka"


def test_the_command_line_picks_brokers_and_benchmarks() -> None:
    assert parse([]) == (["tansu", "kafka"], ORDER)
    assert parse(["--brokers=kafka", "pipeline"]) == (["kafka"], ["pipeline"])
    assert parse(["--brokers=kafka,tansu"]) == (["tansu", "kafka"], ORDER)
    with pytest.raises(SystemExit, match="redpanda"):
        parse(["--brokers=redpanda"])
    with pytest.raises(SystemExit, match="unknown benchmark"):
        parse(["pipelines"])


def test_a_ratio_is_ours_over_raw_and_absent_without_both() -> None:
    assert ratio(15_550, 55_524) == 0.28
    assert ratio(12_000, 40_000) == 0.3
    assert ratio(None, 40_000) is None
    assert ratio(12_000, None) is None
    assert ratio(12_000, 0) is None


def test_each_broker_is_compared_with_raw_on_that_broker_only() -> None:
    results = {
        "tansu": {
            "pipeline": {
                "raw_kafka_produce_consume_msgs_per_s": 50_000,
                "pipeline_end_to_end_events_per_s": 15_000,
                "pipeline_commit_to_effect_p99_ms": 71.0,
            }
        },
        "kafka": {
            "pipeline": {
                "raw_kafka_produce_consume_msgs_per_s": 40_000,
                "pipeline_end_to_end_events_per_s": 12_000,
                "pipeline_commit_to_effect_p99_ms": 35.5,
            },
            "e2e": {
                "raw_kafka_produce_consume_msgs_per_s": 20_000,
                "scale_1x_deadlines_events_per_s": 1_000,
            },
        },
    }
    rows = {r["what"]: r for r in compare(results)}  # type: ignore[arg-type]
    ours = rows["pipeline, outbox -> relay -> inbox"]
    assert (ours["tansu"], ours["kafka"]) == (15_000, 12_000)
    # The ratio row follows its figure; both pipeline ratios use their own broker's raw.
    listed = compare(results)  # type: ignore[arg-type]
    after = listed[listed.index(ours) + 1]
    assert after["what"].strip() == "ours / raw, same broker"
    assert (after["tansu"], after["kafka"]) == (0.3, 0.3)
    one = listed[[r["what"] for r in listed].index("deadlines consumer, 1 instance") + 1]
    assert (one["tansu"], one["kafka"]) == (None, 0.05)  # e2e's own raw figure, not pipeline's
    assert "deadlines consumer, 2 instances" not in rows  # measured nowhere: left out
    p99 = rows["commit -> effect p99 ms at 1,000/s"]
    assert (p99["tansu"], p99["kafka"]) == (71.0, 35.5)


def test_the_table_has_a_column_per_broker_and_a_dash_for_what_is_missing() -> None:
    text = table(
        [
            {"what": "raw", "tansu": 55_524, "kafka": None},
            {"what": "ratio", "tansu": 0.28, "kafka": 0.3},
        ]
    )
    head, raw, share = text.splitlines()
    assert head.split() == ["tansu", "kafka"]
    assert raw.split() == ["raw", "55,524", "-"]
    assert share.split() == ["ratio", "0.28", "0.3"]


def test_the_pipeline_reports_cpu_per_thousand_events_by_process() -> None:
    got = cpu_figures("burst", {"probe": 1.5, "broker": 0.25}, 30_000)
    assert got == {
        "pipeline_burst_cpu_s_probe": 1.5,
        "pipeline_burst_cpu_ms_per_1000_events_probe": 50.0,
        "pipeline_burst_cpu_s_broker": 0.25,
        "pipeline_burst_cpu_ms_per_1000_events_broker": 8.3,
    }


def test_a_broker_started_elsewhere_is_found_by_its_listening_port() -> None:
    with socket.socket() as listening, socket.socket() as bound_only:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        bound_only.bind(("127.0.0.1", 0))
        assert listener_pid(listening.getsockname()[1]) == os.getpid()
        assert listener_pid(bound_only.getsockname()[1]) is None  # not listening
