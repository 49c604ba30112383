"""The planned history is deterministic and its ground truth is what the center reported."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from motcua.shared.calendar import WorkingCalendar
from motcua.simulator.workload import by_time, nam_cuong_2025

CAL = WorkingCalendar.default()


@pytest.fixture(scope="module")
def scenario():  # type: ignore[no-untyped-def]
    return nam_cuong_2025()


def test_default_scenario_matches_the_reference_figures(scenario) -> None:  # type: ignore[no-untyped-def]
    truth = scenario.truth(CAL)
    assert (truth.received, truth.on_time_or_early, truth.in_progress) == (3510, 3450, 60)
    assert truth.resolved_late == 0
    assert truth.in_progress_overdue == 0
    assert scenario.as_of == datetime(2025, 11, 27, 10, 0, tzinfo=UTC)  # 17:00 in Hà Nội


def test_every_dossier_is_received_on_a_working_day_in_office_hours(scenario) -> None:  # type: ignore[no-untyped-def]
    for p in scenario.plans:
        day = CAL.local_date(p.received_at)
        assert day >= scenario.start
        assert CAL.is_working_day(day)
        assert any(a <= p.received_at < b for a, b in CAL.working_sessions(day))
        assert p.received_at < scenario.as_of


def test_resolutions_and_pauses_are_consistent(scenario) -> None:  # type: ignore[no-untyped-def]
    paused = [p for p in scenario.plans if p.pause]
    assert paused, "the scenario exercises clock pauses"
    for p in scenario.plans:
        if p.pause:
            assert p.received_at <= p.pause.requested_at < p.pause.provided_at
            assert p.resolved_at is not None
            assert p.resolved_at >= p.pause.provided_at
            unpaused = CAL.due_at(p.received_at, p.procedure.limit)
            paused_for = CAL.working_time_between(p.pause.requested_at, p.pause.provided_at)
            assert CAL.working_time_between(unpaused, p.due_at) == paused_for
        if p.resolved_at is not None:
            assert p.received_at <= p.resolved_at <= p.due_at <= scenario.as_of
        else:
            assert p.due_at > scenario.as_of


def test_same_seed_same_history_other_seed_other_history() -> None:
    a, b, c = nam_cuong_2025(seed=7), nam_cuong_2025(seed=7), nam_cuong_2025(seed=8)
    assert [(p.received_at, p.procedure.code) for p in a.plans] == [
        (p.received_at, p.procedure.code) for p in b.plans
    ]
    assert [p.received_at for p in a.plans] != [p.received_at for p in c.plans]


def test_scale_multiplies_centers_and_totals() -> None:
    s = nam_cuong_2025(scale=3)
    truth = s.truth(CAL)
    assert len(s.centers) == 3
    assert (truth.received, truth.on_time_or_early, truth.in_progress) == (10530, 10350, 180)


def test_actions_come_in_business_time_order(scenario) -> None:  # type: ignore[no-untyped-def]
    steps = list(by_time(scenario.plans[:300]))
    assert [s[0] for s in steps] == sorted(s[0] for s in steps)
    first_seen: dict[int, str] = {}
    for _, action, plan in steps:
        first_seen.setdefault(plan.seq, action)
    assert set(first_seen.values()) == {"receive"}


def test_late_and_overdue_knobs_give_late_and_overdue_dossiers() -> None:
    from datetime import timedelta

    from motcua.simulator.workload import Scenario, plan_center

    as_of = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
    start = (as_of - timedelta(days=40)).date()
    plans = plan_center(
        "c", received=300, in_progress=10, start=start, as_of=as_of, seed=3, cal=CAL,
        late=12, overdue=6,
    )  # fmt: skip
    scenario = Scenario(["c"], start, as_of, plans)
    truth = scenario.truth(CAL)
    assert truth.resolved_late > 0
    assert truth.in_progress_overdue > 0
    assert truth.received == 300
    assert truth.received == truth.on_time_or_early + truth.resolved_late + truth.in_progress
    for p in plans:
        if p.outcome(CAL) == "late":
            assert p.resolved_at is not None
            assert p.resolved_at > p.due_at
