"""The forecast's backtest: its scoring by hand, what the replay may know at a snapshot,
and the figures docs/forecast.md reports."""

from __future__ import annotations

import pytest

from motcua.devtools.cli import main as motcua_cli
from motcua.simulator.backtest import Score, _clock_at, main, replay, run
from motcua.simulator.shortage import DAY, Case, plan_shortage


def test_score_by_hand() -> None:
    s = Score("rule", flagged=8, true_positives=6, late=10, eligible=40)
    assert s.precision == 6 / 8
    assert s.recall == 6 / 10
    assert s.f1 == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    assert Score("none", 0, 0, 0, 5).precision is None
    assert Score("none", 0, 0, 0, 5).f1 is None


def test_a_pause_still_to_come_has_not_moved_the_due_instant() -> None:
    c = Case(0, "P", "A", received=0, started=0, due=5 * DAY, work=0, pause=(DAY, 2 * DAY))
    # Before the pause: the due instant as it stood then, one day earlier.
    assert _clock_at(c, DAY // 2) == (DAY // 2, 4 * DAY - DAY // 2)
    assert _clock_at(c, DAY + 1) is None  # paused: nothing to forecast
    assert _clock_at(c, 3 * DAY) == (2 * DAY, 2 * DAY)


def test_late_cases_are_counted_against_both_rules() -> None:
    # Ten dossiers of one 3-day procedure received at the opening of day 0 and due at the
    # close of day 3: five resolved on day 1, five on day 5 (late).
    cases = [
        Case(i, "P", "A", 0, 0, 4 * DAY, 0, resolved=(DAY if i < 5 else 5 * DAY)) for i in range(10)
    ]
    result = replay(cases, 6 * DAY, lead_days=2)
    # At the snapshots with 2 days or more left (days 0, 1 and 2) all ten were running at
    # day 0, so all ten are eligible; five went late.
    assert (result.eligible, result.late) == (10, 5)
    # "Under 3 days left" first holds on day 2 (2 days left), when only the late five are
    # still open: a perfect rule here.
    baseline = result.baseline[0]
    assert baseline.rule == "baseline < 3 days left"
    assert (baseline.flagged, baseline.true_positives) == (5, 5)
    # From day 1 the forecast has five finished cases, all of one day; the five still open
    # have taken longer than every one of them: even odds, (0 + .5) / (0 + 1). So every
    # threshold up to 0.5 flags exactly the late five, and none above.
    for s in result.forecast:
        expected = (
            5
            if s.rule
            in ("forecast p >= 0.2", "forecast p >= 0.3", "forecast p >= 0.4", "forecast p >= 0.5")
            else 0
        )
        assert (s.flagged, s.true_positives) == (expected, expected), s.rule


def test_the_shortage_history_goes_late_in_the_shortage() -> None:
    cases = plan_shortage(seed=2025)
    late_days = [c.received // DAY for c in cases if c.resolved and c.resolved > c.due]
    in_shortage = [d for d in late_days if 55 <= d < 95]
    assert len(in_shortage) > 0.9 * len(late_days)


def test_the_figures_of_docs_forecast() -> None:
    shortage = run("shortage", seed=2025)
    best_forecast = shortage.best(shortage.forecast)
    best_baseline = shortage.best(shortage.baseline)
    assert best_forecast is not None
    assert best_baseline is not None
    assert (best_forecast.f1 or 0) > (best_baseline.f1 or 0)
    nam_cuong = run("nam-cuong")
    assert nam_cuong.late == 0


def test_the_cli_prints_both_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--history", "shortage", "--lead-days", "2"]) == 0
    out = capsys.readouterr().out
    assert "forecast p >= 0.5" in out
    assert "baseline < 3 days left" in out


def test_motcua_report_backtest_reaches_the_backtest(capsys: pytest.CaptureFixture[str]) -> None:
    assert motcua_cli(["report", "backtest", "--history", "nam-cuong", "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert '"history": "nam-cuong"' in out
    assert '"late": 0' in out
