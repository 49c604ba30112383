"""The real intake and deadlines services: when the legal clock pauses for a supplement
and resumes, or is extended, the appointment the citizen holds moves with it, in the
dossier, on the lookup and on a reprinted receipt."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from motcua.services.deadlines.app import create_app as deadlines_app
from motcua.services.deadlines.settings import DeadlinesSettings
from motcua.services.intake.app import create_app as intake_app
from motcua.services.intake.receipt import vi_datetime
from motcua.services.intake.settings import IntakeSettings
from motcua.shared.auth import issue_token
from motcua.shared.calendar import WorkingCalendar
from tests.support.serving import serve
from tests.support.waiting import eventually

CAL = WorkingCalendar.default()
CENTER = "nam-cuong"


def _past_pause(now: datetime) -> tuple[datetime, datetime, datetime]:
    """Receipt, pause start and pause end in the past (changes are backdated by an admin,
    as a data migration would), the pause spanning some working time."""
    received = now - timedelta(days=12)
    paused, resumed = now - timedelta(days=9), now - timedelta(days=5)
    assert CAL.working_time_between(paused, resumed) > timedelta(0)
    return received, paused, resumed


@pytest.mark.slow
async def test_a_supplement_pause_moves_the_appointment_the_citizen_holds(
    make_settings: Callable[..., Any],
) -> None:
    intake_settings = make_settings(IntakeSettings)
    deadlines_settings = make_settings(DeadlinesSettings)
    secret = intake_settings.auth_secret.get_secret_value()
    admin = issue_token(secret, center_id=CENTER, subject="migration", role="admin")
    received_at, paused_at, resumed_at = _past_pause(datetime.now(UTC))
    async with (
        serve(intake_app(intake_settings)) as intake_url,
        serve(deadlines_app(deadlines_settings)) as deadlines_url,
        httpx.AsyncClient(
            base_url=intake_url, headers={"Authorization": f"Bearer {admin}"}
        ) as http,
    ):
        r = await http.post(
            "/v1/dossiers",
            json={"procedure_code": "CUTRU-THUONGTRU", "received_at": received_at.isoformat()},
        )
        assert r.status_code == 201, r.text
        receipt = r.json()
        dossier_id = receipt["dossier"]["id"]
        first = datetime.fromisoformat(receipt["dossier"]["appointment_at"])
        for path, body, at in (
            ("request-supplement", {"reason": "Thiếu giấy tờ"}, paused_at),
            ("provide-supplement", {}, resumed_at),
        ):
            step = await http.post(
                f"/v1/dossiers/{dossier_id}/{path}", json={**body, "occurred_at": at.isoformat()}
            )
            assert step.status_code == 200, step.text

        async def dossier() -> dict[str, Any]:
            found: dict[str, Any] = (await http.get(f"/v1/dossiers/{dossier_id}")).json()
            return found

        moved = await eventually(
            dossier,
            until=lambda d: datetime.fromisoformat(d["appointment_at"]) != first,
            timeout=60,
            what="the appointment moved by deadlines' clock",
        )
        later = datetime.fromisoformat(moved["appointment_at"])
        # The clock ran on for the working time of the pause: the date moves later, by
        # deadlines' own arithmetic.
        assert later == CAL.extend(first, CAL.working_time_between(paused_at, resumed_at))
        [change] = [h for h in moved["history"] if h["event_type"] == "appointment.changed"]
        assert change["details"]["reason"] == "pause"
        assert change["actor"] == "deadlines"

        looked = await http.post(
            "/v1/public/lookup",
            json={"code": receipt["dossier"]["code"], "secret": receipt["secret"]},
        )
        assert datetime.fromisoformat(looked.json()["appointment_at"]) == later
        reprint = await http.get(f"/v1/dossiers/{dossier_id}/receipt")
        assert vi_datetime(later, CAL.tz) in reprint.text

        # An officer extends the time limit in deadlines: the date follows once more.
        extended = await http.post(
            f"{deadlines_url}/v1/dossiers/{dossier_id}/extensions",
            json={"amount": 2, "unit": "working_days", "reason": "Cần xác minh thêm"},
        )
        assert extended.status_code == 201, extended.text
        final = await eventually(
            dossier,
            until=lambda d: datetime.fromisoformat(d["appointment_at"]) > later,
            timeout=60,
            what="the appointment moved by the extension",
        )
        assert final["appointment_at"] == extended.json()["due_at"]
        reasons = [
            h["details"]["reason"]
            for h in final["history"]
            if h["event_type"] == "appointment.changed"
        ]
        assert reasons == ["pause", "extension"]
