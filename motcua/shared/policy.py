"""Who may do what: one table, operation by role, for every service's HTTP checks.

The table is data, not rules spread over the services: each route names the operation it
performs (``allowed(Operation.X)``) and this module alone decides which roles hold it.
``docs/security/roles.md`` is printed from it (``roles_markdown``), so the documentation
cannot drift from what the services enforce.

A token is also scoped to its center: the route still checks that the center it touches is
the token's own (``Principal.require_center``), except for the few operations whose very
point is to reach across centers (``ACROSS_CENTERS``).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import get_args

from fastapi import Depends, HTTPException

from motcua.shared.auth import CurrentPrincipal, Principal, Role
from motcua.shared.events import commands

ROLES: tuple[Role, ...] = get_args(Role)
"""Every role a token may carry; ``verify_token`` refuses any other."""

ROLE_DESCRIPTIONS: Mapping[Role, str] = {
    "clerk": "Counter staff: calls tickets, receives dossiers, hands over documents",
    "officer": "Processing officer: decides dossiers (resolve, stop, return)",
    "leader": "Director or deputy: the above, plus the center's calendar",
    "admin": "The center's administrator: everything in the center, backdating included",
    "province": "Provincial supervisor: reads statistics of every center, changes nothing",
    "province_admin": "The province's IT team: writes the province-wide procedure catalog, "
    "configures any center, and reads what the province reads",
}


class Operation(StrEnum):
    """Everything a token can be used for, named by what it does."""

    # queue
    COUNTER_OPERATE = "queue.counter.operate"
    TICKETS_READ = "queue.tickets.read"
    QUEUE_STATS_READ = "queue.stats.read"
    # intake
    DOSSIER_RECEIVE = "intake.dossier.receive"
    DOSSIER_READ = "intake.dossier.read"
    DOSSIER_ASSIGN = "intake.dossier.assign"
    DOSSIER_SUPPLEMENT = "intake.dossier.supplement"
    DOSSIER_FINANCIAL = "intake.dossier.financial"
    DOSSIER_WITHDRAW = "intake.dossier.withdraw"
    DOSSIER_RESOLVE = "intake.dossier.resolve"
    DOSSIER_STOP = "intake.dossier.stop"
    DOSSIER_RETURN = "intake.dossier.return"
    DOSSIER_BACKDATE = "intake.dossier.backdate"
    DOSSIER_ACCEPT = "intake.dossier.accept"
    DOSSIER_TRANSFER = "intake.dossier.transfer"
    DOSSIER_REWORK = "intake.dossier.rework"
    # intake: stored documents (docs/documents.md)
    DOCUMENT_ATTACH = "intake.document.attach"
    DOCUMENT_READ = "intake.document.read"
    RESULT_ATTACH = "intake.result.attach"
    # deadlines
    CLOCK_READ = "deadlines.clock.read"
    EXTENSION_GRANT = "deadlines.extension.grant"
    WORKLIST_READ = "deadlines.worklist.read"
    CALENDAR_READ = "deadlines.calendar.read"
    CALENDAR_WRITE = "deadlines.calendar.write"
    STATISTICS_READ = "deadlines.statistics.read"
    STATISTICS_ALL_CENTERS = "deadlines.statistics.all_centers"
    DASHBOARD_VIEW = "deadlines.dashboard.view"
    RISKS_READ = "deadlines.risks.read"
    APOLOGY_LETTER_WRITE = "deadlines.apology_letter.write"
    TIMELINE_READ = "deadlines.timeline.read"
    # deadlines: the 766 scorecard and the province's comparison of its centers
    SCORECARD_READ = "deadlines.scorecard.read"
    PROVINCE_DASHBOARD_VIEW = "deadlines.province_dashboard.view"
    # notify
    DELIVERIES_READ = "notify.deliveries.read"
    # notify: the staff directory and the escalation ladder (docs/staff.md)
    STAFF_READ = "notify.staff.read"
    STAFF_CREATE = "notify.staff.create"
    STAFF_UPDATE = "notify.staff.update"
    STAFF_DEACTIVATE = "notify.staff.deactivate"
    LADDER_READ = "notify.ladder.read"
    LADDER_WRITE = "notify.ladder.write"
    # registry
    REGISTRY_READ = "registry.centers.read"
    REGISTRY_WRITE = "registry.centers.write"
    REGISTRY_AUDIT_READ = "registry.audit.read"
    REGISTRY_ANY_CENTER_WRITE = "registry.centers.write_any"
    REGISTRY_ANY_AUDIT_READ = "registry.audit.read_any"
    REGISTRY_PROCEDURES_WRITE = "registry.procedures.write"


_STAFF: frozenset[Role] = frozenset({"clerk", "officer", "leader", "admin"})
_DECIDERS: frozenset[Role] = frozenset({"officer", "leader", "admin"})

_TABLE: Mapping[Operation, frozenset[Role]] = {
    Operation.COUNTER_OPERATE: _STAFF,
    Operation.TICKETS_READ: _STAFF,
    Operation.QUEUE_STATS_READ: _STAFF,
    Operation.DOSSIER_RECEIVE: _STAFF,
    Operation.DOSSIER_READ: _STAFF,
    Operation.DOSSIER_ASSIGN: _STAFF,
    Operation.DOSSIER_SUPPLEMENT: _STAFF,
    Operation.DOSSIER_FINANCIAL: _STAFF,
    Operation.DOSSIER_WITHDRAW: _STAFF,
    # A decision on a dossier is an officer's act, never the counter's (issue: a clerk
    # could resolve, stop and return dossiers).
    Operation.DOSSIER_RESOLVE: _DECIDERS,
    Operation.DOSSIER_STOP: _DECIDERS,
    Operation.DOSSIER_RETURN: _DECIDERS,
    # Backdating rewrites the legal clock: data migrations only.
    Operation.DOSSIER_BACKDATE: frozenset({"admin"}),
    # Accepting or refusing an online submission is the counter's check of the file,
    # as receiving one at the counter is; so is sending it to another agency and back.
    Operation.DOSSIER_ACCEPT: _STAFF,
    Operation.DOSSIER_TRANSFER: _STAFF,
    # Sending an officer's work back to be redone is a leader's or officer's review.
    Operation.DOSSIER_REWORK: _DECIDERS,
    # The counter digitises components; attaching the signed result is the decider's.
    Operation.DOCUMENT_ATTACH: _STAFF,
    Operation.DOCUMENT_READ: _STAFF,
    Operation.RESULT_ATTACH: _DECIDERS,
    Operation.CLOCK_READ: _STAFF,
    Operation.EXTENSION_GRANT: _DECIDERS,
    Operation.WORKLIST_READ: _STAFF,
    Operation.CALENDAR_READ: _STAFF,
    Operation.CALENDAR_WRITE: frozenset({"leader", "admin"}),
    Operation.STATISTICS_READ: _STAFF | {"province"},
    # A center's admin is an admin of that center only: looking across centers is the
    # province's, which changes nothing anywhere.
    Operation.STATISTICS_ALL_CENTERS: frozenset({"province"}),
    Operation.DASHBOARD_VIEW: _STAFF,
    # The breach forecast ranks the center's dossiers, its officers' with them: the
    # center's leaders' view, as for the calendar.
    Operation.RISKS_READ: frozenset({"leader", "admin"}),
    # The reason and the new date of an apology letter are the deciding officer's word,
    # which the leader signs: not the counter's.
    Operation.APOLOGY_LETTER_WRITE: _DECIDERS,
    # A case's whole story: its clerk and its leader (no contact, no name in it).
    Operation.TIMELINE_READ: _STAFF,
    Operation.DELIVERIES_READ: _STAFF,
    # A center's scorecard is its staff's, as its statistics are; another center's, or
    # the province's, needs STATISTICS_ALL_CENTERS as well.
    Operation.SCORECARD_READ: _STAFF | {"province"},
    # The comparison of every center is the province's alone: no center sees the others.
    Operation.PROVINCE_DASHBOARD_VIEW: frozenset({"province"}),
    # The staff directory names people and how to reach them: its admin keeps it, the
    # center's leaders read it (whom the ladder will reach); the counter needs neither.
    Operation.STAFF_READ: frozenset({"leader", "admin"}),
    Operation.STAFF_CREATE: frozenset({"admin"}),
    Operation.STAFF_UPDATE: frozenset({"admin"}),
    Operation.STAFF_DEACTIVATE: frozenset({"admin"}),
    Operation.LADDER_READ: frozenset({"leader", "admin"}),
    Operation.LADDER_WRITE: frozenset({"admin"}),
    # A center's configuration is no secret (the kiosk shows its lines), but its admin
    # alone changes it, for the token's own center; the audit names staff, so only the
    # admin and the province read it.
    Operation.REGISTRY_READ: _STAFF | {"province"},
    Operation.REGISTRY_WRITE: frozenset({"admin", "province_admin"}),
    Operation.REGISTRY_AUDIT_READ: frozenset({"admin", "province"}),
    # A center's admin writes and audits that center only; the province's IT team
    # configures any center (a new ward, a merger), and the province audits every one.
    # Both are checked inside the routes, once the center is known.
    Operation.REGISTRY_ANY_CENTER_WRITE: frozenset({"province_admin"}),
    Operation.REGISTRY_ANY_AUDIT_READ: frozenset({"province"}),
    # The procedure catalog is shared by every center of the province: a center's admin
    # changing it would change every other center's procedures, so it is the province's.
    Operation.REGISTRY_PROCEDURES_WRITE: frozenset({"province_admin"}),
}

POLICY: Mapping[Operation, frozenset[Role]] = {
    # The province's IT team reads whatever the province reads, so that a new read
    # granted to the province cannot be forgotten for it.
    op: roles | {"province_admin"} if "province" in roles else roles
    for op, roles in _TABLE.items()
}


ACROSS_CENTERS: tuple[Operation, ...] = (
    Operation.STATISTICS_ALL_CENTERS,
    Operation.REGISTRY_ANY_CENTER_WRITE,
    Operation.REGISTRY_ANY_AUDIT_READ,
)
"""The operations whose point is to reach past the token's own center."""


