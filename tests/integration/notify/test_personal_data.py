"""Personal data notify keeps: contacts and message bodies sealed at rest, then erased a
set time after the dossier closed (or the ticket's day), and counted. On a notify of its
own: a sweep sees every row of its schema."""

from __future__ import annotations

from typing import Any

import httpx

from motcua.devtools.sinks import HttpSink
from motcua.services.notify.personal_data import reseal
from motcua.services.notify.repository.citizens import open_address
from motcua.services.notify.repository.deliveries import open_body
from motcua.shared.crypto import AT_REST, Keyring
from tests.integration.notify.harness import (
    CONTACT_KEY,
    Dossier,
    Notify,
    dossier_received,
    e164,
    random_phone,
    resolved,
    sms_notify,
    ticket_issued,
    withdrawn,
)
from tests.support.retention import purged as purged_rows
from tests.support.waiting import eventually

notify = sms_notify(purge_after_days=30)


def purged(what: str) -> float:
    return purged_rows("notify", what)


async def sent_for(n: Notify, dossier: Dossier, count: int) -> list[Any]:
    return await eventually(
        lambda: n.db.fetch(
            "SELECT * FROM notify.deliveries WHERE subject_id = $1 AND status = 'sent'",
            dossier.dossier_id,
        ),
        until=lambda rows: len(rows) >= count,
        what=f"{count} messages sent",
    )


async def test_contacts_and_bodies_are_sealed_at_rest_and_erased_after_the_case_closed(
    notify: Notify, http_sink: HttpSink
) -> None:
    phones = [random_phone() for _ in range(3)]
    (done, got_done), (gone, got_gone), (open_, got_open) = (
        dossier_received("c-1", phone=p) for p in phones
    )
    await notify.publish(got_done, got_gone, got_open)
    await notify.publish(resolved(done), withdrawn(gone))
    await sent_for(notify, done, 2)  # received, result ready
    await sent_for(notify, gone, 1)
    [open_message] = await sent_for(notify, open_, 1)
    issued = ticket_issued("c-1", "justice", "A001", phone=random_phone())
    await notify.publish(issued)
    await eventually(
        lambda: notify.consumed(issued.event_id), until=bool, what="the ticket consumed"
    )
    closed = await eventually(
        lambda: notify.db.fetch(
            "SELECT dossier_id FROM notify.dossiers WHERE closed_at IS NOT NULL"
        ),
        until=lambda rows: len(rows) == 2,
        what="two dossiers closed",
    )
    assert {r["dossier_id"] for r in closed} == {done.dossier_id, gone.dossier_id}

    # At rest: neither number nor message text in clear, each with its key's id.
    rows = await notify.db.fetch("SELECT * FROM notify.contacts")
    assert len(rows) == 4
    assert all(r["address_key_id"] == "k1" for r in rows)
    assert not {r["address"] for r in rows} & {e164(p) for p in phones}
    keys = notify.app.state.notifier.rest_keys
    assert e164(phones[2]) in {
        open_address(keys, r["subject_kind"], r["subject_id"], r["kind"], "k1", r["address"])
        for r in rows
    }
    assert open_.code not in open_message["body"]
    body = open_body(keys, open_message["id"], "k1", open_message["body"])
    assert open_.code in body

    # Time passes: the closings (and the ticket) fall past the horizon.
    await notify.db.execute(
        "UPDATE notify.dossiers SET closed_at = closed_at - interval '31 days'"
        " WHERE closed_at IS NOT NULL"
    )
    await notify.db.execute(
        "UPDATE notify.contacts SET created_at = created_at - interval '31 days'"
        " WHERE subject_kind = 'ticket'"
    )
    before = {w: purged(w) for w in ("contacts", "message_bodies")}
    async with notify.app.state.runtime.pool.acquire() as conn:
        swept = await notify.app.state.runtime.retention.sweep_once(conn)
        again = await notify.app.state.runtime.retention.sweep_once(conn)

    assert swept is not None
    assert (swept["contacts"], swept["message_bodies"]) == (3, 3)
    assert purged("contacts") - before["contacts"] == 3
    assert purged("message_bodies") - before["message_bodies"] == 3
    left = await notify.db.fetch("SELECT subject_id FROM notify.contacts")
    assert [r["subject_id"] for r in left] == [open_.dossier_id]
    deliveries = await notify.db.fetch(
        "SELECT * FROM notify.deliveries WHERE subject_kind = 'dossier'"
    )
    for d in deliveries:
        if d["subject_id"] == open_.dossier_id:
            assert d["purged_at"] is None
            assert d["body"] == open_message["body"]
        else:  # the record stays for the audit trail, its text goes
            assert (d["body"], d["body_key_id"], d["status"]) == ("", None, "sent")
            assert d["purged_at"] is not None
    # The delivery log still lists them.
    assert len(deliveries) == 4
    # Nothing left to erase: the next sweep erases nothing.
    assert again is not None
    assert (again["contacts"], again["message_bodies"]) == (0, 0)


