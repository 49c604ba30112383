"""The satisfaction tallies: average, share satisfied, groups, CSV."""

from __future__ import annotations

import csv
import io
from datetime import date

from motcua.services.deadlines.satisfaction import Ratings, SatisfactionReport

MARCH, APRIL = date(2026, 3, 1), date(2026, 4, 1)


def test_no_rating_has_no_average_and_no_rate() -> None:
    empty = Ratings()
    assert (empty.count, empty.average, empty.satisfied_rate) == (0, None, None)
    assert empty.as_dict()["by_score"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}


def test_four_and_five_are_satisfied() -> None:
    r = Ratings()
    for score in (5, 4, 3, 2):
        r.add(score)
    assert r.average == 3.5
    assert r.satisfied == 2
    assert r.satisfied_rate == 0.5


def test_the_report_groups_by_center_procedure_and_month() -> None:
    report = SatisfactionReport.from_counts(
        None,
        MARCH,
        date(2026, 4, 30),
        [
            ("b", "HT-KS", APRIL, 5, 2),
            ("a", "HT-KS", MARCH, 4, 1),
            ("a", None, MARCH, 1, 1),
        ],
    )
    assert report.total.count == 4
    assert list(report.by_center) == ["a", "b"]
    assert {k: v.count for k, v in report.by_procedure.items()} == {"HT-KS": 3, None: 1}
    assert list(report.by_month) == ["2026-03", "2026-04"]
    body = report.to_json()
    assert body["total"]["average"] == 3.75
    assert body["scale"] == {"min": 1, "max": 5, "satisfied_from": 4}
    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert [(r["group"], r["key"]) for r in rows] == [
        ("total", ""),
        ("center", "a"),
        ("center", "b"),
        ("procedure", ""),
        ("procedure", "HT-KS"),
        ("month", "2026-03"),
        ("month", "2026-04"),
    ]
    assert rows[0]["score_5"] == "2"
