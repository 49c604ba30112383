"""``ticket.service_completed``: a counter dossier records the ticket that led to it,
whether the dossier or the ticket event comes first."""

from __future__ import annotations

import uuid
from typing import Any

from motcua.devtools.bus import produce
from motcua.shared.events import ticket_correlation
from motcua.shared.events.catalog import TicketServiceCompleted
from motcua.shared.events.envelope import new_event
from motcua.shared.events.topics import QUEUE
from tests.integration.intake.support import CENTER, Intake, command
from tests.support.waiting import eventually


async def _served(
    intake: Intake,
    ticket: uuid.UUID,
    *,
    number: str,
    dossier: uuid.UUID | None = None,
    center: str = CENTER,
) -> None:
    event = new_event(
        TicketServiceCompleted(
            ticket_id=ticket,
            number=number,
            line_code="TP",
            lookup_code="x1",
            counter_id="3",
            dossier_id=dossier,
            service_seconds=420,
        ),
        center_id=center,
        producer="queue",
    )
    await produce(intake.bootstrap, intake.topic(QUEUE), [event.to_bytes()], key=center.encode())


async def _ticket_of(intake: Intake, dossier_id: str) -> dict[str, Any] | None:
    ticket: dict[str, Any] | None = (await intake.dossier(dossier_id))["ticket"]
    return ticket


async def _known(intake: Intake, ticket: uuid.UUID) -> bool:
    return bool(
        await intake.pg.fetchval("SELECT 1 FROM served_tickets WHERE ticket_id = $1", ticket)
    )


async def test_dossier_first_then_ticket_event(intake: Intake) -> None:
    ticket = uuid.uuid4()
    received = await intake.receive(ticket_id=str(ticket))
    dossier_id = received["dossier"]["id"]
    assert received["dossier"]["ticket"] == {
        "ticket_id": str(ticket),
        "number": None,
        "line_code": None,
        "counter_id": None,
        "served_at": None,
    }
    [event] = await intake.wait_events(dossier_id, 1)
    assert event["data"]["ticket_id"] == str(ticket)
    # The dossier continues the ticket's correlation chain (kiosk to SMS).
    assert event["correlation_id"] == str(ticket_correlation(ticket))

    await _served(intake, ticket, number="A007")
    linked = await eventually(
        lambda: _ticket_of(intake, dossier_id),
        until=lambda t: t is not None and t["number"] == "A007",
        what="served ticket details",
    )
    assert linked is not None
    assert (linked["counter_id"], linked["line_code"]) == ("3", "TP")


async def test_ticket_event_first_then_dossier_at_the_counter(intake: Intake) -> None:
    ticket = uuid.uuid4()
    await _served(intake, ticket, number="B012")
    await eventually(lambda: _known(intake, ticket), what="ticket consumed")
    received = await intake.receive(ticket_id=str(ticket))
    assert received["dossier"]["ticket"]["ticket_id"] == str(ticket)
    linked = await _ticket_of(intake, received["dossier"]["id"])
    assert linked is not None
    assert (linked["ticket_id"], linked["number"], linked["counter_id"]) == (
        str(ticket),
        "B012",
        "3",
    )
    assert linked["served_at"] is not None


async def test_ticket_event_naming_the_dossier_links_it_in_either_order(intake: Intake) -> None:
    # Event first: it names a dossier a clerk app is about to receive over the bus.
    early_ticket, early_dossier = uuid.uuid4(), uuid.uuid4()
    await _served(intake, early_ticket, number="C001", dossier=early_dossier)
    await eventually(lambda: _known(intake, early_ticket), what="ticket consumed")
    await intake.send(
        command("dossier.receive", {"procedure_code": "CT-BANSAO"}, dossier_id=early_dossier)
    )
    [event] = await intake.wait_events(early_dossier, 1)
    assert event["data"]["ticket_id"] == str(early_ticket)

    # Dossier first, received without the ticket; the event names it afterwards.
    late_ticket = uuid.uuid4()
    late_dossier = (await intake.receive("CT-BANSAO"))["dossier"]["id"]
    await _served(intake, late_ticket, number="C002", dossier=uuid.UUID(late_dossier))
    linked = await eventually(
        lambda: _ticket_of(intake, late_dossier),
        until=lambda t: t is not None and t["number"] == "C002",
        what="dossier linked to its ticket",
    )
    assert linked is not None
    assert linked["ticket_id"] == str(late_ticket)


async def test_a_ticket_of_another_center_cannot_be_claimed(intake: Intake) -> None:
    ticket = uuid.uuid4()
    await _served(intake, ticket, number="D001", center="other-ward")
    await eventually(lambda: _known(intake, ticket), what="ticket consumed")
    r = await intake.http.post(
        "/v1/dossiers",
        json={"procedure_code": "CT-BANSAO", "ticket_id": str(ticket)},
        headers=intake.auth(),
    )
    assert r.status_code == 422
    assert r.json()["details"][0]["field"] == "ticket_id"
