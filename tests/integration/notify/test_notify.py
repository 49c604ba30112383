"""The notify service on the real broker and database, sending to a real HTTP
server (the SMS gateway and webhooks) and a real SMTP server.

One service instance serves the whole module; each test uses its own centers,
phone numbers and dossiers, so tests do not see each other's messages.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from motcua.devtools.backends import Servers
from motcua.devtools.bus import produce, read_all
from motcua.devtools.sinks import HttpSink, SmtpSink
from motcua.services.notify.contacts import recipient_ref
from motcua.services.notify.repository.delivery_log import MASK
from motcua.shared.auth import issue_token
from motcua.shared.crypto import seal
from motcua.shared.events.topics import DOSSIERS, NOTIFICATIONS
from tests.integration.notify.harness import (
    Notify,
    dossier_received,
    e164,
    new_delivery,
    overdue,
    random_phone,
    random_secret,
    resolved,
    returned,
    running_notify,
    supplement_requested,
    ticket_called,
    ticket_issued,
)
from tests.support.waiting import eventually


@pytest.fixture(scope="module")
def smtp_sink() -> Any:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
async def notify(
    test_servers: Servers, http_sink: HttpSink, smtp_sink: SmtpSink
) -> AsyncIterator[Notify]:
    channels = {"sms": http_sink.url("/sms"), "email": smtp_sink.url()}
    centers = {
        "c-hook": {"channels": {"webhook": http_sink.url("/hook")}},
        "c-flaky": {"channels": {"sms": http_sink.url("/flaky")}},
        "c-down": {"channels": {"sms": http_sink.url("/down"), "webhook": http_sink.url("/zalo")}},
        "c-dead": {"channels": {"sms": http_sink.url("/down")}},
        "c-mail": {"channels": {"sms": http_sink.url("/down"), "email": smtp_sink.url()}},
        "c-dev": {"channels": {}},
        "c-slow": {"channels": {"sms": http_sink.url("/slow") + "?rto=15"}},
    }
    http_sink.fail_paths.add("/down")
    http_sink.delays["/slow"] = 7.0  # longer than the lease below
    async with running_notify(
        test_servers,
        channels=channels,
        centers=centers,
        fallback_order=["sms", "webhook", "email"],
        turn_soon_ahead=1,
        turn_soon_minutes=0,
        dev_inbox=True,
    ) as n:
        yield n


def center() -> str:
    return f"c-{uuid.uuid4().hex[:8]}"


async def messages_to(sink: HttpSink, phone: str, count: int) -> list[Any]:
    """Wait until ``phone`` has seen ``count`` messages; fail if it sees more."""
    got = await eventually(
        lambda: _now(sink.to(e164(phone))), until=lambda m: len(m) >= count, what="messages"
    )
    assert len(got) == count, [m.body for m in got]
    return got


async def _now(value: Any) -> Any:
    return value


async def sent_events(n: Notify, source_event_id: uuid.UUID) -> list[dict[str, Any]]:
    msgs = await read_all(n.bootstrap, NOTIFICATIONS.topic(n.prefix))
    events = [json.loads(m.value) for m in msgs]
    return [e for e in events if e["data"].get("source_event_id") == str(source_event_id)]


# ------------------------------------------------------------------ triggers

TEXTS = {
    "vi": {
        "called": "Mời số {number} đến quầy 3.",
        "soon": "Sắp đến lượt của ông/bà: số {number}.",
        "received": "đã được tiếp nhận. Ngày hẹn trả kết quả: 16:00 01/12/2026",
        "supplement": "cần bổ sung: Giấy chứng sinh; CCCD của mẹ",
        "resolved": "đã có kết quả",
        "returned": "Mời đánh giá chất lượng phục vụ: ",
        "overdue": "Ngày hẹn trả kết quả mới: 17:00 25/11/2026",
        "optout": "Từ chối nhận tin: ",
    },
    "en": {
        "called": "Ticket {number}: please go to counter 3 now.",
        "soon": "Your turn is coming soon: ticket {number}.",
        "received": "has been received. Results due: 16:00 01/12/2026",
        "supplement": "needs more documents: Giấy chứng sinh; CCCD của mẹ",
        "resolved": "is ready",
        "returned": "Please rate our service: ",
        "overdue": "New date for your result: 17:00 25/11/2026",
        "optout": "Stop these messages: ",
    },
}


@pytest.mark.parametrize("language", ["vi", "en"])
async def test_queue_triggers_each_send_exactly_one_message(
    notify: Notify, http_sink: HttpSink, language: str
) -> None:
    text = TEXTS[language]
    c = center()
    phones = [random_phone() for _ in range(4)]
    tickets = [
        ticket_issued(c, "A", f"A00{i + 1}", phone=p, language=language)
        for i, p in enumerate(phones)
    ]
    await notify.publish(*tickets)
    # A001 and A002 were close on arrival (at most one ahead): the kiosk told them.
    await notify.publish(ticket_called(tickets[0]))
    [called] = await messages_to(http_sink, phones[0], 1)
    assert called.body.startswith(text["called"].format(number="A001"))
    [soon] = await messages_to(http_sink, phones[2], 1)
    assert soon.body.startswith(text["soon"].format(number="A003"))
    assert text["optout"] in soon.body

    await notify.publish(ticket_called(tickets[1]))
    [soon4] = await messages_to(http_sink, phones[3], 1)
    assert soon4.body.startswith(text["soon"].format(number="A004"))
    await notify.publish(ticket_called(tickets[2]))
    _, called3 = await messages_to(http_sink, phones[2], 2)
    assert called3.body.startswith(text["called"].format(number="A003"))
    # Nobody was told twice, and the kiosk-close A002 only hears its call.
    await notify.publish(ticket_called(tickets[3]))
    await messages_to(http_sink, phones[3], 2)
    [a2] = await messages_to(http_sink, phones[1], 1)
    assert a2.body.startswith(text["called"].format(number="A002"))


async def test_sms_go_out_at_the_pace_every_replica_shares(
    notify: Notify, http_sink: HttpSink
) -> None:
    phone = random_phone()
    ticket = ticket_issued(center(), "A", "A001", phone=phone, language="vi")
    await notify.publish(ticket, ticket_called(ticket))
    await messages_to(http_sink, phone, 1)
    pace = await notify.db.fetchrow("SELECT channel, tat FROM notify.channel_pace")
    assert pace is not None, "the send took no slot of the shared pace"
    assert pace["channel"] == "sms"


@pytest.mark.parametrize("language", ["vi", "en"])
async def test_dossier_and_deadline_triggers_each_send_exactly_one_message(
    notify: Notify, http_sink: HttpSink, language: str
) -> None:
    text = TEXTS[language]
    phone, dossier, received = await notify.receive_for_new_phone(center(), language=language)
    [m] = await messages_to(http_sink, phone, 1)
    assert dossier.code in m.body
    assert text["received"] in m.body
    assert f"/lookup?code={dossier.code}" in m.body

    steps = [
        (supplement_requested(dossier), "supplement"),
        (resolved(dossier), "resolved"),
        (returned(dossier), "returned"),
        (overdue(dossier), "overdue"),
    ]
    for count, (event, key) in enumerate(steps, start=2):
        await notify.publish(event)
        got = await messages_to(http_sink, phone, count)
        assert dossier.code in got[-1].body
        assert text[key] in got[-1].body, got[-1].body
        assert text["optout"] in got[-1].body
    # Every message is on the bus as notification.sent, with a reference, never the number.
    events = await eventually(
        lambda: sent_events(notify, received.event_id), what="notification.sent"
    )
    assert [e["event_type"] for e in events] == ["notification.sent"]
    assert events[0]["data"]["recipient_ref"].startswith("r_")
    assert events[0]["causation_id"] == str(received.event_id)


async def test_email_contact_is_mailed_over_smtp_with_a_stable_message_id(
    notify: Notify, smtp_sink: SmtpSink
) -> None:
    address = f"cong.dan.{uuid.uuid4().hex[:6]}@example.vn"
    dossier, received = dossier_received(center(), email=address, language="vi")
    await notify.publish(received)
    [mail] = await eventually(lambda: _now(smtp_sink.to(address)), what="an e-mail")
    [delivery] = await notify.deliveries(received.event_id)
    assert delivery["channel"] == "email"
    assert mail.subject == f"Đã tiếp nhận hồ sơ {dossier.code}"
    assert dossier.code in mail.body
    assert mail.message_id == f"<{delivery['id']}@notify.motcua>"
    assert mail.key == str(delivery["id"])


async def test_a_center_with_a_webhook_gets_its_messages_there(
    notify: Notify, http_sink: HttpSink
) -> None:
    phone, dossier, received = await notify.receive_for_new_phone("c-hook", language="en")
    [m] = await messages_to(http_sink, phone, 1)
    assert m.path == "/hook"
    assert m.title == f"Dossier {dossier.code} received"
    [delivery] = await notify.deliveries(received.event_id)
    assert (delivery["channel"], m.key) == ("webhook", str(delivery["id"]))


async def test_the_same_event_delivered_twice_sends_one_message(
    notify: Notify, http_sink: HttpSink
) -> None:
    phone = random_phone()
    _, received = dossier_received(center(), phone=phone)
    topic = DOSSIERS.topic(notify.prefix)
    key = str(received.data.dossier_id).encode()
    await produce(notify.bootstrap, topic, [received.to_bytes()] * 2, key=key)
    await messages_to(http_sink, phone, 1)
    await produce(notify.bootstrap, topic, [received.to_bytes()], key=key)
    # A later event on the same partition proves the third copy was consumed too.
    _, marker = dossier_received(center(), phone=random_phone(), dossier_id=None)
    await produce(notify.bootstrap, topic, [marker.to_bytes()], key=key)
    await eventually(lambda: notify.consumed(marker.event_id), what="the marker consumed")
    assert len(await notify.deliveries(received.event_id)) == 1
    assert [m.to for m in http_sink.accepted].count(e164(phone)) == 1


async def test_failing_gateway_recovers_and_the_citizen_gets_one_message(
    notify: Notify, http_sink: HttpSink
) -> None:
    phone = random_phone()
    http_sink.fail_next["/flaky"] = 2
    _, received = dossier_received("c-flaky", phone=phone)
    await notify.publish(received)
    await messages_to(http_sink, phone, 1)
    [delivery] = await notify.sent(received.event_id)
    assert delivery["attempts"] == 3
    attempts = await notify.attempts(delivery["id"])
    assert [a["outcome"] for a in attempts] == ["failed", "failed", "sent"]
    assert "500" in attempts[0]["error"]
    assert all(a["segments"] == delivery["segments"] > 1 for a in attempts)


async def test_a_channel_that_keeps_failing_falls_back_to_the_next(
    notify: Notify, http_sink: HttpSink
) -> None:
    phone, _, received = await notify.receive_for_new_phone("c-down")
    [m] = await messages_to(http_sink, phone, 1)
    assert m.path == "/zalo"
    sms, hook = await eventually(
        lambda: notify.deliveries(received.event_id),
        until=lambda d: [x["status"] for x in d] == ["failed", "sent"],
        what="sms failed, webhook sent",
    )
    assert (sms["channel"], sms["status"], sms["attempts"]) == ("sms", "failed", 4)
    assert (hook["channel"], hook["status"]) == ("webhook", "sent")
    events = await eventually(
        lambda: sent_events(notify, received.event_id),
        until=lambda e: len(e) == 2,
        what="failed then sent",
    )
    assert [(e["event_type"], e["data"]["channel"]) for e in events] == [
        ("notification.failed", "sms"),
        ("notification.sent", "webhook"),
    ]


async def test_sms_falls_back_to_email_when_the_citizen_gave_both(
    notify: Notify, smtp_sink: SmtpSink
) -> None:
    # Today's events carry one contact each; a citizen with both is set up directly.
    address = f"an.{uuid.uuid4().hex[:6]}@example.vn"
    dossier, received = dossier_received("c-mail", phone=random_phone(), language="en")
    ref = recipient_ref(notify.settings.recipient_secret, "email", address)
    await notify.db.execute(
        """INSERT INTO notify.contacts (subject_kind, subject_id, kind, address, recipient_ref,
                                        language, center_id)
           VALUES ('dossier', $1, 'email', $2, $3, 'en', 'c-mail')""",
        dossier.dossier_id,
        address,
        ref,
    )
    await notify.publish(received)
    [mail] = await eventually(lambda: _now(smtp_sink.to(address)), what="the e-mail fallback")
    assert mail.subject == f"Dossier {dossier.code} received"
    sms, email = await eventually(
        lambda: notify.deliveries(received.event_id),
        until=lambda d: [x["status"] for x in d] == ["failed", "sent"],
        what="sms failed, e-mail sent",
    )
    assert (sms["channel"], email["channel"], email["recipient_ref"]) == ("sms", "email", ref)


async def test_when_every_channel_fails_the_event_is_dead_lettered(
    notify: Notify, http_sink: HttpSink
) -> None:
    _, received = dossier_received("c-dead", phone=random_phone())
    await notify.publish(received)
    events = await eventually(
        lambda: sent_events(notify, received.event_id), what="notification.failed"
    )
    assert events[0]["event_type"] == "notification.failed"
    assert "500" in events[0]["data"]["error"]
    dlq = DOSSIERS.dlq(notify.prefix)

    async def dead() -> list[Any]:
        found = await read_all(notify.bootstrap, dlq)
        return [m for m in found if json.loads(m.value)["event_id"] == str(received.event_id)]

    [letter] = await eventually(dead, what="the dead letter")
    assert letter.headers["x-consumer"] == "notify"
    assert letter.headers["x-original-topic"] == DOSSIERS.topic(notify.prefix)
    assert letter.headers["x-attempts"] == "4"
    assert "500" in letter.headers["x-error"]


# ---------------------------------------------------------- lookup secret

SECRET_TEXTS = {
    "vi": "với mã bí mật {secret}.",
    "en": "with the secret {secret}.",
}


async def stored_in(n: Notify, text: str) -> dict[str, int]:
    """How many rows of each notify column hold ``text`` (binary columns decoded)."""
    columns = await n.db.fetch(
        """SELECT table_name, column_name, data_type FROM information_schema.columns
           WHERE table_schema = 'notify' ORDER BY table_name, ordinal_position"""
    )
    found: dict[str, int] = {}
    for c in columns:
        column = f'x."{c["column_name"]}"'
        match = (
            f"position(convert_to($1, 'UTF8') in {column}) > 0"
            if c["data_type"] == "bytea"
            else f"strpos({column}::text, $1) > 0"
        )
        table = f'notify."{c["table_name"]}"'
        count = await n.db.fetchval(f"SELECT count(*) FROM {table} x WHERE {match}", text)
        if count:
            found[f"{c['table_name']}.{c['column_name']}"] = count
    return found


@pytest.mark.parametrize("language", ["vi", "en"])
async def test_the_received_message_shows_the_lookup_secret_kept_only_in_its_body(
    notify: Notify, http_sink: HttpSink, language: str
) -> None:
    phone, secret = random_phone(), random_secret()
    dossier, received = dossier_received(center(), phone=phone, language=language, secret=secret)
    await notify.publish(received)
    [m] = await messages_to(http_sink, phone, 1)
    assert dossier.code in m.body
    assert SECRET_TEXTS[language].format(secret=secret) in m.body
    [delivery] = await notify.sent(received.event_id)
    assert secret not in json.dumps(delivery["context"])
    # Rendered into the body alone, and the body is sealed at rest: no column holds the
    # secret in clear, nor the citizen's number.
    assert await stored_in(notify, secret) == {}
    assert await stored_in(notify, phone[-9:]) == {}
    [sent] = await eventually(
        lambda: sent_events(notify, received.event_id), what="notification.sent"
    )
    assert secret not in json.dumps(sent)


async def received_after_the_sms_failed(
    notify: Notify, http_sink: HttpSink, secret: str
) -> tuple[Any, Any, list[Any]]:
    """A received dossier's message with its secret, sent by webhook once the SMS failed:
    the event, the message as the citizen got it, and its two deliveries."""
    phone, _, received = await notify.receive_for_new_phone("c-down", language="en", secret=secret)
    [m] = await messages_to(http_sink, phone, 1)
    assert m.path == "/zalo"
    both = await eventually(
        lambda: notify.deliveries(received.event_id),
        until=lambda d: [x["status"] for x in d] == ["failed", "sent"],
        what="sms failed, webhook sent",
    )
    return received, m, both


async def test_a_fallback_message_shows_the_lookup_secret_too(
    notify: Notify, http_sink: HttpSink
) -> None:
    secret = random_secret()
    _, m, (sms, hook) = await received_after_the_sms_failed(notify, http_sink, secret)
    assert SECRET_TEXTS["en"].format(secret=secret) in m.body
    # In the two rendered bodies (the SMS that failed, the webhook message) alone, and
    # they are sealed at rest: no column holds it in clear.
    assert await stored_in(notify, secret) == {}
    assert secret not in json.dumps([sms["context"], hook["context"], hook["fallback"]])


async def test_without_a_secret_the_message_points_to_the_receipt(
    notify: Notify, http_sink: HttpSink
) -> None:
    phone, _, _ = await notify.receive_for_new_phone(center())
    [m] = await messages_to(http_sink, phone, 1)
    assert "(nhập mã bí mật in trên giấy tiếp nhận)" in m.body
    assert "với mã bí mật" not in m.body


def staff_of(n: Notify, center_id: str) -> dict[str, str]:
    token = issue_token(n.settings.auth_secret.get_secret_value(), center_id=center_id, subject="s")
    return {"Authorization": f"Bearer {token}"}


async def test_staff_read_the_delivery_log_with_the_lookup_secret_masked(
    notify: Notify, http_sink: HttpSink
) -> None:
    """The secret lets anyone look the dossier up: it is the citizen's, not the staff's."""
    secret = random_secret()
    received, m, _ = await received_after_the_sms_failed(notify, http_sink, secret)
    masked = m.body.replace(secret, MASK)
    assert masked != m.body
    async with httpx.AsyncClient(base_url=notify.url, headers=staff_of(notify, "c-down")) as client:
        listed = await client.get(
            "/deliveries",
            params={"center_id": "c-down", "source_event_id": str(received.event_id)},
        )
        assert listed.status_code == 200
        assert secret not in listed.text
        by_channel = {d["channel"]: d for d in listed.json()}
        assert by_channel["webhook"]["body"] == masked  # the message as sent, all but the secret
        assert SECRET_TEXTS["en"].format(secret=MASK) in by_channel["sms"]["body"]
        for d in by_channel.values():
            one = await client.get(f"/deliveries/{d['id']}")
            assert one.status_code == 200
            assert secret not in one.text
            assert one.json()["body"] == d["body"]
        # The dev inbox (on in this deployment) is no one's phone: masked there too.
        inbox = await client.get("/dev/inbox.json", params={"limit": 1000})
        page = await client.get("/dev/inbox", params={"limit": 1000})
    assert masked in [x["body"] for x in inbox.json()]
    assert secret not in inbox.text
    assert secret not in page.text


async def test_the_dev_inbox_shows_its_own_messages_whole_as_the_citizens_phone_would(
    notify: Notify,
) -> None:
    phone, secret = random_phone(), random_secret()
    dossier, received = dossier_received("c-dev", phone=phone, language="en", secret=secret)
    await notify.publish(received)

    async def inbox() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=notify.url) as client:
            found = (await client.get("/dev/inbox.json", params={"limit": 1000})).json()
        return [m for m in found if dossier.code in m["body"] and m["status"] == "sent"]

    [message] = await eventually(inbox, what="the message in the dev inbox")
    assert SECRET_TEXTS["en"].format(secret=secret) in message["body"]
    async with httpx.AsyncClient(base_url=notify.url, headers=staff_of(notify, "c-dev")) as client:
        listed = await client.get(
            "/deliveries", params={"center_id": "c-dev", "source_event_id": str(received.event_id)}
        )
    [d] = listed.json()
    assert d["body"] == message["body"].replace(secret, MASK)
    assert secret not in listed.text


async def test_a_message_whose_secret_can_no_longer_be_opened_is_withheld_from_staff(
    notify: Notify,
) -> None:
    """Sealed under a contact key the service no longer holds: the secret cannot be found
    in the body to mask it, so staff see no body at all."""
    from datetime import UTC, datetime

    from motcua.services.notify.repository import deliveries

    c, secret = center(), random_secret()
    dossier, received = dossier_received(c, phone=random_phone(), secret=secret)
    old = seal("an-earlier-contact-key", secret, str(dossier.dossier_id))
    received = received.model_copy(
        update={"data": received.data.model_copy(update={"sealed_secret": old})}
    )
    source = deliveries.SourceEvent(received.event_id, "t", "k", received.to_bytes(), None)
    delivery = deliveries.NewDelivery(
        id=uuid.uuid4(),
        source_event_id=received.event_id,
        center_id=c,
        kind="dossier_received",
        channel="none",
        recipient_ref="r_00",
        subject_kind="dossier",
        subject_id=dossier.dossier_id,
        contact_kind="phone",
        language="en",
        title=f"Dossier {dossier.code} received",
        body=f"Track it with the secret {secret}.",
        segments=None,
        context={},
        status="suppressed",
        due_at=datetime.now(UTC),
    )
    async with notify.app.state.runtime.pool.acquire() as conn, conn.transaction():
        assert await deliveries.record_delivery(
            conn, delivery, source, notify.app.state.notifier.rest_keys
        )
    async with httpx.AsyncClient(base_url=notify.url, headers=staff_of(notify, c)) as client:
        [listed] = (await client.get("/deliveries", params={"center_id": c})).json()
        one = (await client.get(f"/deliveries/{delivery.id}")).json()
    assert listed["body"] == one["body"] == MASK
    assert secret not in json.dumps([listed, one])


async def test_a_send_that_outlasts_the_lease_is_not_taken_for_a_dead_one(
    notify: Notify, http_sink: HttpSink
) -> None:
    """The worker renews the lease while it is sending: no second send, no interruption."""
    assert notify.settings.lease_seconds < http_sink.delays["/slow"]
    phone, _, received = await notify.receive_for_new_phone("c-slow")
    await messages_to(http_sink, phone, 1)
    [delivery] = await notify.sent(received.event_id)
    assert [a["outcome"] for a in await notify.attempts(delivery["id"])] == ["sent"]
    assert sum(e164(phone).encode() in r.body for r in http_sink.requests) == 1


# ------------------------------------------------------- consent and opt-out


async def test_no_contact_means_no_message(notify: Notify, http_sink: HttpSink) -> None:
    c = center()
    ticket = ticket_issued(c, "A", "A001")
    _, received = dossier_received(c)
    before = len(http_sink.accepted)
    await notify.publish(ticket, ticket_called(ticket), received)
    await eventually(lambda: notify.consumed(received.event_id), what="events consumed")
    count = "SELECT count(*) FROM notify.deliveries WHERE center_id = $1"
    assert await notify.db.fetchval(count, c) == 0
    assert len(http_sink.accepted) == before


async def test_opt_out_by_link_is_honoured_at_once(notify: Notify, http_sink: HttpSink) -> None:
    phone, dossier, _ = await notify.receive_for_new_phone(center())
    [m] = await messages_to(http_sink, phone, 1)
    link = re.search(r"(http\S+/optout/(\S+))", m.body)
    assert link is not None
    async with httpx.AsyncClient(base_url=notify.url) as client:
        page = await client.get(f"/optout/{link.group(2)}")
        assert page.status_code == 200
        assert "<form" in page.text
        done = await client.post(f"/optout/{link.group(2)}")
        assert done.status_code == 200
        again = await client.post("/optout", json={"token": link.group(2)})
        assert again.json() == {"opted_out": True, "already": True}
        forged = await client.post("/optout", json={"token": link.group(2)[:-2] + "xx"})
        assert forged.status_code == 422
    event = resolved(dossier)
    await notify.publish(event)
    await eventually(lambda: notify.consumed(event.event_id), what="resolved consumed")
    [delivery] = await notify.deliveries(event.event_id)
    assert (delivery["status"], delivery["last_error"]) == ("suppressed", "opted out")
    assert len(http_sink.to(e164(phone))) == 1


async def test_opt_out_by_reply_keyword(notify: Notify, http_sink: HttpSink) -> None:
    phone = random_phone()
    secret = notify.settings.inbound_secret.get_secret_value()
    async with httpx.AsyncClient(base_url=notify.url) as client:
        wrong = await client.post("/inbound/sms", json={"from": phone, "text": "TU CHOI"})
        assert wrong.status_code == 401
        chat = await client.post(
            "/inbound/sms",
            json={"from": phone, "text": "Cảm ơn"},
            headers={"X-Inbound-Secret": secret},
        )
        assert chat.json()["opted_out"] is False
        stop = await client.post(
            "/inbound/sms",
            json={"from": e164(phone), "text": "  Từ chối "},
            headers={"X-Inbound-Secret": secret},
        )
        assert stop.json()["opted_out"] is True
        bad = await client.post(
            "/inbound/sms",
            json={"from": "12345", "text": "STOP"},
            headers={"X-Inbound-Secret": secret},
        )
        assert bad.status_code == 422
        assert bad.json()["details"][0]["field"] == "from"
    _, received = dossier_received(center(), phone=phone)
    await notify.publish(received)
    await eventually(lambda: notify.consumed(received.event_id), what="consumed")
    [delivery] = await notify.deliveries(received.event_id)
    assert delivery["status"] == "suppressed"
    assert http_sink.to(e164(phone)) == []


# ------------------------------------------------------------ bad events


async def test_malformed_events_are_dead_lettered_and_the_rest_flows(
    notify: Notify, http_sink: HttpSink
) -> None:
    phone = random_phone()
    _, good = dossier_received(center(), phone=phone)
    broken = json.loads(good.to_bytes())
    del broken["data"]["dossier_code"]
    bad = [b"not json at all", json.dumps(broken).encode()]
    topic = DOSSIERS.topic(notify.prefix)
    await produce(notify.bootstrap, topic, [*bad, good.to_bytes()], partition=0)
    await messages_to(http_sink, phone, 1)
    dead = await eventually(
        lambda: read_all(notify.bootstrap, DOSSIERS.dlq(notify.prefix)),
        until=lambda d: sum(m.value in bad for m in d) == 2,
        what="two dead letters",
    )
    errors = [m.headers["x-error"] for m in dead if m.value in bad]
    assert any("not JSON" in e for e in errors)
    assert any("dossier_code" in e for e in errors)


# --------------------------------------------------------- feedback and log


async def test_rating_link_stores_one_rating_and_publishes_feedback(
    notify: Notify, http_sink: HttpSink
) -> None:
    phone = random_phone()
    dossier, received = dossier_received(center(), phone=phone, language="en")
    await notify.publish(received, returned(dossier))
    both = await messages_to(http_sink, phone, 2)  # sent concurrently: any order
    [closing] = [m for m in both if "/feedback/" in m.body]
    match = re.search(r"/feedback/(\S+)\?lang=en", closing.body)
    assert match is not None
    token = match.group(1)
    async with httpx.AsyncClient(base_url=notify.url) as client:
        page = await client.get(f"/feedback/{token}", params={"lang": "en"})
        assert page.status_code == 200
        assert dossier.code in page.text
        bad = await client.post("/feedback", json={"token": token, "rating": 6})
        assert bad.status_code == 422
        assert bad.json()["details"][0]["field"] == "rating"
        forged = await client.post(
            "/feedback", json={"token": "f" + token[1:-3] + "abc", "rating": 5}
        )
        assert forged.status_code == 422
        ok = await client.post(
            "/feedback", json={"token": token, "rating": 4, "comment": "Nhanh, chu đáo"}
        )
        assert ok.status_code == 201, ok.text
        twice = await client.post("/feedback", json={"token": token, "rating": 5})
        assert twice.status_code == 409
    row = await notify.db.fetchrow(
        "SELECT rating, comment FROM notify.feedback WHERE dossier_id = $1", dossier.dossier_id
    )
    assert (row["rating"], row["comment"]) == (4, "Nhanh, chu đáo")

    async def feedback() -> list[dict[str, Any]]:
        msgs = await read_all(notify.bootstrap, NOTIFICATIONS.topic(notify.prefix))
        events = [json.loads(m.value) for m in msgs]
        return [
            e
            for e in events
            if e["event_type"] == "feedback.received"
            and e["data"]["dossier_id"] == str(dossier.dossier_id)
        ]

    [event] = await eventually(feedback, what="feedback.received")
    assert (event["center_id"], event["data"]["rating"]) == (dossier.center, 4)


async def test_the_rating_page_form_works_without_javascript(
    notify: Notify, http_sink: HttpSink
) -> None:
    phone = random_phone()
    dossier, received = dossier_received(center(), phone=phone)
    await notify.publish(received, returned(dossier))
    both = await messages_to(http_sink, phone, 2)
    [token] = [m.group(1) for b in both if (m := re.search(r"/feedback/(\S+)", b.body))]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    async with httpx.AsyncClient(base_url=notify.url) as client:
        done = await client.post(
            f"/feedback/{token}", content="rating=5&comment=R%E1%BA%A5t+t%E1%BB%91t", headers=form
        )
        assert done.status_code == 200
        assert "Cảm ơn" in done.text
        again = await client.post(f"/feedback/{token}", content="rating=1", headers=form)
        assert again.status_code == 409
        bad_link = await client.post("/optout/o-not-a-token")
        assert bad_link.status_code == 404
    row = await notify.db.fetchrow(
        "SELECT rating, comment FROM notify.feedback WHERE dossier_id = $1", dossier.dossier_id
    )
    assert (row["rating"], row["comment"]) == (5, "Rất tốt")


async def test_delivery_log_api_is_the_audit_trail_for_the_centers_staff(
    notify: Notify, http_sink: HttpSink
) -> None:
    phone = random_phone()
    c = center()
    _, received = dossier_received(c, phone=phone)
    await notify.publish(received)
    await messages_to(http_sink, phone, 1)
    secret = notify.settings.auth_secret.get_secret_value()
    staff = {"Authorization": f"Bearer {issue_token(secret, center_id=c, subject='clerk-1')}"}
    other = {"Authorization": f"Bearer {issue_token(secret, center_id='x', subject='clerk-2')}"}
    async with httpx.AsyncClient(base_url=notify.url) as client:
        assert (await client.get("/deliveries", params={"center_id": c})).status_code == 401
        denied = await client.get("/deliveries", params={"center_id": c}, headers=other)
        assert denied.status_code == 403

        async def listing() -> httpx.Response:
            return await client.get("/deliveries", params={"center_id": c}, headers=staff)

        listed = await eventually(
            listing, until=lambda r: r.json()[0]["status"] == "sent", what="a sent delivery"
        )
        [row] = listed.json()
        assert row["recipient_ref"].startswith("r_")
        assert phone[1:] not in listed.text
        one = await client.get(f"/deliveries/{row['id']}", headers=staff)
        [attempt] = one.json()["log"]
        assert attempt["outcome"] == "sent"
        assert attempt["segments"] == row["segments"] >= 2
        assert (await client.get(f"/deliveries/{row['id']}", headers=other)).status_code == 403


async def test_a_center_without_channels_uses_the_dev_inbox(notify: Notify) -> None:
    phone, dossier, _ = await notify.receive_for_new_phone("c-dev")

    async def inbox() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=notify.url) as client:
            found = (await client.get("/dev/inbox.json")).json()
        return [m for m in found if dossier.code in m["body"] and m["status"] == "sent"]

    [message] = await eventually(inbox, what="the message in the dev inbox")
    assert message["channel"] == "dev_inbox"
    assert message["to"].endswith(phone[-3:])
    assert phone[3:-3] not in message["to"]
    async with httpx.AsyncClient(base_url=notify.url) as client:
        page = await client.get("/dev/inbox")
    assert page.status_code == 200
    assert dossier.code in page.text


async def test_recording_a_message_wakes_the_worker_at_commit(notify: Notify) -> None:
    """The worker need not poll: a pending delivery notifies it when the consumer commits."""
    from datetime import UTC, datetime, timedelta

    from motcua.services.notify.repository import deliveries

    woken: list[str] = []

    def wake(*args: Any) -> None:
        woken.append(args[1])

    await notify.db.add_listener("notify_deliveries", wake)
    try:
        source = deliveries.SourceEvent(uuid.uuid4(), "t", "k", b"{}", None)
        delivery = new_delivery(
            source.event_id,
            "r_x",
            "suppressed",
            center_id="c-none",
            kind="result_ready",
            channel="none",
            title="t",
            body="b",
            segments=None,
            context={},
            due_at=datetime.now(UTC) + timedelta(days=1),  # never sent during the test
        )
        pool = notify.app.state.runtime.pool
        async with pool.acquire() as conn, conn.transaction():
            assert await deliveries.record_delivery(
                conn, delivery, source, notify.app.state.notifier.rest_keys
            )
        # A suppressed message wakes nobody; a pending one does, once per transaction.
        async with pool.acquire() as conn, conn.transaction():
            pending = [
                replace(delivery, id=uuid.uuid4(), recipient_ref=f"r_{i}", status="pending")
                for i in range(3)
            ]
            for d in pending:
                assert await deliveries.record_delivery(
                    conn, d, source, notify.app.state.notifier.rest_keys
                )
            assert not await deliveries.record_delivery(
                conn, pending[0], source, notify.app.state.notifier.rest_keys
            )
        await eventually(lambda: _now(woken), what="a wake-up")
        assert len(woken) == 1
    finally:
        await notify.db.remove_listener("notify_deliveries", wake)
