"""The role policy: every cell of the table, unknown roles refused, every route checked.

The expected table is written out here, apart from ``motcua.shared.policy``, so that a change to
the policy has to be made twice, on purpose.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import HTTPException
from fastapi.routing import iter_route_contexts

from motcua.devtools.services import SERVICES
from motcua.shared.auth import AuthError, Principal, issue_token, verify_token
from motcua.shared.policy import (
    POLICY,
    ROLES,
    Operation,
    authorize,
    roles_markdown,
    route_operations,
)

ROOT = Path(__file__).resolve().parents[3]

# Columns: clerk, officer, leader, admin, province.
EXPECTED = """
queue.counter.operate           x x x x .
queue.tickets.read              x x x x .
queue.stats.read                x x x x .
intake.dossier.receive          x x x x .
intake.dossier.read             x x x x .
intake.dossier.assign           x x x x .
intake.dossier.supplement       x x x x .
intake.dossier.financial        x x x x .
intake.dossier.withdraw         x x x x .
intake.dossier.resolve          . x x x .
intake.dossier.stop             . x x x .
intake.dossier.return           . x x x .
intake.dossier.backdate         . . . x .
intake.dossier.accept           x x x x .
intake.dossier.transfer         x x x x .
intake.dossier.rework           . x x x .
intake.document.attach          x x x x .
intake.document.read            x x x x .
intake.result.attach            . x x x .
deadlines.clock.read            x x x x .
deadlines.extension.grant       . x x x .
deadlines.worklist.read         x x x x .
deadlines.calendar.read         x x x x .
deadlines.calendar.write        . . x x .
deadlines.statistics.read       x x x x x
deadlines.statistics.all_centers . . . . x
deadlines.dashboard.view        x x x x .
deadlines.risks.read            . . x x .
deadlines.apology_letter.write  . x x x .
deadlines.timeline.read         x x x x .
deadlines.scorecard.read        x x x x x
deadlines.province_dashboard.view . . . . x
notify.deliveries.read          x x x x .
notify.staff.read               . . x x .
notify.staff.create             . . . x .
notify.staff.update             . . . x .
notify.staff.deactivate         . . . x .
notify.ladder.read              . . x x .
notify.ladder.write             . . . x .
registry.centers.read           x x x x x
registry.centers.write          . . . x .
registry.audit.read             . . . x x
registry.centers.write_any      . . . . .
registry.audit.read_any         . . . . x
registry.procedures.write       . . . . .
"""
COLUMNS = ("clerk", "officer", "leader", "admin", "province")

# The province's IT team (``province_admin``): every read of the province column, and
# these writes besides.
PROVINCE_ADMIN_WRITES = {
    "registry.centers.write",
    "registry.centers.write_any",
    "registry.procedures.write",
}


def _expected() -> dict[tuple[str, str], bool]:
    cells = {}
    for line in EXPECTED.strip().splitlines():
        op, *marks = line.split()
        for role, mark in zip(COLUMNS, marks, strict=True):
            cells[(op, role)] = mark == "x"
        cells[(op, "province_admin")] = cells[(op, "province")] or op in PROVINCE_ADMIN_WRITES
    return cells


CELLS = _expected()


def test_the_table_has_every_operation_and_role() -> None:
    assert set(ROLES) == {*COLUMNS, "province_admin"}
    assert {op for op, _ in CELLS} == {op.value for op in Operation} == set(POLICY)


@pytest.mark.parametrize(("operation", "role"), sorted(CELLS))
def test_every_cell(operation: str, role: str) -> None:
    principal = Principal(subject="s", center_id="nam-cuong", role=role)  # type: ignore[arg-type]
    if CELLS[(operation, role)]:
        assert authorize(principal, Operation(operation)) is principal
    else:
        with pytest.raises(HTTPException) as refused:
            authorize(principal, Operation(operation))
        assert refused.value.status_code == 403
        assert operation in str(refused.value.detail)


@pytest.mark.parametrize("role", ["superuser", "", "Admin", "root"])
def test_a_token_with_an_unknown_role_is_refused(role: str) -> None:
    token = issue_token("s3cret", center_id="c", subject="s", role=role)  # type: ignore[arg-type]
    with pytest.raises(AuthError, match="unknown role"):
        verify_token("s3cret", token)


def test_the_printed_table_is_the_enforced_one() -> None:
    printed = (ROOT / "docs" / "security" / "roles.md").read_text(encoding="utf-8")
    assert printed == roles_markdown()
    assert "| `intake.dossier.resolve` | — | yes | yes | yes | — | — |" in printed
    assert "| `registry.procedures.write` | — | — | — | — | — | yes |" in printed


def _uses_bearer(dependant: Any) -> bool:
    stack = [dependant]
    while stack:
        node = stack.pop()
        if getattr(node.call, "__module__", "") == "motcua.shared.auth":
            return True
        stack.extend(node.dependencies)
    return False


def test_every_route_that_takes_a_token_checks_one_operation_of_the_table() -> None:
    """The table is the one check: a route reading the bearer token without naming its
    operation would escape it, and an operation no route names is dead weight."""
    checked: set[Operation] = set()
    for svc in SERVICES.values():
        app = svc.create_app()
        for route in iter_route_contexts(app.routes):
            dependant = getattr(route, "dependant", None)
            if dependant is None or not _uses_bearer(dependant):
                continue
            ops = route_operations(dependant)
            assert len(ops) == 1, f"{svc.name} {route.path} checks {ops or 'no operation'}"
            checked |= ops
    # The dashboard reads its cookie itself; the cross-center statistics and backdating
    # are checked inside the routes that may need them.
    inside = {
        Operation.DASHBOARD_VIEW,
        Operation.PROVINCE_DASHBOARD_VIEW,  # the province's page reads the cookie too
        Operation.STATISTICS_ALL_CENTERS,
        Operation.DOSSIER_BACKDATE,
        Operation.REGISTRY_ANY_CENTER_WRITE,
        Operation.REGISTRY_ANY_AUDIT_READ,
    }
    assert checked | inside == set(Operation)


def test_every_clerk_app_command_names_the_operation_of_its_http_route() -> None:
    from motcua.shared.events.commands import COMMANDS
    from motcua.shared.policy import COMMAND_OPERATIONS

    assert set(COMMAND_OPERATIONS) == set(COMMANDS)
    assert COMMAND_OPERATIONS["dossier.resolve"] is Operation.DOSSIER_RESOLVE
