"""The 766 scorecard's arithmetic, indicator by indicator, on one small hand-counted
center (``CENTER``): 10 dossiers received in the period, 4 of them online; 8 resolved (6
early or on time, 2 late), 1 withdrawn before its due instant, 1 open past it; one of the
6 resolved on time was asked for supplements twice; 3 overdue (2 resolved late, 1 open), 2
with an apology letter; 6 of the 8 resolved with a result file; 3 digitised with a result;
2 with a reused component; 5 rated, 2 of them 1 or 2; 24 days of handling in all.
Each test writes the arithmetic it checks."""

from __future__ import annotations

from datetime import date

import pytest

from motcua.services.deadlines.errors import InvalidInput
from motcua.services.deadlines.scorecard import (
    INDICATORS,
    NO_DOSSIERS,
    Counts,
    Handling,
    Scorecard,
    Status,
    check_period,
    compare,
    indicator_results,
)

START, END = date(2026, 3, 1), date(2026, 3, 31)

CENTER = Counts(
    received=10,
    # 6 resolved early or on time, one of them asked twice (late by the rule): 5;
    # plus the withdrawn one, ended before its due instant: 6. The open overdue one is not.
    on_time_766=6,
    repeated_supplement=1,
    resolved=8,
    resolved_late=2,
    overdue=3,
    overdue_with_letter=2,
    online=4,
    with_result=6,
    digitised=3,
    reused=2,
    rated=5,
    disliked=2,
    handling_seconds=24 * 86400,
)


def result(counts: Counts, indicator: str) -> dict[str, object]:
    found = {r.indicator.id: r.as_dict() for r in indicator_results(counts)}
    return found[indicator]


def test_2_1_on_time_counts_repeated_supplements_late() -> None:
    # 6 of 10 received ended on time and were not asked twice: 6/10 = 0.6.
    r = result(CENTER, "2.1")
    assert (r["numerator"], r["denominator"], r["rate"]) == (6, 10, 0.6)
    assert r["points"] is None  # no rule to points was confirmed


def test_2_2_average_handling_time_in_days() -> None:
    # 24 days over 8 resolved dossiers: 3 days each.
    assert result(CENTER, "2.2")["rate"] == 3.0
    # Per procedure: 2 resolved in 5 days in all -> 2.5 days.
    assert Handling("HT-KS", 2, 5 * 86400).average_days == 2.5
    assert Handling("HT-KS", 0, 0).average_days is None


def test_overdue_dossiers_with_an_apology_letter() -> None:
    # 2 of 3 overdue dossiers got a letter: 2/3.
    r = result(CENTER, "2.x")
    assert (r["numerator"], r["denominator"]) == (2, 3)
    assert r["rate"] == pytest.approx(2 / 3)


def test_3_3_online_share_and_its_share_of_max() -> None:
    # 4 of 10 filed online: 0.4; full points from 0.5, so 0.4 / 0.5 = 0.8 of the maximum,
    # and no points: the maximum was not confirmed.
    r = result(CENTER, "3.3")
    assert r["rate"] == 0.4
    assert r["share_of_max"] == pytest.approx(0.8)
    assert r["points"] is None


def test_4_1_electronic_results_over_resolved() -> None:
    # 6 of 8 resolved dossiers have their result file: 0.75.
    assert result(CENTER, "4.1")["rate"] == 0.75


def test_4_2_digitised_dossiers() -> None:
    # 3 of 10 received have a digitised component and a result: 0.3; 0.3 / 0.8 = 0.375.
    r = result(CENTER, "4.2")
    assert r["rate"] == 0.3
    assert r["share_of_max"] == pytest.approx(0.375)


def test_4_3_reuse() -> None:
    # 2 of 10 received reused a component: 0.2; 0.2 / 0.8 = 0.25 of the maximum.
    r = result(CENTER, "4.3")
    assert r["rate"] == 0.2
    assert r["share_of_max"] == pytest.approx(0.25)


def test_5_4_satisfaction_and_its_points() -> None:
    # 1 − 2 late / 10 − 2 disliked / 10 = 0.6; full points (6) from 0.9, so
    # 6 × 0.6 / 0.9 = 4.0 points.
    r = result(CENTER, "5.4")
    assert r["rate"] == pytest.approx(0.6)
    assert r["points"] == 4.0
    # At or above 0.9, the whole 6; never below 0 however many are late and disliked.
    assert result(Counts(received=10, disliked=1), "5.4")["points"] == 6
    assert result(Counts(received=2, resolved_late=2, disliked=2), "5.4")["rate"] == 0


def test_total_is_points_of_what_motcua_can_compute() -> None:
    card = Scorecard("nam-cuong", START, END, CENTER)
    assert (card.points, card.points_possible) == (4.0, 6)
    assert card.to_json()["total"] == "4 of the 6 points motcua can compute"


def test_every_indicator_not_held_says_what_it_needs() -> None:
    not_held = [r for r in indicator_results(CENTER) if r.indicator.status is Status.NOT_HELD]
    assert {r.indicator.id for r in not_held} >= {"1.1", "1.4", "3.1", "3.6", "4.5", "5.3"}
    assert all(r.indicator.reason and r.rate is None for r in not_held)
    assert len(INDICATORS) == len({i.id for i in INDICATORS})


def test_an_empty_period_is_zeroes_without_division() -> None:
    card = Scorecard("nam-cuong", START, END, Counts())
    body = card.to_json()
    assert body["note"] == NO_DOSSIERS
    assert body["points"] == 0
    computed = [i for i in body["indicators"] if i["status"] == "computed"]
    assert all(i["rate"] is None and i["note"] == NO_DOSSIERS for i in computed)
    assert NO_DOSSIERS in card.to_table()


def test_the_province_sums_counts_before_dividing() -> None:
    # Center a: 1 of 1 on time; center b: 1 of 3. The province: 2 of 4 = 0.5, not the
    # mean of the rates (1 + 1/3) / 2; a registered center without dossiers has a row.
    a = Counts(received=1, on_time_766=1)
    b = Counts(received=3, on_time_766=1)
    comparison = compare(START, END, {"a": a, "b": b}, ["a", "b", "c"], {"a": "Phường A"})
    assert result(comparison.province.counts, "2.1")["rate"] == 0.5
    rows = comparison.rows()
    assert [r["center_id"] for r in rows] == ["a", "b", "c"]
    assert rows[0]["name"] == "Phường A"
    assert rows[2]["received"] == 0
    assert comparison.to_csv().count("\n") == 1 + 4 * len(INDICATORS)


def test_period_longer_than_a_year_is_refused() -> None:
    check_period(date(2025, 1, 1), date(2025, 12, 31))
    with pytest.raises(InvalidInput) as refused:
        check_period(date(2025, 1, 1), date(2026, 1, 2))
    assert refused.value.field == "to"
