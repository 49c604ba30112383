"""The appointment printed on the receipt, against hand-computed dates."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from motcua.services.intake.catalog import Procedure, TimeLimitSpec, load_catalog, load_statuses
from motcua.services.intake.domain import Lifecycle
from motcua.services.intake.usecases import Intake
from motcua.shared.calendar import TimeUnit, WorkingCalendar
from motcua.shared.crypto import BUS, Keyring
from tests.unit.intake.appointment_cases import CASES

ICT = ZoneInfo("Asia/Ho_Chi_Minh")


def _intake() -> Intake:
    from datetime import timedelta

    book = load_statuses()
    return Intake(
        catalog=load_catalog(),
        book=book,
        lifecycle=Lifecycle(book.statuses),
        calendar=WorkingCalendar.default(),
        contact_keys=Keyring("k1", {"k1": "k"}, BUS),
        pepper=b"p",
        center_codes={},
        grace=timedelta(minutes=5),
    )


@pytest.mark.parametrize(("code", "received", "expected", "why"), CASES, ids=[c[3] for c in CASES])
def test_appointment_matches_the_hand_computed_date(
    code: str, received: str, expected: str, why: str
) -> None:
    intake = _intake()
    at = datetime.fromisoformat(received).replace(tzinfo=ICT)
    due = intake.appointment(intake.procedure(code), at)
    assert due.astimezone(ICT) == datetime.fromisoformat(expected).replace(tzinfo=ICT), why
    assert due.utcoffset() is not None
    assert due.utcoffset().total_seconds() == 0


def test_working_hour_limits_count_office_time() -> None:
    intake = _intake()
    base = intake.procedure("CT-BANSAO")
    hours = base.model_copy(
        update={"time_limit": TimeLimitSpec(amount=8, unit=TimeUnit.WORKING_HOURS)}
    )
    assert isinstance(hours, Procedure)
    # Mon 09:00 + 8 office hours: 6 on Monday (to 17:00), 2 on Tuesday (to 09:30).
    at = datetime(2026, 3, 2, 9, 0, tzinfo=ICT)
    assert intake.appointment(hours, at).astimezone(ICT) == datetime(2026, 3, 3, 9, 30, tzinfo=ICT)
