"""``motcua report on-time`` argument handling (the figures are tested on a database)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from motcua.services.deadlines import cli


def test_parses_the_documented_command_line() -> None:
    args = cli.parser().parse_args(
        ["on-time", "--center", "nc", "--from", "2025-07-01", "--to", "2025-11-27",
         "--as-of", "2025-11-27", "--format", "csv"]
    )  # fmt: skip
    assert (args.center, args.start, args.end) == ("nc", date(2025, 7, 1), date(2025, 11, 27))
    assert args.as_of == datetime(2025, 11, 28)  # a date means the end of that day
    assert args.format == "csv"


@pytest.mark.parametrize(
    "argv",
    [
        ["on-time", "--from", "2025-07-01", "--to", "2025-11-27"],  # no scope
        ["on-time", "--center", "a", "--all-centers", "--from", "2025-07-01", "--to", "2025-11-27"],
        ["on-time", "--center", "a", "--from", "01/07/2025", "--to", "2025-11-27"],
        ["on-time", "--center", "a", "--from", "2025-07-01", "--to", "2025-11-27", "--format", "x"],
        ["on-time", "--center", "a", "--from", "2025-07-01", "--to", "2025-11-27", "--as-of", "x"],
    ],
)
def test_bad_arguments_exit_with_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert "usage: motcua report" in capsys.readouterr().err


def test_period_ending_before_it_starts_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["on-time", "--center", "a", "--from", "2025-07-02", "--to", "2025-07-01"])
    assert code == 2
    assert "ends" in capsys.readouterr().err


def test_parses_the_scorecard_command_line() -> None:
    args = cli.parser().parse_args(
        ["score766", "--province", "--from", "2026-01-01", "--to", "2026-03-31"]
    )
    assert (args.province, args.center, args.format) == (True, None, "table")
    with pytest.raises(SystemExit):
        cli.parser().parse_args(
            [
                "score766",
                "--province",
                "--center",
                "a",
                "--from",
                "2026-01-01",
                "--to",
                "2026-03-31",
            ]
        )


def test_a_scorecard_longer_than_a_year_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["score766", "--center", "a", "--from", "2025-01-01", "--to", "2026-03-31"])
    assert code == 2
    assert "at most 366" in capsys.readouterr().err
