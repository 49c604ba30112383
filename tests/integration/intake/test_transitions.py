"""Every move of the transition table through the clerk API, and every other move refused.

Every status is reached through the API: an online submission waits in 1 (registered),
and every other step is an operation away from it or from a counter receipt.
"""

from __future__ import annotations

import pytest

from motcua.services.intake.catalog import load_statuses
from motcua.services.intake.domain import TRANSITIONS, Lifecycle, Op, Step
from tests.integration.intake.support import OP_REQUESTS, Intake

STATUSES = load_statuses().statuses
LIFECYCLE = Lifecycle(STATUSES)

# How a dossier reaches each step through the API: from an online submission (which
# waits in "registered") or from a counter receipt (which starts in "received").
ONLINE = "online"
ROUTES: dict[str, list[str]] = {
    "registered": [ONLINE],
    "not_accepted": [ONLINE, "not_accept"],
    "received": [],
    "processing": ["assign"],
    "transferred": ["transfer"],
    "supplement_requested": ["request_supplement"],
    "financial_obligation": ["notify_financial_obligation"],
    "returned_for_rework": ["assign", "return_for_rework"],
    "withdrawn": ["withdraw"],
    "stopped": ["stop"],
    "resolved": ["resolve"],
    "result_returned": ["resolve", "return_result"],
}
EVENT_OF = {
    Op.ACCEPT: "dossier.received",
    Op.NOT_ACCEPT: "dossier.not_accepted",
    Op.TRANSFER: "dossier.transferred",
    Op.TRANSFER_BACK: "dossier.transfer_returned",
    Op.RETURN_FOR_REWORK: "dossier.returned_for_rework",
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
    path = ROUTES[route]
    dossier_id: str
    if path[:1] == [ONLINE]:
        dossier_id = (await intake.submit_online())["dossier_id"]
        path = path[1:]
    else:
        dossier_id = (await intake.receive())["dossier"]["id"]
    await intake.drive(dossier_id, path)
    body = await intake.dossier(dossier_id)
    assert body["status"]["code"] == STATUSES.code(_step(route))
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
    # What the national portal is told: the mapped code, on the dossier and its event.
    portal = STATUSES.info(target).portal
    assert body["status"]["portal"] == portal
    last = (await intake.wait_events(dossier_id, len(before) + 1))[-1]
    assert (last["event_type"], last["data"]["portal_status"]) == (EVENT_OF[op], portal)
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
