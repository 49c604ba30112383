"""One dossier's timeline on the running service: its ticket, its status changes and who
made them, its clock and its messages, in time order, from four topics consumed in any
order, and nothing personal in it."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from motcua.devtools.bus import produce
from motcua.devtools.samples import sealed
from motcua.services.deadlines.repository.timeline import add_entries, expire_unjoined_tickets
from motcua.services.deadlines.timeline import Entry
from motcua.shared.events import Envelope, new_event
from motcua.shared.events.catalog import (
    DossierReceived,
    NotificationFailed,
    NotificationSent,
    TicketCalled,
    TicketIssued,
    TicketServiceCompleted,
    TimeLimitSnapshot,
)
from motcua.shared.events.topics import NOTIFICATIONS, QUEUE
from tests.integration.deadlines.conftest import Service
from tests.integration.deadlines.support import Dossier
from tests.support.clock import vn
from tests.support.waiting import eventually

PHONE = "0901234567"


def queue_event(payload: Any, center: str, at: datetime) -> Envelope[Any]:
    return new_event(payload, center_id=center, producer="queue", occurred_at=at)


def sent(cause: Envelope[Any], center: str, at: datetime, failed: bool = False) -> Envelope[Any]:
    common = {
        "notification_id": uuid.uuid4(),
        "kind": "dossier_received",
        "channel": "sms",
        "recipient_ref": "r_" + "ab" * 16,
        "source_event_id": cause.event_id,
        "attempts": 1,
    }
    payload = (
        NotificationFailed(**common, error=f"gateway refused {PHONE}")
        if failed
        else (NotificationSent(**common))
    )
    return new_event(payload, center_id=center, producer="notify", occurred_at=at)


async def publish(service: Service, stream_topic: str, *events: Envelope[Any]) -> None:
    kafka = service.settings.kafka
    topic = kafka.topic_prefix + stream_topic
    for e in events:
        await produce(kafka.bootstrap_servers, topic, [e.to_bytes()], key=e.center_id.encode())


async def test_a_dossier_timeline_joins_ticket_status_clock_and_messages(
    service: Service,
) -> None:
    center = f"tl-{uuid.uuid4().hex[:6]}"
    d = Dossier(center_id=center)
    ticket_id = uuid.uuid4()
    contact = sealed("phone", PHONE, ticket_id, "vi")
    facts = {"ticket_id": ticket_id, "number": "A007", "line_code": "justice", "lookup_code": "a7"}
    issued = queue_event(
        TicketIssued(**facts, issued_at=vn(2026, 3, 2, 8), contact=contact),
        center,
        vn(2026, 3, 2, 8),
    )
    called = queue_event(TicketCalled(**facts, counter_id="3"), center, vn(2026, 3, 2, 8, 10))
    served = queue_event(
        TicketServiceCompleted(**facts, counter_id="3", dossier_id=d.dossier_id),
        center,
        vn(2026, 3, 2, 8, 20),
    )
    received = new_event(
        DossierReceived(
            dossier_id=d.dossier_id,
            dossier_code=d.code,
            procedure_code=d.procedure_code,
            status=2,
            actor="clerk-7",
            received_at=vn(2026, 3, 2, 8, 20),
            channel="counter",
            time_limit=TimeLimitSnapshot(amount=3, unit="working_days"),
            appointment_at=vn(2026, 3, 5, 17),
            ticket_id=ticket_id,
        ),
        center_id=center,
        producer="intake",
        occurred_at=vn(2026, 3, 2, 8, 20),
    )
    asked = d.supplement_requested(vn(2026, 3, 2, 9))
    given = d.supplement_provided(vn(2026, 3, 2, 10))
    done = d.resolved(vn(2026, 3, 3, 9))
    # Messages and the ticket first: the joins wait for the dossier's own events.
    await publish(
        service,
        NOTIFICATIONS.name,
        sent(received, center, vn(2026, 3, 2, 8, 21)),
        sent(asked, center, vn(2026, 3, 2, 9, 1), failed=True),
    )
    await publish(service, QUEUE.name, issued, called, served)
    other = Dossier(center_id=center)
    await service.produce(received, asked, given, done, other.received(vn(2026, 3, 2, 11)))

    url = f"/v1/dossiers/{d.dossier_id}/timeline"
    leader, clerk = service.token(center), service.token(center, role="clerk")
    async with service.client() as http:

        async def timeline() -> dict[str, Any]:
            r = await http.get(url, headers=clerk)
            return r.json() if r.status_code == 200 else {"entries": []}

        body = await eventually(
            timeline,
            until=lambda b: len(b["entries"]) == 12,
            what="the whole story: 3 queue, 4 dossier, 3 clock, 2 message entries",
        )
        assert [e["event_type"] for e in body["entries"]] == [
            "ticket.issued",
            "ticket.called",
            "ticket.service_completed",
            "dossier.received",
            "deadline.set",
            "notification.sent",
            "dossier.supplement_requested",
            "notification.failed",
            "dossier.supplement_provided",
            "deadline.updated",
            "dossier.resolved",
            "deadline.closed",
        ]
        assert body["dossier_code"] == d.code
        by_type = {e["event_type"]: e for e in body["entries"]}
        assert by_type["ticket.called"]["detail"]["counter_id"] == "3"
        assert by_type["dossier.received"]["detail"]["actor"] == "clerk-7"
        assert by_type["notification.failed"]["detail"] == {
            "template": "dossier_received",
            "channel": "sms",
            "result": "failed",
            "attempts": 1,
        }
        assert by_type["deadline.updated"]["detail"]["reason"] == "pause"
        times = [e["at"] for e in body["entries"]]
        assert times == sorted(times)
        # Nothing personal: no contact, sealed or not, no recipient, no gateway error.
        text = (await http.get(url, headers=leader)).text
        for private in (PHONE, contact.sealed, "r_abab", "gateway refused"):
            assert private not in text
        assert str(other.dossier_id) not in text

        page = await http.get(f"/dashboard/dossiers/{d.dossier_id}/timeline", headers=leader)
        assert page.status_code == 200, page.text
        for words in ("Gọi số", "quầy 3", "người thực hiện: clerk-7", "Tiếp nhận hồ sơ"):
            assert words in page.text
        assert PHONE not in page.text

        assert (await http.get(url, headers=service.token("another"))).status_code == 403
        assert (
            await http.get(f"/v1/dossiers/{uuid.uuid4()}/timeline", headers=clerk)
        ).status_code == 404


async def test_the_sweep_forgets_tickets_no_dossier_names(service: Service) -> None:
    center, dossier_id = f"tl-{uuid.uuid4().hex[:6]}", uuid.uuid4()
    lone, joined = uuid.uuid4(), uuid.uuid4()
    old = vn(2026, 3, 2, 8)
    entries = [
        Entry(uuid.uuid4(), center, old, "ticket.issued", "queue", ticket_id=lone),
        Entry(uuid.uuid4(), center, old, "ticket.issued", "queue", ticket_id=joined),
        Entry(
            uuid.uuid4(),
            center,
            old,
            "dossier.received",
            "intake",
            dossier_id=dossier_id,
            ticket_id=joined,
        ),
    ]
    await add_entries(service.db, entries)
    while await expire_unjoined_tickets(service.db, timedelta(days=1), 1000):
        pass
    left = await service.db.fetch(
        "SELECT ticket_id FROM timeline WHERE center_id = $1 AND source = 'queue'", center
    )
    assert [r["ticket_id"] for r in left] == [joined]
