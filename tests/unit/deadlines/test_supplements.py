"""Counting supplement requests and flagging the repeated ones."""

from __future__ import annotations

from datetime import UTC, datetime

from motcua.services.deadlines.domain import PauseChannel, PauseMark
from motcua.services.deadlines.supplements import (
    Flagged,
    SupplementReport,
    repeated,
    supplement_requests,
)

AT = datetime(2026, 3, 2, 2, tzinfo=UTC)


def test_only_supplement_requests_count_not_provisions_nor_payments() -> None:
    marks = [
        PauseMark(PauseChannel.SUPPLEMENT, True, AT),
        PauseMark(PauseChannel.SUPPLEMENT, False, AT),
        PauseMark(PauseChannel.FINANCIAL, True, AT),
        PauseMark(PauseChannel.SUPPLEMENT, True, AT),
    ]
    assert supplement_requests(marks) == 2
    assert supplement_requests([]) == 0


def test_the_second_request_flags_the_dossier() -> None:
    assert [repeated(n) for n in (0, 1, 2, 3)] == [False, False, True, True]


def test_the_report_reconciles_its_groups() -> None:
    report = SupplementReport.from_counts(
        [("HT-KS", "justice", 0, 5), ("HT-KS", "justice", 2, 1), ("CT", None, 1, 2)],
        [Flagged("id", "NC-1", "HT-KS", 2)],
    )
    total = report.to_json()["total"]
    assert total == {
        "received": 8,
        "with_supplement": 3,
        "repeated": 1,
        "repeated_rate": 0.125,
        "requests": 4,
    }
    assert sum(t.received for t in report.by_line.values()) == 8
    assert report.to_json()["by_line"][0]["line_code"] is None