COMMAND_OPERATIONS: Mapping[str, Operation] = {
    commands.ReceiveDossier.COMMAND_TYPE: Operation.DOSSIER_RECEIVE,
    commands.AssignDossier.COMMAND_TYPE: Operation.DOSSIER_ASSIGN,
    commands.RequestSupplement.COMMAND_TYPE: Operation.DOSSIER_SUPPLEMENT,
    commands.ProvideSupplement.COMMAND_TYPE: Operation.DOSSIER_SUPPLEMENT,
    commands.NotifyFinancialObligation.COMMAND_TYPE: Operation.DOSSIER_FINANCIAL,
    commands.FulfilFinancialObligation.COMMAND_TYPE: Operation.DOSSIER_FINANCIAL,
    commands.ResolveDossier.COMMAND_TYPE: Operation.DOSSIER_RESOLVE,
    commands.ReturnResult.COMMAND_TYPE: Operation.DOSSIER_RETURN,
    commands.WithdrawDossier.COMMAND_TYPE: Operation.DOSSIER_WITHDRAW,
    commands.StopDossier.COMMAND_TYPE: Operation.DOSSIER_STOP,
    commands.AcceptDossier.COMMAND_TYPE: Operation.DOSSIER_ACCEPT,
    commands.NotAcceptDossier.COMMAND_TYPE: Operation.DOSSIER_ACCEPT,
    commands.TransferDossier.COMMAND_TYPE: Operation.DOSSIER_TRANSFER,
    commands.TransferBackDossier.COMMAND_TYPE: Operation.DOSSIER_TRANSFER,
    commands.ReturnForRework.COMMAND_TYPE: Operation.DOSSIER_REWORK,
}
"""The operation of each clerk-app command on ``intake.commands``: a command carrying its
author's token is held to the same cell of the table as the HTTP route that does the same."""


