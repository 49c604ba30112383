"""Every move of the transition table through the clerk API, and every other move refused.

Statuses intake's own operations never lead to (1 registered, 4 transferred, 7
returned for rework) are set directly in the database, so that the table's moves
out of them are exercised too.
"""

from __future__ import annotations

import pytest

from motcua.services.intake.catalog import load_statuses
from motcua.services.intake.domain import TRANSITIONS, Lifecycle, Op, Step
from tests.integration.intake.support import OP_REQUESTS, Intake

STATUSES = load_statuses().statuses
LIFECYCLE = Lifecycle(STATUSES)

# How a freshly received dossier reaches each step through the API (None: set it directly).
ROUTES: dict[str, list[str] | None] = {
    "registered": None,
    "received": [],
    "processing": ["assign"],
    "transferred": None,
    "supplement_requested": ["request_supplement"],
    "financial_obligation": ["notify_financial_obligation"],
    "returned_for_rework": None,
    "stopped (withdrawn)": ["withdraw"],
    "stopped (stopped)": ["stop"],
    "resolved": ["resolve"],
    "result_returned": ["resolve", "return_result"],
}
EVENT_OF = {
    Op.ASSIGN: "dossier.assigned",
    Op.REQUEST_SUPPLEMENT: "dossier.supplement_requested",
    Op.PROVIDE_SUPPLEMENT: "dossier.supplement_provided",
    Op.NOTIFY_FINANCIAL_OBLIGATION: "dossier.financial_obligation_notified",
    Op.FULFIL_FINANCIAL_OBLIGATION: "dossier.financial_obligation_fulfilled",
    Op.RESOLVE: "dossier.resolved",
    Op.RETURN_RESULT: "dossier.returned",
    Op.WITHDRAW: "dossier.withdrawn",
    Op.STOP: "dossier.stopped",
}


def _step(route: str) -> Step:
    return Step(route.split(" ")[0])


async def _dossier_in(intake: Intake, route: str) -> str:
    received = await intake.receive()
    dossier_id: str = received["dossier"]["id"]
    path = ROUTES[route]
    if path is None:
        await intake.force_status(dossier_id, STATUSES.code(_step(route)))
    else:
        await intake.drive(dossier_id, path)
    return dossier_id


VALID = [
    (op, route)
    for op, (sources, _) in TRANSITIONS.items()
    for route in ROUTES
    if _step(route) in sources
]
INVALID = [
    (op, route)
    for op, (sources, _) in TRANSITIONS.items()
    for route in ROUTES
    if _step(route) not in sources
]


def test_the_cases_cover_the_whole_table() -> None:
    moves = {(op, s) for op, (sources, _) in TRANSITIONS.items() for s in sources}
    assert {(op, _step(route)) for op, route in VALID} == moves
    assert len(VALID) + len(INVALID) == len(Op) * len(ROUTES)
    assert {_step(r) for r in ROUTES} == set(Step)


@pytest.mark.parametrize(("op", "route"), VALID, ids=[f"{o}-from-{r}" for o, r in VALID])
async def test_allowed_move_changes_status_and_records_its_event(
    intake: Intake, op: Op, route: str
) -> None:
    dossier_id = await _dossier_in(intake, route)
    before = await intake.history_types(dossier_id)

    r = await intake.op(dossier_id, op.value)

    assert r.status_code == 200, r.text
    target = STATUSES.code(TRANSITIONS[op][1])
    body = r.json()
    assert body["status"]["code"] == target
    assert body["allowed_operations"] == [o.value for o in LIFECYCLE.allowed(target)]
    assert await intake.history_types(dossier_id) == [*before, EVENT_OF[op]]
    assert body["history"][-1]["status"] == target


@pytest.mark.parametrize(("op", "route"), INVALID, ids=[f"{o}-from-{r}" for o, r in INVALID])
async def test_forbidden_move_is_409_naming_the_allowed_ones_and_changes_nothing(
    intake: Intake, op: Op, route: str
) -> None:
    dossier_id = await _dossier_in(intake, route)
    before = await intake.state(dossier_id)

    r = await intake.op(dossier_id, op.value)

    assert r.status_code == 409, r.text
    body = r.json()
    current = STATUSES.code(_step(route))
    assert body["operation"] == op.value
    assert body["status"]["code"] == current
    assert body["allowed"] == [o.value for o in LIFECYCLE.allowed(current)]
    assert f"cannot {op.value}" in body["error"]
    assert await intake.state(dossier_id) == before


async def test_every_operation_has_an_http_route() -> None:
    assert set(OP_REQUESTS) == {op.value for op in Op}
