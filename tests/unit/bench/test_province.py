"""The province benchmark's synthetic history: its size, its spread and its rows."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from bench.province import (
    CLOCK_COLUMNS,
    HISTORY_DAYS,
    MIX,
    OPEN_DAYS,
    Size,
    center_ids,
    clock_row,
    fact_rows,
    history,
)

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
SIZE = Size(closed=6_000, open=300, centers=150)


def test_the_size_comes_from_the_environment_and_defaults_to_the_issues() -> None:
    assert Size.of({}) == Size(closed=5_000_000, open=50_000, centers=150)
    assert Size.of({"MOTCUA_BENCH_PROVINCE_DOSSIERS": "1000"}).closed == 1000
    assert Size.of({"MOTCUA_BENCH_PROVINCE_OPEN": "10"}).open == 10


def test_center_ids_are_distinct_and_registry_style() -> None:
    ids = center_ids(150)
    assert len(set(ids)) == 150
    assert all(c.replace("-", "").isalnum() and c == c.lower() for c in ids)


def test_the_history_has_the_counts_asked_for_and_every_center_alike() -> None:
    dossiers = list(history(SIZE, NOW))
    assert sum(d.closed_kind is not None for d in dossiers) == SIZE.closed
    assert sum(d.closed_kind is None for d in dossiers) == SIZE.open
    per_center = Counter(d.center for d in dossiers)
    assert len(per_center) == 150
    assert max(per_center.values()) - min(per_center.values()) <= 1


def test_the_history_spans_a_year_and_a_half_and_open_ones_the_last_month() -> None:
    dossiers = list(history(SIZE, NOW))
    closed = [d.received_at for d in dossiers if d.closed_kind]
    opened = [d.received_at for d in dossiers if not d.closed_kind]
    assert NOW - min(closed) <= timedelta(days=HISTORY_DAYS + 3)
    assert NOW - min(closed) > timedelta(days=HISTORY_DAYS - 30)
    assert NOW - max(closed) > timedelta(days=OPEN_DAYS - 3)
    assert all(NOW - r <= timedelta(days=OPEN_DAYS + 3) for r in opened)
    assert all(d.received_at.weekday() < 5 for d in dossiers)


def test_outcomes_and_procedures_follow_a_realistic_mix() -> None:
    dossiers = [d for d in history(SIZE, NOW) if d.closed_kind]
    outcomes = Counter(d.outcome or d.closed_kind for d in dossiers)
    assert 0.02 < outcomes["late"] / len(dossiers) < 0.10
    assert 0.005 < outcomes["withdrawn"] / len(dossiers) < 0.03
    assert all(d.closed_at and d.closed_at > d.due_at for d in dossiers if d.outcome == "late")
    assert all(d.closed_at and d.closed_at <= d.due_at for d in dossiers if d.outcome == "early")
    codes = Counter(d.procedure.code for d in dossiers)
    assert set(codes) == set(MIX)
    assert codes.most_common(1)[0][0] == "CT-BANSAO"


def test_rows_follow_their_columns_and_pauses_come_in_pairs() -> None:
    dossiers = list(history(SIZE, NOW))
    assert all(len(clock_row(d)) == len(CLOCK_COLUMNS) for d in dossiers[:50])
    paused = next(d for d in dossiers if d.supplements == 2 and d.closed_kind)
    kinds = Counter(row[2] for row in fact_rows(paused))
    assert kinds == {"pause_start": 2, "pause_end": 2, paused.closed_kind: 1}
    assert len({row[0] for d in dossiers for row in fact_rows(d)}) == sum(
        2 * d.supplements + (d.closed_kind is not None) for d in dossiers
    )