async def test_a_message_still_to_send_keeps_its_body(notify: Notify, http_sink: HttpSink) -> None:
    """The purge never takes what the worker still needs: pending messages wait."""
    dossier, received = dossier_received("c-2", phone=random_phone())
    await notify.publish(received, resolved(dossier))
    await sent_for(notify, dossier, 2)
    await notify.db.execute(
        "UPDATE notify.deliveries SET status = 'pending', due_at = now() + interval '1 day'"
        " WHERE subject_id = $1",
        dossier.dossier_id,
    )
    await notify.db.execute(
        "UPDATE notify.dossiers SET closed_at = closed_at - interval '31 days'"
        " WHERE dossier_id = $1",
        dossier.dossier_id,
    )
    async with notify.app.state.runtime.pool.acquire() as conn:
        await notify.app.state.runtime.retention.sweep_once(conn)
    rows = await notify.db.fetch(
        "SELECT body, purged_at FROM notify.deliveries WHERE subject_id = $1",
        dossier.dossier_id,
    )
    assert all(r["body"] and r["purged_at"] is None for r in rows)


async def test_what_is_not_under_the_current_key_is_sealed_again_at_start(
    notify: Notify, http_sink: HttpSink
) -> None:
    """After a rotation, and for rows stored in clear before sealing existed."""
    phone, dossier, _ = await notify.receive_for_new_phone("c-3")
    [message] = await sent_for(notify, dossier, 1)
    ring = notify.app.state.notifier.rest_keys
    text = open_body(ring, message["id"], "k1", message["body"])
    # As an older notify stored them: in clear, no key id.
    await notify.db.execute(
        "UPDATE notify.contacts SET address = $2, address_key_id = NULL WHERE subject_id = $1",
        dossier.dossier_id,
        e164(phone),
    )
    await notify.db.execute(
        "UPDATE notify.deliveries SET body = $2, body_key_id = NULL WHERE id = $1",
        message["id"],
        text,
    )
    new_key = "rotated-contact-key-" + "n" * 20
    rotated = Keyring("k2", {"k1": CONTACT_KEY, "k2": new_key}, AT_REST)
    async with notify.app.state.runtime.pool.acquire() as conn:
        contacts, bodies = await reseal(conn, rotated)
        assert contacts >= 1
        assert bodies >= 1
        assert await reseal(conn, rotated) == (0, 0)  # done once
        left = await conn.fetchval(
            "SELECT count(*) FROM contacts WHERE address_key_id IS DISTINCT FROM 'k2'"
        )
        assert left == 0  # k1 may now be retired
        row = await conn.fetchrow(
            "SELECT address, address_key_id FROM contacts WHERE subject_id = $1",
            dossier.dossier_id,
        )
        assert row["address"] != e164(phone)
        only_new = Keyring("k2", {"k2": new_key}, AT_REST)
        opened = open_address(
            only_new, "dossier", dossier.dossier_id, "phone", "k2", row["address"]
        )
        assert opened == e164(phone)
        body = await conn.fetchrow(
            "SELECT body, body_key_id FROM deliveries WHERE id = $1", message["id"]
        )
        assert body["body_key_id"] == "k2"
        assert open_body(only_new, message["id"], "k2", body["body"]) == text
        # Back under the running service's key, for whatever runs after.
        back = Keyring("k1", {"k1": CONTACT_KEY, "k2": new_key}, AT_REST)
        assert (await reseal(conn, back))[0] >= 1
        assert await reseal(conn, back) == (0, 0)


async def test_the_dev_inbox_is_not_served_unless_asked_for(notify: Notify) -> None:
    """Channels are configured and the inbox was not turned on: no page shows anyone's
    messages, though dev mode is on."""
    assert notify.settings.dev_mode
    async with httpx.AsyncClient(base_url=notify.url) as client:
        for path in ("/dev/inbox", "/dev/inbox.json"):
            response = await client.get(path)
            assert response.status_code == 404, path
            assert "development only" in response.text
