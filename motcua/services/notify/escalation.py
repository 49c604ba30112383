"""Deadline events up the escalation ladder, to the center's staff (``docs/staff.md``).

``deadline.approaching``, ``deadline.at_risk`` and ``deadline.overdue`` reach the staff the
center's ladder names for that stage (``ladder.reach``): the dossier's assignee (from the
latest ``dossier.assigned``), the head of its department, the center's leader. The
messages go through the same outbox of deliveries as the citizens' (channels, fallback,
quiet hours: held to the end of them, on every channel), so each (event, recipient) is
recorded once whatever the redeliveries: the delivery's id is derived from both.

A stage nobody can hear (no directory, no assignee and no one above) is counted and
logged without a name or contact, and the event is consumed: it is a fact about the
center's staffing, not an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
from prometheus_client import Counter

from motcua.services.notify import ladder
from motcua.services.notify.domain import Kind
from motcua.services.notify.repository import staff as repo
from motcua.services.notify.usecases import STAFF, Intent, Notifier
from motcua.shared.events import Envelope
from motcua.shared.events.catalog import (
    DeadlineApproaching,
    DeadlineAtRisk,
    DeadlineFacts,
    DeadlineOverdue,
    DossierAssigned,
)
from motcua.shared.logging import get_logger

log = get_logger(__name__)

UNHEARD = Counter(
    "motcua_notify_escalation_unheld_total",
    "Rungs of the escalation ladder no active staff member held, by stage and rung "
    "(rung 'anyone': the event reached nobody at all)",
    ["stage", "rung"],
)

STAGES: dict[type[DeadlineFacts], tuple[ladder.Stage, Kind]] = {
    DeadlineApproaching: ("approaching", Kind.STAFF_APPROACHING),
    DeadlineAtRisk: ("at_risk", Kind.STAFF_AT_RISK),
    DeadlineOverdue: ("overdue", Kind.STAFF_OVERDUE),
}


async def dossiers_assigned(
    n: Notifier, conn: asyncpg.Connection, events: Sequence[Envelope[DossierAssigned]]
) -> None:
    """Remember who holds each dossier: its deadline events reach them first."""
    for e in events:
        d = e.data
        await repo.save_assignee(
            conn, d.dossier_id, e.center_id, d.assignee, d.department, e.occurred_at
        )


async def escalate(
    n: Notifier, conn: asyncpg.Connection, events: Sequence[Envelope[DeadlineFacts]]
) -> None:
    """Record the staff messages a run of deadline events calls for."""
    if not events:
        return
    assignees = await repo.assignees_of(conn, [e.data.dossier_id for e in events])
    members: dict[str, list[ladder.Member]] = {}
    ladders: dict[str, dict[ladder.Stage, tuple[ladder.Rung, ...]]] = {}
    for center_id in {e.center_id for e in events}:
        rows = await repo.list_staff(conn, center_id, active_only=True)
        members[center_id] = [ladder.Member(r.staff_id, r.role, r.department) for r in rows]
        ladders[center_id] = ladder.valid_ladder(await repo.get_ladder(conn, center_id) or {})
    intents: list[Intent] = []
    for e in events:
        stage, kind = STAGES[type(e.data)]
        assignee, department = assignees.get(e.data.dossier_id, (None, None))
        reached = ladder.reach(
            ladders[e.center_id],
            stage,
            members[e.center_id],
            assignee=assignee,
            department=department,
        )
        for rung in reached.unheld:
            UNHEARD.labels(stage, rung).inc()
        if not reached.staff_ids:
            UNHEARD.labels(stage, "anyone").inc()
            log.info(
                "notify.escalation_unheard",
                stage=stage,
                center_id=e.center_id,
                dossier_id=str(e.data.dossier_id),
                assigned=assignee is not None,
            )
            continue
        context = _context(e)
        intents.extend(
            Intent(e, kind, STAFF, repo.subject_of(e.center_id, staff_id), context)
            for staff_id in reached.staff_ids
        )
    await n.notify_many(conn, intents)


def _context(event: Envelope[DeadlineFacts]) -> dict[str, Any]:
    d = event.data
    context: dict[str, Any] = {
        "dossier_code": d.dossier_code,
        "procedure_code": d.procedure_code,
        "due_at": d.due_at.isoformat(),
    }
    if isinstance(d, DeadlineOverdue):
        context["new_appointment_at"] = d.new_appointment_at.isoformat()
    return context
