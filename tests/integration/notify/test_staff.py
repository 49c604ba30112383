"""The staff directory's API and the escalation ladder, over the real broker and database:
a deadline event for an assigned dossier reaches the assignee's channel once, quiet hours
defer it, and bad input or the wrong role gets a clear refusal."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from motcua.devtools.samples import about
from motcua.devtools.sinks import HttpSink
from motcua.shared.auth import Role, issue_token
from motcua.shared.events import Envelope
from motcua.shared.events.catalog import DeadlineApproaching, DossierAssigned
from tests.integration.notify.harness import (
    Dossier,
    Notify,
    dossier_received,
    e164,
    overdue,
    random_phone,
    resolved,
    sms_notify,
)
from tests.integration.notify.test_quiet_hours import quiet_center
from tests.support.waiting import eventually

notify = sms_notify(escalation_sweep_seconds=0.2)


def center() -> str:
    return f"s-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def client_of(notify: Notify) -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """Clients of the API holding a token of a center and role."""
    clients: list[httpx.AsyncClient] = []

    def make(center_id: str, role: Role = "admin") -> httpx.AsyncClient:
        secret = notify.settings.auth_secret.get_secret_value()
        token = issue_token(secret, center_id=center_id, subject=f"{role}-1", role=role)
        clients.append(
            httpx.AsyncClient(base_url=notify.url, headers={"Authorization": f"Bearer {token}"})
        )
        return clients[-1]

    yield make
    for client in clients:
        await client.aclose()


def member(staff_id: str, role: str = "officer", **fields: Any) -> dict[str, Any]:
    return {
        "staff_id": staff_id,
        "display_name": f"Cán bộ {staff_id}",
        "department": "land",
        "role": role,
        "contacts": {"phone": random_phone()},
    } | fields


def approaching(d: Dossier) -> Envelope[Any]:
    return about(
        d,
        DeadlineApproaching,
        producer="deadlines",
        due_at=datetime.now(UTC) + timedelta(days=1),
        threshold="1d",
        working_seconds_left=8 * 3600,
    )


async def assigned_dossier(n: Notify, center_id: str, assignee: str) -> Dossier:
    """A dossier assigned to ``assignee``, its assignment consumed: it travels on another
    topic than the deadline events, so nothing else orders the two."""
    dossier, received = dossier_received(center_id)
    assigned = about(dossier, DossierAssigned, status=4, assignee=assignee)
    await n.publish(received, assigned)
    await eventually(lambda: n.consumed(assigned.event_id), what="the assignment consumed")
    return dossier


async def test_a_deadline_reaches_the_assignee_once(
    notify: Notify, http_sink: HttpSink, client_of: Any
) -> None:
    c = center()
    admin = client_of(c)
    officer = member("an")
    created = await admin.post(f"/centers/{c}/staff", json=officer)
    assert created.status_code == 201, created.text
    assert created.json()["contact_kinds"] == ["phone"]
    dossier = await assigned_dossier(notify, c, "an")
    event = approaching(dossier)
    await notify.publish(event)
    phone = e164(officer["contacts"]["phone"])
    [message] = await eventually(lambda: _to(http_sink, phone), what="the assignee's SMS")
    assert dossier.code in message.body
    # A duplicate of the event records nothing more.
    await notify.publish(event)
    later = approaching(dossier)
    await notify.publish(later)
    await eventually(lambda: notify.consumed(later.event_id), what="the later one consumed")
    assert len(await notify.deliveries(event.event_id)) == 1
    # The directory's change left the service as staff.configured, with no contact.
    published = await notify.db.fetch(
        """SELECT payload FROM notify.outbox WHERE event_type = 'staff.configured'
           UNION ALL SELECT payload FROM notify.outbox_journal
           WHERE event_type = 'staff.configured'"""
    )
    mine = [bytes(p["payload"]) for p in published if c.encode() in bytes(p["payload"])]
    assert len(mine) == 1
    assert phone[-6:].encode() not in mine[0]


async def test_quiet_hours_defer_a_staff_message(notify: Notify, client_of: Any) -> None:
    c, end = quiet_center(notify, seconds_left=600)
    await client_of(c).post(f"/centers/{c}/staff", json=member("binh"))
    event = approaching(await assigned_dossier(notify, c, "binh"))
    await notify.publish(event)
    [held] = await eventually(lambda: notify.deliveries(event.event_id), what="recorded")
    assert (held["status"], held["due_at"]) == ("pending", end)


async def test_a_center_with_no_staff_consumes_the_event_and_sends_nothing(
    notify: Notify, client_of: Any
) -> None:
    c = center()
    event = approaching(await assigned_dossier(notify, c, "nobody"))
    await notify.publish(event)
    await eventually(lambda: notify.consumed(event.event_id), what="consumed")
    assert await notify.deliveries(event.event_id) == []
    listed = await client_of(c).get(f"/centers/{c}/staff")
    assert (listed.status_code, listed.json()["loaded"]) == (200, False)


async def test_bad_input_is_refused_naming_the_field(notify: Notify, client_of: Any) -> None:
    c = center()
    admin = client_of(c)
    assert (await admin.post(f"/centers/{c}/staff", json=member("an"))).status_code == 201
    duplicate = await admin.post(f"/centers/{c}/staff", json=member("an"))
    no_contact = await admin.post(f"/centers/{c}/staff", json=member("chi", contacts={}))
    bad_phone = await admin.post(
        f"/centers/{c}/staff", json=member("chi", contacts={"phone": "12"})
    )
    bad_role = await admin.post(f"/centers/{c}/staff", json=member("chi", role="mayor"))
    other_center = await admin.post(f"/centers/{center()}/staff", json=member("chi"))
    bad_center = await admin.get("/centers/NOT A CENTER/staff")
    unknown = await admin.get(f"/centers/{c}/staff/ghost")
    bad_ladder = await admin.put(f"/centers/{c}/escalation-ladder", json={"late": ["leader"]})
    assert duplicate.status_code == 409
    assert no_contact.status_code == 422
    assert no_contact.json()["details"][0]["field"] == "contacts"
    assert bad_phone.status_code == 422
    assert "contacts" in bad_phone.text
    assert bad_role.status_code == 422
    assert "role" in bad_role.text
    assert other_center.status_code == 403
    assert bad_center.status_code == 422
    assert unknown.status_code == 404
    assert bad_ladder.status_code == 422


async def test_roles_and_the_audit(notify: Notify, client_of: Any) -> None:
    c = center()
    admin, leader, clerk = client_of(c), client_of(c, "leader"), client_of(c, "clerk")
    head = member("binh", "department_head")
    assert (await admin.post(f"/centers/{c}/staff", json=head)).status_code == 201
    assert (await leader.post(f"/centers/{c}/staff", json=member("x"))).status_code == 403
    assert (await clerk.get(f"/centers/{c}/staff")).status_code == 403
    assert (await leader.get(f"/centers/{c}/staff/binh")).status_code == 200
    assert (await leader.put(f"/centers/{c}/escalation-ladder", json={})).status_code == 403
    ladder = await admin.put(f"/centers/{c}/escalation-ladder", json={"approaching": ["leader"]})
    assert ladder.json()["approaching"] == ["leader"]
    gone = await admin.delete(f"/centers/{c}/staff/binh")
    assert (gone.json()["active"], gone.json()["contact_kinds"]) == (False, [])
    trail = (await admin.get(f"/centers/{c}/staff-audit")).json()
    assert [e["action"] for e in trail] == ["deactivate", "set", "create"]
    assert trail[0]["actor"] == "admin-1"
    assert trail[0]["before"]["active"] is True
    assert e164(head["contacts"]["phone"])[-6:] not in str(trail)


async def test_an_overdue_dossier_still_open_reaches_the_leader_again(
    notify: Notify, http_sink: HttpSink, client_of: Any
) -> None:
    c = center()
    admin = client_of(c)
    leader = member("dung", "leader", department=None)
    for m in (member("an"), leader):
        assert (await admin.post(f"/centers/{c}/staff", json=m)).status_code == 201
    still_open, closed = [await assigned_dossier(notify, c, "an") for _ in range(2)]
    late = [overdue(still_open), overdue(closed)]
    await notify.publish(*late, resolved(closed))
    phone = e164(leader["contacts"]["phone"])
    await eventually(lambda: _to(http_sink, phone), until=lambda m: len(m) == 2, what="overdue")

    watched = "SELECT dossier_id FROM notify.overdue_watches WHERE center_id = $1"
    rows = await eventually(
        lambda: notify.db.fetch(watched, c), until=lambda r: len(r) == 1, what="closed unwatched"
    )
    assert rows[0]["dossier_id"] == still_open.dossier_id
    # The working hours pass: the leader hears of the open one, once.
    await notify.db.execute(
        "UPDATE notify.overdue_watches SET due_at = now() WHERE center_id = $1", c
    )
    messages = await eventually(
        lambda: _to(http_sink, phone), until=lambda m: len(m) == 3, what="still open"
    )
    assert still_open.code in messages[-1].body
    assert "still open" in messages[-1].body or "vẫn chưa" in messages[-1].body
    assert await notify.db.fetch(watched, c) == []


async def _to(sink: HttpSink, phone: str) -> list[Any]:
    return sink.to(phone)
