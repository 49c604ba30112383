"""The financial obligation and the new date, through notify's consumer on the real broker
and database: each in the citizen's language, each once, each after the receipt, and
neither to a citizen who opted out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import partial

import httpx
import pytest

from motcua.devtools.sinks import HttpSink
from motcua.shared.auth import issue_token
from motcua.shared.events import new_event
from motcua.shared.events.catalog import DeadlineAppointmentSet
from tests.integration.notify.harness import (
    Notify,
    deadline_updated,
    dossier_received,
    e164,
    financial_obligation,
    random_phone,
    sms_notify,
)
from tests.support.sms import bodies
from tests.support.waiting import eventually

notify = sms_notify()


def center() -> str:
    return f"c-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (
            "vi",
            ["1.250.000 đồng", "Nội dung: Lệ phí đăng ký thường trú", "Cách nộp: Nộp tại quầy 2"],
        ),
        ("en", ["VND 1,250,000", "For: Lệ phí đăng ký thường trú", "How to pay: Nộp tại quầy 2"]),
    ],
)
async def test_a_financial_obligation_tells_the_amount_its_purpose_and_how_to_pay(
    notify: Notify, http_sink: HttpSink, language: str, words: list[str]
) -> None:
    phone, dossier, _ = await notify.receive_for_new_phone(center(), language=language)
    await bodies(http_sink, phone, 1)
    event = financial_obligation(dossier)
    await notify.publish(event, event)  # delivered twice: told once
    _, told = await bodies(http_sink, phone, 2)
    for w in words:
        assert w in told
    [delivery] = await notify.sent(event.event_id)
    assert delivery["kind"] == "financial_obligation"


async def test_a_new_date_waits_for_the_receipt_and_is_told_once(
    notify: Notify, http_sink: HttpSink
) -> None:
    phone = random_phone()
    dossier, received = dossier_received(center(), phone=phone, language="en")
    moved = deadline_updated(dossier, reason="pause")
    await notify.publish(moved, moved)  # before the receipt, and twice
    await eventually(lambda: notify.consumed(moved.event_id), what="the update consumed")
    await notify.publish(received)
    got = await bodies(http_sink, phone, 2)
    [told] = [b for b in got if "has changed" in b]
    assert "(after a pause): 17:00 23/11/2026 (was 17:00 20/11/2026)" in told


async def test_an_opted_out_citizen_hears_of_neither(notify: Notify, http_sink: HttpSink) -> None:
    phone, dossier, _ = await notify.receive_for_new_phone(center())
    [receipt] = await bodies(http_sink, phone, 1)
    token = receipt.rsplit("/optout/", 1)[1].split("?")[0].strip()
    async with httpx.AsyncClient(base_url=notify.url) as client:
        assert (await client.post(f"/optout/{token}")).status_code == 200
    money, moved = financial_obligation(dossier), deadline_updated(dossier)
    await notify.publish(money, moved)
    for event_id in (money.event_id, moved.event_id):
        await eventually(partial(notify.consumed, event_id), what="consumed")
        [delivery] = await notify.deliveries(event_id)
        assert (delivery["status"], delivery["last_error"]) == ("suppressed", "opted out")
    assert len(http_sink.to(e164(phone))) == 1


async def test_the_delivery_log_filters_by_dossier(notify: Notify, http_sink: HttpSink) -> None:
    c = center()
    phone, dossier, received = await notify.receive_for_new_phone(c)
    _, other, _ = await notify.receive_for_new_phone(c)
    money, theirs = financial_obligation(dossier), financial_obligation(other)
    await notify.publish(money, theirs)
    await bodies(http_sink, phone, 2)
    await eventually(partial(notify.consumed, theirs.event_id), what="the other consumed")
    token = issue_token(notify.settings.auth_secret.get_secret_value(), center_id=c, subject="s")
    async with httpx.AsyncClient(
        base_url=notify.url, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        mine = await client.get(
            "/deliveries", params={"center_id": c, "dossier_id": str(dossier.dossier_id)}
        )
        everyone = await client.get("/deliveries", params={"center_id": c})
        bad = await client.get("/deliveries", params={"center_id": c, "dossier_id": "nope"})
    assert mine.status_code == 200
    assert {d["source_event_id"] for d in mine.json()} == {
        str(received.event_id),
        str(money.event_id),
    }
    assert len(everyone.json()) == 4
    assert bad.status_code == 422
    assert "dossier_id" in bad.text


async def test_the_officers_new_date_on_the_apology_letter_is_told(
    notify: Notify, http_sink: HttpSink
) -> None:
    phone, dossier, _ = await notify.receive_for_new_phone(center())
    await bodies(http_sink, phone, 1)
    missed = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    payload = DeadlineAppointmentSet(
        dossier_id=dossier.dossier_id,
        dossier_code=dossier.code,
        procedure_code="BIRTH",
        due_at=missed,
        new_appointment_at=missed + timedelta(days=7),
        previous_appointment_at=missed + timedelta(days=4),
        apology_letter_id=uuid.uuid4(),
    )
    await notify.publish(new_event(payload, center_id=dossier.center, producer="deadlines"))
    _, told = await bodies(http_sink, phone, 2)
    assert "(theo phiếu xin lỗi và hẹn lại): 17:00 27/11/2026 (trước đây: 17:00 24/11/2026)" in told
