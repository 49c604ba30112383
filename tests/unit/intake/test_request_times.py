"""A request's times must be instants the bus can carry: an aware time whose UTC form
falls outside the calendar (year 1 at a positive offset) is a 422 at the door, not a
failure when the command is built from it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from motcua.services.intake.schemas.requests import CounterReceiptIn, WithdrawIn

# 00:00 on 1 January of year 1, 48 minutes ahead of UTC: the instant is in year 0.
BEFORE_THE_CALENDAR = "0001-01-01T00:00:00+00:48"


def test_a_lifecycle_time_before_the_calendar_is_refused() -> None:
    with pytest.raises(ValidationError, match="out of range once converted to UTC"):
        WithdrawIn.model_validate(
            {"reason": "the citizen asked", "occurred_at": BEFORE_THE_CALENDAR}
        )


def test_a_lifecycle_time_is_kept_in_utc() -> None:
    body = WithdrawIn.model_validate(
        {"reason": "the citizen asked", "occurred_at": "2026-12-06T09:00:00+07:00"}
    )
    assert body.occurred_at is not None
    assert body.occurred_at.utcoffset() is not None
    assert body.occurred_at.isoformat() == "2026-12-06T02:00:00+00:00"


def test_a_receipt_time_before_the_calendar_is_refused() -> None:
    with pytest.raises(ValidationError, match="out of range once converted to UTC"):
        CounterReceiptIn.model_validate(
            {"procedure_code": "HT-XNTTHN", "received_at": BEFORE_THE_CALENDAR}
        )
