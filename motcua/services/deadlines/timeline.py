"""One dossier's story, in time order, for its clerk and its leader: the ticket (issued,
called, served, at which counter), every status change and who made it, every clock event
(set, paused, resumed, extended, approaching, overdue, closed) and every notification
(channel, template, result).

Each service keeps owning its data: this is a read model, built from the events deadlines
may read, each believed only on its owner's topic (queue.events, dossier.events,
deadline.events, notification.events), through the inbox, so a redelivered event is one
entry. An entry keeps what the timeline shows and nothing personal: no contact, no name,
no free text (a reason or a gateway's error may quote one), no recipient reference.

The joins happen when the timeline is read, so the topics may be consumed in any order:
a ticket is the dossier's when its ``ticket.service_completed`` or the dossier's
``dossier.received`` names both; a notification is the dossier's when the event that
caused it is.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from motcua.shared.events import Envelope, Payload
from motcua.shared.events.catalog import (
    DeadlineAppointmentSet,
    DeadlineApproaching,
    DeadlineClosed,
    DeadlineFacts,
    DeadlineOverdue,
    DeadlineUpdated,
    DossierAssigned,
    DossierFacts,
    DossierReceived,
    DossierResolved,
    FeedbackReceived,
    NotificationFacts,
    NotificationFailed,
    TicketFacts,
    TicketIssued,
    TicketServiceCompleted,
    TicketTransferred,
)

QUEUE, INTAKE, DEADLINES, NOTIFY = "queue", "intake", "deadlines", "notify"


@dataclass(frozen=True)
class Entry:
    """One line of a timeline: what happened, when, and the ids that join it to a dossier."""

    event_id: uuid.UUID
    center_id: str
    at: datetime
    event_type: str
    source: str
    dossier_id: uuid.UUID | None = None
    ticket_id: uuid.UUID | None = None
    source_event_id: uuid.UUID | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def entry_of(event: Envelope[Payload]) -> Entry | None:
    """The timeline's entry for an event, or None for one that is no part of a case
    (a counter opening, say)."""
    d = event.data

    def entry(source: str, **joins_and_detail: Any) -> Entry:
        return Entry(
            event.event_id,
            event.center_id,
            event.occurred_at,
            event.event_type,
            source,
            **joins_and_detail,
        )

    if isinstance(d, TicketFacts):
        return entry(
            QUEUE,
            ticket_id=d.ticket_id,
            dossier_id=d.dossier_id if isinstance(d, TicketServiceCompleted) else None,
            detail=_ticket(d),
        )
    if isinstance(d, DossierFacts):
        return entry(
            INTAKE,
            dossier_id=d.dossier_id,
            ticket_id=d.ticket_id if isinstance(d, DossierReceived) else None,
            detail=_dossier(d),
        )
    if isinstance(d, DeadlineFacts):
        return entry(DEADLINES, dossier_id=d.dossier_id, detail=_clock(d))
    if isinstance(d, NotificationFacts):
        detail = {
            "template": d.kind,
            "channel": d.channel,
            "result": "failed" if isinstance(d, NotificationFailed) else "sent",
            "attempts": getattr(d, "attempts", None),  # both outcomes carry it
        }
        return entry(NOTIFY, source_event_id=d.source_event_id, detail=detail)
    if isinstance(d, FeedbackReceived):
        return entry(NOTIFY, dossier_id=d.dossier_id, detail={"rating": d.rating})
    return None


def _ticket(d: TicketFacts) -> dict[str, Any]:
    detail: dict[str, Any] = {"number": d.number, "line_code": d.line_code}
    if d.counter_id:
        detail["counter_id"] = d.counter_id
    if call_count := getattr(d, "call_count", None):
        detail["call_count"] = call_count
    if isinstance(d, TicketTransferred):
        detail["from_line_code"] = d.from_line_code
    if isinstance(d, TicketIssued):
        detail["issued_at"] = d.issued_at.isoformat()
    if isinstance(d, TicketServiceCompleted) and d.service_seconds is not None:
        detail["service_seconds"] = d.service_seconds
    return detail


def _dossier(d: DossierFacts) -> dict[str, Any]:
    detail: dict[str, Any] = {"dossier_code": d.dossier_code, "status": d.status}
    if d.actor:
        detail["actor"] = d.actor
    if isinstance(d, DossierAssigned):
        detail["assignee"] = d.assignee
    if isinstance(d, DossierResolved):
        detail["outcome"] = d.outcome
    if isinstance(d, DossierReceived):
        detail["channel"] = d.channel
    return detail


def _clock(d: DeadlineFacts) -> dict[str, Any]:
    detail: dict[str, Any] = {"dossier_code": d.dossier_code, "due_at": d.due_at.isoformat()}
    if isinstance(d, DeadlineUpdated):
        detail |= {"previous_due_at": d.previous_due_at.isoformat(), "reason": d.reason}
    elif isinstance(d, DeadlineApproaching):
        detail["threshold"] = d.threshold
    elif isinstance(d, DeadlineOverdue | DeadlineAppointmentSet):
        detail["new_appointment_at"] = d.new_appointment_at.isoformat()
    elif isinstance(d, DeadlineClosed):
        detail["outcome"] = d.outcome
    return detail


def in_order(entries: list[Entry]) -> list[Entry]:
    """Time order; at one instant, the order a case moves in (ticket, dossier, clock,
    message), then by id so the order never changes between two reads."""
    rank = {QUEUE: 0, INTAKE: 1, DEADLINES: 2, NOTIFY: 3}
    return sorted(entries, key=lambda e: (e.at, rank[e.source], str(e.event_id)))


@dataclass(frozen=True)
class Timeline:
    """One dossier's entries in order, and what names it."""

    dossier_id: uuid.UUID
    dossier_code: str | None
    center_id: str
    entries: list[Entry]


