"""Waiting times at the counters, per center, for the province's comparison.

A ticket's **wait** runs from its ``ticket.issued`` to its first ``ticket.called``, in
seconds (a recall, or the call on another line after a transfer, is not a new wait). A
ticket never called that the queue ended with ``ticket.no_show`` or ``ticket.cancelled``
is **abandoned**: it counts apart, with no wait. One still waiting counts nowhere yet.

Each event says one thing about its ticket (a ``Mark``); marks of one ticket merge by
keeping the earliest instant of each kind, so duplicates and any arrival order give the
same result: a call read before its issue still yields the right wait once the issue
arrives. ``repository.waits`` stores the merged marks with the same rule.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from motcua.shared.events import Envelope
from motcua.shared.events.catalog import TicketCalled, TicketCancelled, TicketIssued, TicketNoShow


@dataclass(frozen=True)
class Mark:
    """What is known of one ticket's wait: when it was issued, first called, ended uncalled."""

    ticket_id: uuid.UUID
    center_id: str
    issued_at: datetime | None = None
    called_at: datetime | None = None
    ended_at: datetime | None = None


def mark_of(event: Envelope[Any]) -> Mark | None:
    """What an event says of its ticket's wait, or None for one that says nothing of it."""
    d = event.data
    if isinstance(d, TicketIssued):
        return Mark(d.ticket_id, event.center_id, issued_at=d.issued_at)
    if isinstance(d, TicketCalled):
        return Mark(d.ticket_id, event.center_id, called_at=event.occurred_at)
    if isinstance(d, TicketNoShow | TicketCancelled):
        return Mark(d.ticket_id, event.center_id, ended_at=event.occurred_at)
    return None


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def merge(a: Mark, b: Mark) -> Mark:
    """Two marks of one ticket as one: the earliest instant of each kind."""
    return Mark(
        a.ticket_id,
        a.center_id,
        _earliest(a.issued_at, b.issued_at),
        _earliest(a.called_at, b.called_at),
        _earliest(a.ended_at, b.ended_at),
    )


def fold(marks: Iterable[Mark]) -> list[Mark]:
    """One mark per ticket, in the order each ticket first appears."""
    by_ticket: dict[uuid.UUID, Mark] = {}
    for m in marks:
        known = by_ticket.get(m.ticket_id)
        by_ticket[m.ticket_id] = m if known is None else merge(known, m)
    return list(by_ticket.values())


def wait_seconds(mark: Mark) -> float | None:
    """The ticket's wait, once both its issue and its first call are known; never below
    zero (two services' clocks may disagree by a moment)."""
    if mark.issued_at is None or mark.called_at is None:
        return None
    return max((mark.called_at - mark.issued_at).total_seconds(), 0.0)


def abandoned(mark: Mark) -> bool:
    """Ended by a no-show or a cancellation without ever being called."""
    return mark.called_at is None and mark.ended_at is not None


@dataclass(frozen=True)
class CenterWaits:
    """One center's waits over a period, by the issue instant of its tickets: how many were
    called (each with a wait), their mean and 90th percentile (interpolated), and how many
    were abandoned."""

    called: int
    abandoned: int
    mean_seconds: float | None
    p90_seconds: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "tickets_called": self.called,
            "tickets_abandoned": self.abandoned,
            "mean_seconds": self.mean_seconds,
            "p90_seconds": self.p90_seconds,
        }


NO_TICKETS = CenterWaits(called=0, abandoned=0, mean_seconds=None, p90_seconds=None)
"""A center that issued no ticket in the period."""
