"""What a timeline entry keeps of an event: the joins and what the page shows, nothing
personal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from motcua.devtools.samples import sealed
from motcua.services.deadlines.timeline import Entry, entry_of, in_order
from motcua.shared.events import new_event
from motcua.shared.events.catalog import (
    CounterOpened,
    DossierSupplementRequested,
    NotificationFailed,
    TicketIssued,
)

AT = datetime(2026, 3, 2, 2, tzinfo=UTC)


def test_a_ticket_keeps_its_number_and_line_not_its_contact() -> None:
    ticket_id = uuid.uuid4()
    contact = sealed("phone", "0901234567", ticket_id, "vi")
    event = new_event(
        TicketIssued(
            ticket_id=ticket_id,
            number="A1",
            line_code="justice",
            lookup_code="a1",
            issued_at=AT,
            contact=contact,
        ),
        center_id="c",
        producer="queue",
    )
    entry = entry_of(event)
    assert entry is not None
    assert (entry.ticket_id, entry.dossier_id, entry.source) == (ticket_id, None, "queue")
    assert contact.sealed not in str(entry.detail)
    assert entry.detail["number"] == "A1"


def test_a_status_change_keeps_its_actor_but_no_free_text() -> None:
    payload = DossierSupplementRequested(
        dossier_id=uuid.uuid4(),
        dossier_code="NC-1",
        procedure_code="HT-KS",
        status=5,
        actor="clerk-7",
        reason="Ông Nguyễn Văn A thiếu CCCD số 001234567890",
    )
    entry = entry_of(new_event(payload, center_id="c", producer="intake"))
    assert entry is not None
    assert entry.detail == {"dossier_code": "NC-1", "status": 5, "actor": "clerk-7"}


def test_a_message_keeps_channel_template_result_not_recipient_nor_error() -> None:
    cause = uuid.uuid4()
    payload = NotificationFailed(
        notification_id=uuid.uuid4(),
        kind="result_ready",
        channel="sms",
        recipient_ref="r_abc",
        source_event_id=cause,
        attempts=3,
        error="+84901234567 unreachable",
    )
    entry = entry_of(new_event(payload, center_id="c", producer="notify"))
    assert entry is not None
    assert entry.source_event_id == cause
    assert entry.detail == {
        "template": "result_ready",
        "channel": "sms",
        "result": "failed",
        "attempts": 3,
    }


def test_counters_are_no_part_of_a_case() -> None:
    opened = new_event(
        CounterOpened(counter_id="3", line_codes=["justice"]), center_id="c", producer="queue"
    )
    assert entry_of(opened) is None


def test_at_one_instant_a_case_moves_ticket_dossier_clock_message() -> None:
    ids = [uuid.uuid4() for _ in range(4)]
    entries = [
        Entry(ids[0], "c", AT, "notification.sent", "notify"),
        Entry(ids[1], "c", AT, "deadline.set", "deadlines"),
        Entry(ids[2], "c", AT, "dossier.received", "intake"),
        Entry(ids[3], "c", AT, "ticket.service_completed", "queue"),
    ]
    assert [e.source for e in in_order(entries)] == ["queue", "intake", "deadlines", "notify"]