def of_dossier(dossier_id: uuid.UUID, entries: list[Entry]) -> Timeline | None:
    """The dossier's timeline, or None when nothing of it is known yet. Its center is the
    one its own events name (a ticket's or a message's never decide it)."""
    own = [e for e in entries if e.dossier_id == dossier_id and e.source in (INTAKE, DEADLINES)]
    if not own:
        return None
    code = next((e.detail.get("dossier_code") for e in own if e.detail.get("dossier_code")), None)
    return Timeline(dossier_id, code, own[0].center_id, in_order(entries))


Translate = Callable[..., str]
"""``t(key, **values)``: a text of the page's language."""


def describe(
    entry: Entry, t: Translate, local: Callable[[str], str], status: Callable[[int], str]
) -> str:
    """What an entry says on the page, in its language: the counter, the status and who
    set it, the dates, the channel and result. ``local`` writes an ISO instant as local
    time, ``status`` names a portal status."""
    d = entry.detail
    parts: list[str] = []
    if entry.source == QUEUE:
        parts.append(t("timeline.ticket", number=d.get("number", "")))
        if d.get("counter_id"):
            parts.append(t("timeline.counter", counter=d["counter_id"]))
    elif entry.source == INTAKE and "status" in d:
        parts.append(status(int(d["status"])))
        if d.get("assignee"):
            parts.append(t("timeline.assignee", who=d["assignee"]))
        if d.get("actor"):
            parts.append(t("timeline.actor", who=d["actor"]))
    elif entry.source == DEADLINES:
        if "previous_due_at" in d:
            parts.append(
                t("timeline.moved", due=local(d["due_at"]), previous=local(d["previous_due_at"]))
            )
        elif "new_appointment_at" in d:
            parts.append(t("timeline.new_appointment", at=local(d["new_appointment_at"])))
        else:
            parts.append(t("timeline.due", due=local(d["due_at"])))
        if d.get("threshold"):
            parts.append(d["threshold"])
    elif "rating" in d:
        parts.append(t("timeline.rating", rating=d["rating"]))
    elif entry.source == NOTIFY:
        parts.append(
            t("timeline.message", channel=d.get("channel", ""), template=d.get("template", ""))
        )
    return " · ".join(p for p in parts if p)