class Refused(HTTPException):
    """403: the token's role does not hold the operation."""

    def __init__(self, role: str, operation: Operation) -> None:
        holders = ", ".join(r for r in ROLES if r in POLICY[operation])
        super().__init__(
            403, f"role {role!r} may not {operation.value}; it needs one of: {holders}"
        )


def allows(role: str, operation: Operation) -> bool:
    """Whether ``role`` holds ``operation``: the one place the table is read."""
    return role in POLICY[operation]


def authorize(principal: Principal, operation: Operation) -> Principal:
    """The check every route makes, through ``allowed``: 403 naming the roles that may."""
    if not allows(principal.role, operation):
        raise Refused(principal.role, operation)
    return principal


class _Allowed:
    """A FastAPI dependency: the caller, if the token's role holds ``operation``.

    A class rather than a closure so that a test can find, on every route, which
    operation it checks (``route_operations``)."""

    def __init__(self, operation: Operation) -> None:
        self.operation = operation

    async def __call__(self, principal: CurrentPrincipal) -> Principal:
        return authorize(principal, self.operation)


def allowed(operation: Operation) -> object:
    """``principal: Annotated[Principal, allowed(Operation.X)]`` in a route's signature."""
    return Depends(_Allowed(operation))


def route_operations(dependant: object) -> set[Operation]:
    """The operations a route checks, walking its dependency tree (for the tests)."""
    found: set[Operation] = set()
    stack = [dependant]
    while stack:
        node = stack.pop()
        call = getattr(node, "call", None)
        if isinstance(call, _Allowed):
            found.add(call.operation)
        stack.extend(getattr(node, "dependencies", []))
    return found


def roles_markdown() -> str:
    """``docs/security/roles.md``: the table as the services enforce it."""
    lines = [
        "# Roles and what each may do",
        "",
        "Generated from `motcua/shared/policy.py` by `motcua docs gen`; a test fails if it drifts.",
        "Every token is also scoped to one center: it acts on that center only, except",
        ", ".join(f"`{op.value}`" for op in ACROSS_CENTERS) + ". A token with any other role"
        " is refused (401).",
        "",
        "| Role | Who |",
        "|---|---|",
        *(f"| `{r}` | {ROLE_DESCRIPTIONS[r]} |" for r in ROLES),
        "",
        "| Operation | " + " | ".join(ROLES) + " |",
        "|---|" + "---|" * len(ROLES),
        *(
            f"| `{op.value}` | " + " | ".join("yes" if allows(r, op) else "—" for r in ROLES) + " |"
            for op in Operation
        ),
        "",
    ]
    return "\n".join(lines)
