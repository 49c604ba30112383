"""The replay through the real intake and deadlines services equals the ground truth."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from motcua.devtools.bus import produce
from motcua.services.deadlines.app import create_app as deadlines_app
from motcua.services.deadlines.settings import DeadlinesSettings
from motcua.services.intake.app import create_app as intake_app
from motcua.services.intake.settings import IntakeSettings
from motcua.shared.auth import issue_token
from motcua.shared.calendar import WorkingCalendar
from motcua.shared.events.commands import ReceiveData, ReceiveDossier
from motcua.shared.events.topics import INTAKE_COMMANDS
from motcua.simulator.replay import read_report, render, replay
from motcua.simulator.workload import Scenario, plan_center
from tests.support.serving import serve
from tests.support.waiting import eventually

CAL = WorkingCalendar.default()


def small_scenario(seed: int) -> Scenario:
    as_of = datetime(2025, 11, 27, 17, 0, tzinfo=CAL.tz).astimezone(UTC)
    start = date(2025, 10, 1)
    scenario = Scenario(["nam-cuong"], start, as_of)
    scenario.plans = plan_center(
        "nam-cuong", received=240, in_progress=12, start=start, as_of=as_of, seed=seed, cal=CAL
    )
    return scenario


@pytest.mark.slow
async def test_replay_report_equals_ground_truth_and_is_idempotent(
    make_settings: Callable[..., Any],
) -> None:
    scenario = small_scenario(seed=11)
    intake_settings = make_settings(IntakeSettings)
    deadlines_settings = make_settings(DeadlinesSettings)
    secret = deadlines_settings.auth_secret.get_secret_value()
    lines: list[str] = []
    async with serve(intake_app(intake_settings)), serve(deadlines_app(deadlines_settings)) as url:
        report, truth = await replay(
            scenario,
            seed=11,
            kafka=intake_settings.kafka,
            deadlines_url=url,
            auth_secret=secret,
            timeout=180,
            say=lines.append,
        )
        assert report == truth, render(report, truth, "as of")
        assert truth["received"] == 240
        assert truth["in_progress_within_deadline"] == 12
        assert any("100%" in line for line in lines)  # progress was shown

        kafka = intake_settings.kafka
        await replay(
            scenario, seed=11, kafka=kafka, deadlines_url=url,
            auth_secret=secret, timeout=60, say=lines.append,
        )  # fmt: skip
        # One new dossier per partition, for another center, after the resent commands:
        # once deadlines counts all of them, intake has consumed everything before them.
        topic = INTAKE_COMMANDS.topic(kafka.topic_prefix)
        # Backdated, like the migration: signed by an admin of the marker center.
        admin = issue_token(secret, center_id="marker", subject="t", role="admin")
        for partition in range(INTAKE_COMMANDS.partitions):
            marker = ReceiveDossier(
                command_id=uuid.uuid4(), center_id="marker", issued_by="t",
                issued_at=scenario.as_of - timedelta(hours=1), dossier_id=uuid.uuid4(),
                data=ReceiveData(procedure_code="CT-BANSAO"),
            ).signed(admin)  # fmt: skip
            await produce(kafka.bootstrap_servers, topic, [marker.to_bytes()], partition=partition)
        async with httpx.AsyncClient() as client:
            marker_token = issue_token(secret, center_id="marker", subject="t", role="leader")
            markers = Scenario(["marker"], scenario.start, scenario.as_of)
            await eventually(
                lambda: read_report(client, url, marker_token, markers),
                until=lambda r: r["received"] == INTAKE_COMMANDS.partitions,
                timeout=60,
                what="every marker counted",
            )
            token = issue_token(secret, center_id="nam-cuong", subject="t", role="leader")
            again = await read_report(client, url, token, scenario)
        assert {k: again[k] for k in truth} == truth  # same ids: no second effect
