"""Bus parity: a lifecycle driven by clerk-app commands alone (no HTTP) yields the
same events as the same lifecycle driven through the clerk API."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.intake.support import OP_REQUESTS, Intake, command

LIFECYCLES = {
    "full": [
        "assign",
        "request_supplement",
        "provide_supplement",
        "notify_financial_obligation",
        "fulfil_financial_obligation",
        "resolve",
        "return_result",
    ],
    "withdrawn": ["request_supplement", "withdraw"],
    "stopped": ["assign", "stop"],
}


def _shape(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What must match: types, statuses after each event, payload fields, order."""
    return [(e["event_type"], e["data"]["status"], sorted(e["data"])) for e in events]


@pytest.mark.parametrize("lifecycle", list(LIFECYCLES))
async def test_bus_and_http_yield_the_same_event_sequence(intake: Intake, lifecycle: str) -> None:
    ops = LIFECYCLES[lifecycle]

    over_http = (await intake.receive("HT-KETHON"))["dossier"]["id"]
    await intake.drive(over_http, ops)

    over_bus = uuid.uuid4()
    commands = [command("dossier.receive", {"procedure_code": "HT-KETHON"}, dossier_id=over_bus)]
    commands += [command(f"dossier.{op}", OP_REQUESTS[op][1], dossier_id=over_bus) for op in ops]
    await intake.send(*commands)

    http_events = await intake.wait_events(over_http, len(ops) + 1)
    bus_events = await intake.wait_events(over_bus, len(ops) + 1)
    assert _shape(bus_events) == _shape(http_events)
    assert next(e["event_type"] for e in bus_events) == "dossier.received"
    # The bus lifecycle is also what clerks see over HTTP afterwards.
    detail = await intake.dossier(str(over_bus))
    assert detail["status"]["code"] == bus_events[-1]["data"]["status"]
    assert [h["via"] for h in detail["history"]] == ["bus"] * (len(ops) + 1)
