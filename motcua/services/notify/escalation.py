"""Deadline events up the escalation ladder, to the center's staff (``docs/staff.md``).

``deadline.approaching``, ``deadline.at_risk`` and ``deadline.overdue`` reach the staff the
center's ladder names for that stage (``ladder.reach``): the dossier's assignee (from the
latest ``dossier.assigned``), the head of its department, the center's leader. The
messages go through the same outbox of deliveries as the citizens' (channels, fallback,
quiet hours: held to the end of them, on every channel), so each (event, recipient) is
recorded once whatever the redeliveries: the delivery's id is derived from both.

An overdue dossier is also watched: still open ``still_open_hours`` working hours later
(the national working calendar; notify does not follow the centers' own), its leader
hears of it again, once (``still_open_due``, a periodic sweep). A closing event ends
the watch.

A stage nobody can hear (no directory, no assignee and no one above) is counted and
logged without a name or contact, and the event is consumed: it is a fact about the
center's staffing, not an error.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from prometheus_client import Counter

from motcua.services.notify import ladder
from motcua.services.notify.domain import Kind
from motcua.services.notify.repository import staff as repo
from motcua.services.notify.usecases import STAFF, Intent, Notifier
from motcua.shared.calendar import CalendarError, WorkingCalendar
from motcua.shared.events import Envelope
from motcua.shared.events.catalog import (
    DeadlineApproaching,
    DeadlineAtRisk,
    DeadlineFacts,
    DeadlineOverdue,
    DossierAssigned,
)
from motcua.shared.events.registry import parse_event
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
    still_open: dict[str, int] = {}
    for center_id in {e.center_id for e in events}:
        members[center_id] = await _members(conn, center_id)
        ladders[center_id], still_open[center_id] = await repo.get_ladder(conn, center_id)
    await repo.watch_overdue(
        conn,
        [
            (e.data.dossier_id, e.center_id, e.to_bytes(), _after(e.occurred_at, hours))
            for e in events
            if isinstance(e.data, DeadlineOverdue) and (hours := still_open[e.center_id]) > 0
        ],
    )
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
        intents.extend(_to_staff(e, kind, stage, reached.staff_ids, assigned=bool(assignee)))
    await n.notify_many(conn, intents)


async def dossiers_closed(conn: asyncpg.Connection, events: Sequence[Envelope[Any]]) -> None:
    """Closed dossiers: no leader needs to hear of them again."""
    await repo.unwatch(conn, [e.data.dossier_id for e in events])


async def still_open_due(n: Notifier, conn: asyncpg.Connection, batch: int = 200) -> int:
    """Tell the leaders of overdue dossiers still open by now; the watches go in the same
    transaction as the messages, so each is recorded once. Returns messages to send."""
    async with conn.transaction():
        taken = await repo.take_due_watches(conn, n.clock(), batch)
        intents: list[Intent] = []
        members: dict[str, list[ladder.Member]] = {}
        for center_id, raw in taken:
            if center_id not in members:
                members[center_id] = await _members(conn, center_id)
            event = parse_event(raw)
            leaders = ladder.leaders(members[center_id])
            intents.extend(_to_staff(event, Kind.STAFF_STILL_OPEN, "still_open", leaders))
        return await n.notify_many(conn, intents) if intents else 0


async def _members(conn: asyncpg.Connection, center_id: str) -> list[ladder.Member]:
    rows = await repo.list_staff(conn, center_id, active_only=True)
    return [ladder.Member(r.staff_id, r.role, r.department) for r in rows]


def _to_staff(
    event: Envelope[Any],
    kind: Kind,
    stage: str,
    staff_ids: Sequence[str],
    *,
    assigned: bool = True,
) -> list[Intent]:
    """The messages to these members, or, to nobody, the count and a line in the log
    (the center and the dossier, never a person)."""
    if not staff_ids:
        UNHEARD.labels(stage, "anyone").inc()
        log.info(
            "notify.escalation_unheard",
            stage=stage,
            center_id=event.center_id,
            dossier_id=str(event.data.dossier_id),
            assigned=assigned,
        )
        return []
    context = _context(event)
    return [
        Intent(event, kind, STAFF, repo.subject_of(event.center_id, staff_id), context)
        for staff_id in staff_ids
    ]


@functools.cache
def _calendar() -> WorkingCalendar:
    return WorkingCalendar.default()


def _after(at: datetime, hours: int) -> datetime:
    """``hours`` working hours after ``at``; past the calendar's known years, wall hours."""
    try:
        return _calendar().add_working_hours(at, hours)
    except CalendarError:
        return at + timedelta(hours=hours)


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
