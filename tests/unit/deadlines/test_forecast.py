"""The breach forecast's model, on hand-computed cases (durations in working seconds)."""

from __future__ import annotations

import random

import pytest

from motcua.services.deadlines.forecast import (
    MAX_FACTOR,
    MIN_FACTOR,
    NO_PRESSURE,
    Pressure,
    Reason,
    assess,
    backlog_in_front,
    breach_probability,
    day_sample,
    median,
)

H = 3600
# Five finished cases that took 1, 2, 3, 4 and 5 working hours.
HISTORY = [1 * H, 2 * H, 3 * H, 4 * H, 5 * H]


def test_a_new_dossier_with_two_and_a_half_hours_left() -> None:
    # Every case is a survivor at 0 elapsed; 3 h, 4 h and 5 h exceed 2.5 h: (3 + .5) / (5 + 1).
    assert breach_probability(HISTORY, 0, 9000) == pytest.approx(3.5 / 6)


def test_only_cases_at_least_as_slow_count() -> None:
    # 2 h used, 1 h left: survivors 3 h, 4 h, 5 h need 1 h, 2 h, 3 h more; 2 of them > 1 h.
    assert breach_probability(HISTORY, 2 * H, H) == pytest.approx(2.5 / 4)


def test_a_backlog_twice_the_usual_doubles_the_remaining_work() -> None:
    # As above, remaining 2 h, 4 h, 6 h: all 3 exceed 1 h.
    assert breach_probability(HISTORY, 2 * H, H, factor=2.0) == pytest.approx(3.5 / 4)


def test_slower_than_every_past_case_is_even_odds_not_certainty() -> None:
    assert breach_probability(HISTORY, 6 * H, 10 * H) == pytest.approx(0.5)


def test_plenty_of_time_is_a_small_chance_not_zero() -> None:
    assert breach_probability(HISTORY, 0, 10 * H) == pytest.approx(0.5 / 6)


def test_assess_names_the_backlog_when_it_is_notably_above_usual() -> None:
    risk = assess(HISTORY, elapsed=2 * H, left=H, pressure=Pressure(backlog=8, usual=4))
    assert risk.probability == pytest.approx(0.875)
    assert risk.reason is Reason.BACKLOG
    assert risk.factor == 2.0
    assert (risk.working_seconds_left, risk.elapsed_seconds, risk.samples) == (H, 2 * H, 5)


def test_assess_names_slowness_past_the_median() -> None:
    # 3.5 h used (median 3 h), 1 h left: survivors 4 h, 5 h need 0.5 h, 1.5 h; 1 exceeds.
    risk = assess(HISTORY, elapsed=12600, left=H)
    assert risk.reason is Reason.SLOW
    assert risk.probability == pytest.approx(1.5 / 3)


def test_assess_names_the_time_left_otherwise() -> None:
    risk = assess(HISTORY, elapsed=0, left=9000)
    assert risk.reason is Reason.TIME
    assert risk.probability == pytest.approx(0.5833)


def test_no_time_left_is_overdue_and_certain() -> None:
    risk = assess(HISTORY, elapsed=8 * H, left=-600)
    assert (risk.probability, risk.reason) == (1.0, Reason.OVERDUE)


def test_too_little_history_says_so_instead_of_guessing() -> None:
    risk = assess(HISTORY[:4], elapsed=0, left=H, min_samples=5)
    assert (risk.probability, risk.reason) == (0.0, Reason.NO_HISTORY)


@pytest.mark.parametrize(
    ("backlog", "usual", "factor"),
    [
        (12, 4, 3.0),
        (40, 4, MAX_FACTOR),  # clamped: one odd day cannot make it certain
        (1, 4, MIN_FACTOR),
        (None, 4, 1.0),  # no staff known
        (5, None, 1.0),  # no usual backlog sampled yet
        (5, 0, 1.0),  # a usual of zero: no division by zero
    ],
)
def test_pressure_factor(backlog: float | None, usual: float | None, factor: float) -> None:
    assert Pressure(backlog, usual).factor == factor


def test_no_pressure_is_neutral() -> None:
    assert NO_PRESSURE.factor == 1.0


def test_backlog_in_front() -> None:
    assert backlog_in_front(5, 9, 3) == 5.0  # assigned: its assignee's pile
    assert backlog_in_front(None, 9, 3) == 3.0  # unassigned: the line's pile per staff member
    assert backlog_in_front(None, 9, 0) is None  # a line with no staff on duty


def test_median() -> None:
    assert median([]) is None
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 2.0, 3.0]) == 2.5


def test_a_days_sample_is_the_backlog_each_dossier_sees() -> None:
    # Officer A has 3 open dossiers, B has 1: three dossiers see 3, one sees 1.
    assert day_sample([3, 3, 3, 1]) == 2.5
    assert day_sample([None, 2.0]) == 2.0
    assert day_sample([None]) is None
    assert day_sample([]) is None


def test_the_binary_search_counts_what_the_definition_counts() -> None:
    rng = random.Random(766)
    for _ in range(2000):
        durations = sorted(rng.randrange(0, 40) * 900 for _ in range(rng.randrange(0, 30)))
        elapsed = rng.randrange(0, 40) * 900
        left = rng.randrange(-4, 40) * 900
        factor = rng.choice([0.5, 1.0, 1.5, 2.0, 4.0])
        survivors = [d for d in durations if d > elapsed]
        late = [d for d in survivors if (d - elapsed) * factor > left]
        expected = (len(late) + 0.5) / (len(survivors) + 1)
        assert breach_probability(durations, elapsed, left, factor) == pytest.approx(expected)
