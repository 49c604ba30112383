"""Appointment dates through the API and on the bus, for the hand-computed cases
(received with backdated times, as a data migration would, hence an admin token)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.integration.intake.support import Intake
from tests.unit.intake.appointment_cases import CASES

ICT = ZoneInfo("Asia/Ho_Chi_Minh")
PICKED = [
    c
    for c in CASES
    if c[3]
    in {
        "3 days across Tết: 23, 24, 25 Feb",
        "after 15:00 before Tết: after it",
        "the make-up Saturday counts",
        "after 15:00 Friday: Saturday",
        "after 15:00: the next day",
    }
]


@pytest.mark.parametrize(
    ("code", "received", "expected", "why"), PICKED, ids=[c[3] for c in PICKED]
)
async def test_receipt_and_event_carry_the_hand_computed_appointment(
    intake: Intake, code: str, received: str, expected: str, why: str
) -> None:
    at = datetime.fromisoformat(received).replace(tzinfo=ICT)
    want = datetime.fromisoformat(expected).replace(tzinfo=ICT)
    out = await intake.receive(code, received_at=at.isoformat(), role="admin")
    d = out["dossier"]
    assert datetime.fromisoformat(d["appointment_at"]) == want, why
    assert d["appointment_local"] == f"{want:%H:%M %d/%m/%Y}"
    assert d["code"].split("-")[1] == f"{at:%Y%m%d}"  # the local day of receipt

    [event] = await intake.wait_events(d["id"], 1)
    data = event["data"]
    assert datetime.fromisoformat(data["appointment_at"]) == want
    assert datetime.fromisoformat(data["received_at"]) == at
    assert datetime.fromisoformat(event["occurred_at"]) == at
    assert data["time_limit"] == d["time_limit"]
    assert data["procedure_code"] == code
