"""Daily statistics and the display board, computed purely from known inputs."""

from __future__ import annotations

from datetime import date

import pytest

from motcua.services.queue import board, statistics
from motcua.services.queue.domain import CounterState, Kind, Status
from motcua.services.queue.statistics import LogEntry
from tests.unit.queue.factories import T0, center, ticket


@pytest.mark.parametrize(
    ("values", "p90"),
    [
        ([], None),
        ([5.0], 5.0),
        ([1.0, 2.0, 3.0, 4.0], 4.0),
        ([float(i) for i in range(1, 21)], 18.0),
    ],
)
def test_p90_is_the_nearest_rank(values: list[float], p90: float | None) -> None:
    assert statistics.nearest_rank(values, 90) == p90


def test_daily_statistics_per_line_and_counter() -> None:
    log = [
        LogEntry(Kind.ISSUED, "justice", None),
        LogEntry(Kind.ISSUED, "justice", None),
        LogEntry(Kind.ISSUED, "land", None),
        LogEntry(Kind.CALLED, "justice", "Q1", wait_seconds=100),
        LogEntry(Kind.RECALLED, "justice", "Q1"),
        LogEntry(Kind.SERVICE_COMPLETED, "justice", "Q1", service_seconds=300),
        LogEntry(Kind.CALLED, "land", "Q3", wait_seconds=200),
        LogEntry(Kind.TRANSFERRED, "land", "Q3"),
        LogEntry(Kind.CALLED, "justice", "Q2", wait_seconds=600),
        LogEntry(Kind.NO_SHOW, "justice", "Q2"),
        LogEntry(Kind.REQUEUED, "justice", None),
        LogEntry(Kind.CANCELLED, "justice", None),
    ]
    day = statistics.daily_stats(center(), date(2025, 11, 27), log)
    assert day.total == statistics.Figures(
        issued=3,
        called=3,
        served=1,
        no_show=1,
        transferred=1,
        cancelled=1,
        requeued=1,
        mean_wait_seconds=300.0,
        p90_wait_seconds=600.0,
        mean_service_seconds=300.0,
    )
    justice = day.lines["justice"]
    assert (justice.issued, justice.called, justice.served, justice.no_show) == (2, 2, 1, 1)
    assert (justice.mean_wait_seconds, justice.p90_wait_seconds) == (350.0, 600.0)
    assert (day.lines["land"].transferred, day.lines["land"].mean_service_seconds) == (1, None)
    assert day.counters["Q3"].transferred == 1
    assert day.counters["Q1"].issued == 0
    assert set(day.lines) == {"justice", "land", "business", "labour", "other"}
    assert day.counters["Q5"] == statistics.figures([])


def test_board_lists_every_counter_and_line_with_live_figures() -> None:
    serving = ticket(2, status=Status.SERVING, counter="Q2")
    states = [
        CounterState("nam-cuong", "Q1", True, ("justice",), "c1", T0, 0),
        CounterState("nam-cuong", "Q2", True, ("justice", "other"), "c2", T0, 1),
        CounterState("nam-cuong", "Q3", False, ("land",), None, None, 0),
    ]
    b = board.assemble(
        center(),
        at=T0,
        states=states,
        active=[serving],
        calls=[board.CallRecord("X003", "justice", "Q2", Kind.CALLED, T0)],
        loads=[board.LineLoad("justice", 3, 1)],
        recent={"justice": [100.0, 300.0]},
    )
    assert [(c.counter_id, c.is_open) for c in b.counters] == [
        ("Q1", True),
        ("Q2", True),
        ("Q3", False),
        ("Q4", False),
        ("Q5", False),
    ]
    assert b.counters[1].ticket == serving
    justice = b.lines[0]
    # A newcomer is 4th, two counters serve justice, service takes 200 s on average.
    assert (justice.waiting, justice.open_counters, justice.estimated_wait_seconds) == (3, 2, 400)
    land = b.lines[1]
    assert (land.waiting, land.open_counters, land.estimated_wait_seconds) == (0, 0, 1200)


def test_waiting_histogram_buckets_by_minutes_and_ignores_other_changes() -> None:
    from datetime import date

    from motcua.services.queue.domain import Kind
    from motcua.services.queue.statistics import LogEntry, waiting_histogram

    entries = [
        LogEntry(Kind.CALLED, "justice", "Q1", wait_seconds=s)
        for s in (0, 299, 300, 3599, 3600, 9000)
    ] + [LogEntry(Kind.ISSUED, "justice", None), LogEntry(Kind.CALLED, "land", "Q3")]
    h = waiting_histogram("c", date(2026, 3, 2), entries)
    assert h.calls == 6
    assert dict(h.buckets) == {
        "0–5": 2, "5–10": 1, "10–15": 0, "15–20": 0, "20–30": 0, "30–45": 0, "45–60": 1, "≥60": 2,
    }  # fmt: skip
    assert h.p90_wait_seconds == 9000
    assert waiting_histogram("c", date(2026, 3, 2), []).mean_wait_seconds is None
