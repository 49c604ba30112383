"""The escalation ladder, pure: who hears of a deadline, and how missing rungs climb."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from motcua.services.notify.domain import Channel, Kind, QuietHours, send_not_before
from motcua.services.notify.ladder import (
    DEFAULT_LADDER,
    Member,
    Stage,
    leaders,
    reach,
    valid_ladder,
)

STAFF = [
    Member("an", "officer", "land"),
    Member("binh", "department_head", "land"),
    Member("chi", "department_head", "justice"),
    Member("dung", "leader", None),
    Member("em", "officer", "land", active=False),
]


def test_the_default_ladder_climbs_one_rung_per_stage() -> None:
    def who(stage: Stage) -> tuple[str, ...]:
        return reach(DEFAULT_LADDER, stage, STAFF, assignee="an", department=None).staff_ids

    assert who("approaching") == ("an",)
    assert who("at_risk") == ("an", "binh")
    assert who("overdue") == ("an", "binh", "dung")


def test_the_assignees_own_department_picks_the_head() -> None:
    moved = [*STAFF, Member("gia", "officer", "justice")]
    got = reach(DEFAULT_LADDER, "at_risk", moved, assignee="gia", department="land")
    assert got.staff_ids == ("gia", "chi")


def test_no_assignee_climbs_to_the_head_of_the_department_then_the_leader() -> None:
    got = reach(DEFAULT_LADDER, "approaching", STAFF, assignee=None, department="land")
    assert got.staff_ids == ("binh",)
    # A member who left is no assignee: with no department known, the leader hears.
    got = reach(DEFAULT_LADDER, "approaching", STAFF, assignee="em", department=None)
    assert got.staff_ids == ("dung",)
    assert got.unheld == ()


def test_a_center_with_no_staff_reaches_nobody_and_says_which_rungs() -> None:
    got = reach(DEFAULT_LADDER, "overdue", [], assignee="an", department="land")
    assert got.staff_ids == ()
    assert got.unheld == ("assignee", "department_head", "leader")


def test_each_member_is_reached_once() -> None:
    only_leader = [Member("dung", "leader", None)]
    got = reach(DEFAULT_LADDER, "overdue", only_leader, assignee=None, department=None)
    assert got.staff_ids == ("dung",)


def test_a_configured_ladder_replaces_the_stages_it_names() -> None:
    ladder = valid_ladder({"approaching": ["leader"]})
    assert ladder["approaching"] == ("leader",)
    assert ladder["overdue"] == DEFAULT_LADDER["overdue"]
    assert reach(ladder, "approaching", STAFF, assignee="an", department=None).staff_ids == (
        "dung",
    )


@pytest.mark.parametrize(
    ("ladder", "named"), [({"late": ["leader"]}, "late"), ({"overdue": ["mayor"]}, "mayor")]
)
def test_an_unknown_stage_or_rung_is_refused_by_name(
    ladder: dict[str, list[str]], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        valid_ladder(ladder)


def test_staff_messages_wait_out_quiet_hours_on_every_channel() -> None:
    quiet = QuietHours(time(22, 0), time(6, 0))
    night = datetime(2025, 12, 1, 16, 0, tzinfo=UTC)  # 23:00 in Hà Nội
    morning = datetime(2025, 12, 1, 23, 0, tzinfo=UTC)  # 06:00 the next day
    for channel in (Channel.SMS, Channel.EMAIL, Channel.WEBHOOK):
        assert send_not_before(night, channel=channel, kind=Kind.STAFF_AT_RISK, quiet=quiet) == (
            morning
        )
    # A citizen's e-mail is not held: only their SMS are.
    assert send_not_before(night, channel=Channel.EMAIL, kind=Kind.RESULT_READY, quiet=quiet) == (
        night
    )


def test_a_dossier_still_open_after_overdue_reaches_the_active_leaders() -> None:
    assert leaders([*STAFF, Member("gone", "leader", None, active=False)]) == ("dung",)
    assert leaders([]) == ()
