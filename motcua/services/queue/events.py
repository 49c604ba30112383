"""What the queue tells others: event payloads for the bus, messages for the display boards."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from motcua.services.queue.domain import Change, Kind
from motcua.shared import crypto
from motcua.shared.events import catalog
from motcua.shared.events.envelope import Envelope, Payload


def seal_contact(
    keys: crypto.Keyring,
    kind: Literal["phone", "email"],
    value: str,
    language: Literal["vi", "en"],
    ticket_id: uuid.UUID,
) -> dict[str, Any]:
    """The contact sealed for the notify service, bound to this ticket (context = ticket id)."""
    key_id, sealed_value = keys.seal(value, str(ticket_id))
    sealed = catalog.SealedContact(kind=kind, sealed=sealed_value, key_id=key_id, language=language)
    return sealed.model_dump()


def ticket_payload(
    change: Change, position: int | None, estimated_wait_seconds: int | None, *, reason: str | None
) -> catalog.TicketFacts:
    """The event of one ticket change, carrying all a consumer needs without lookups."""
    t = change.ticket
    facts: dict[str, Any] = {
        "ticket_id": t.ticket_id,
        "number": t.number,
        "line_code": t.line_code,
        "lookup_code": t.lookup_code,
        # That the ticket has priority, never why: the reason is health or family data.
        "priority": t.priority_reason is not None,
        "counter_id": change.counter_id,
        "position": position,
        "estimated_wait_seconds": estimated_wait_seconds,
        "contact": catalog.SealedContact(**t.contact) if t.contact else None,
    }
    match change.kind:
        case Kind.ISSUED:
            return catalog.TicketIssued(**facts, issued_at=t.issued_at)
        case Kind.CALLED:
            return catalog.TicketCalled(**facts, call_count=t.call_count)
        case Kind.RECALLED:
            return catalog.TicketRecalled(**facts, call_count=t.call_count)
        case Kind.NO_SHOW:
            return catalog.TicketNoShow(**facts)
        case Kind.SERVICE_STARTED:
            return catalog.TicketServiceStarted(**facts)
        case Kind.SERVICE_COMPLETED:
            seconds = change.service_seconds
            return catalog.TicketServiceCompleted(
                **facts,
                dossier_id=t.dossier_id,
                service_seconds=round(seconds) if seconds is not None else None,
            )
        case Kind.TRANSFERRED:
            return catalog.TicketTransferred(**facts, from_line_code=change.line_code)
        case Kind.CANCELLED:
            return catalog.TicketCancelled(**facts, reason=reason)
        case Kind.REQUEUED:
            return catalog.TicketRequeued(**facts)
        case Kind.ARRIVAL_CONFIRMED if t.arrived_at is not None:
            return catalog.TicketArrivalConfirmed(**facts, arrived_at=t.arrived_at)
    raise ValueError(f"no event for {change.kind}")


def display_message(event_id: uuid.UUID, center_id: str, change: Change) -> dict[str, Any]:
    """What a public display board hears of a ticket change: never codes or contacts."""
    t = change.ticket
    return {
        "event_id": str(event_id),
        "type": change.kind.value,
        "center_id": center_id,
        "at": change.at.isoformat(),
        "number": t.number,
        "line_code": t.line_code,
        "counter_id": change.counter_id,
        "status": t.status.value,
        "call_count": t.call_count,
        "priority": t.priority,
    }


def counter_display(event: Envelope[Payload], **fields: Any) -> dict[str, Any]:
    """What a public display board hears of a counter opening or closing."""
    return {
        "event_id": str(event.event_id),
        "type": event.event_type,
        "center_id": event.center_id,
        "at": event.occurred_at.isoformat(),
        **fields,
    }
