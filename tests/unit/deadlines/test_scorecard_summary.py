"""The daily summary's SQL (migration 0008) holds the scorecard's thresholds and zone,
and only whole days of that zone are read from it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from motcua.services.deadlines import scorecard
from motcua.services.deadlines.repository.scorecard import SUMMARY_TZ, summary_days
from motcua.shared.reference.supplements import REPEATED_FROM

MIGRATION = (Path(scorecard.__file__).parent / "migrations" / "0008_scorecard_days.sql").read_text(
    encoding="utf-8"
)


def test_the_summary_uses_the_scorecards_thresholds_and_zone() -> None:
    assert f"c.supplement_requests >= {REPEATED_FROM} AS repeated" in MIGRATION
    assert f"c.rating <= {scorecard.DISLIKE_AT_MOST}, false" in MIGRATION
    assert f"AT TIME ZONE '{SUMMARY_TZ.key}'" in MIGRATION


def test_only_local_midnights_are_summary_days() -> None:
    # 1 March 00:00 in Hà Nội is 28 February 17:00 UTC.
    lo, hi = datetime(2026, 2, 28, 17, tzinfo=UTC), datetime(2026, 3, 31, 17, tzinfo=UTC)
    first, after = summary_days(lo, hi) or (None, None)
    assert (str(first), str(after)) == ("2026-03-01", "2026-04-01")
    assert summary_days(datetime(2026, 3, 1, tzinfo=UTC), hi) is None
    assert summary_days(lo, datetime(2026, 3, 31, 17, 30, tzinfo=UTC)) is None
