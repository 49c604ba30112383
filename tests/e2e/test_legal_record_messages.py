"""The citizen hears of a financial obligation and of every new date, end to end.

intake, deadlines and notify run on one broker (one topic prefix), each on a database
of its own, as in production: a clerk's HTTP call at intake becomes a dossier event,
deadlines moves the clock, and notify sends the SMS to a real HTTP gateway.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from motcua.devtools.backends import Servers, fresh_database, fresh_kafka
from motcua.devtools.bus import produce, read_all
from motcua.devtools.samples import e164, random_phone
from motcua.devtools.sinks import HttpSink
from motcua.services.deadlines.app import create_app as create_deadlines
from motcua.services.deadlines.settings import DeadlinesSettings
from motcua.services.intake.app import create_app as create_intake
from motcua.services.intake.settings import IntakeSettings
from motcua.services.notify.app import create_app as create_notify
from motcua.services.notify.settings import NotifySettings
from motcua.shared.auth import Role, issue_token
from motcua.shared.calendar import WorkingCalendar
from motcua.shared.events.topics import DEADLINES
from motcua.shared.settings import DatabaseSettings, KafkaSettings
from tests.support.serving import serve
from tests.support.sms import bodies
from tests.support.waiting import eventually

AUTH = "legal-record-auth-secret"
CONTACT_KEY = "legal-record-contact-key"
VN = ZoneInfo("Asia/Ho_Chi_Minh")
# 23 working days: received a few days ago, the dossier is still far from late today.
PROCEDURE = "HT-XNTTHN-XACMINH"


def _past_working_morning() -> datetime:
    """08:00 on a recent working day, so that the pause below spends working time
    whenever this runs (a receipt backdated by days needs an admin token)."""
    cal = WorkingCalendar.default()
    day = datetime.now(VN).date() - timedelta(days=3)
    while not cal.is_working_day(day):
        day -= timedelta(days=1)
    return datetime.combine(day, time(8, 0), tzinfo=VN)


MORNING = _past_working_morning()


@dataclass
class Stack:
    intake: str
    deadlines: str
    kafka: KafkaSettings


def _common(url: str, kafka: KafkaSettings) -> dict[str, Any]:
    return {
        "db": DatabaseSettings(url=url, pool_min=1, pool_max=5),
        "kafka": kafka,
        "log_format": "console",
        "auth_secret": AUTH,
        "contact_key": CONTACT_KEY,
    }


@pytest.fixture(scope="module")
async def http_sink() -> AsyncIterator[HttpSink]:
    """The SMS gateway: it records what notify sends."""
    sink = await HttpSink().start()
    yield sink
    await sink.stop()


@pytest.fixture(scope="module")
async def stack(test_servers: Servers, http_sink: HttpSink) -> AsyncIterator[Stack]:
    kafka = await fresh_kafka(test_servers)
    async with (
        fresh_database(test_servers) as intake_db,
        fresh_database(test_servers) as deadlines_db,
        fresh_database(test_servers) as notify_db,
    ):
        notify = NotifySettings(
            **_common(notify_db, kafka),
            channels={"sms": http_sink.url("/sms")},
            quiet_hours_start="00:00",
            quiet_hours_end="00:00",
            poll_seconds=0.2,
        )
        async with (
            serve(create_intake(IntakeSettings(**_common(intake_db, kafka)))) as intake_url,
            serve(create_deadlines(DeadlinesSettings(**_common(deadlines_db, kafka)))) as dl_url,
            serve(create_notify(notify)),
        ):
            yield Stack(intake_url, dl_url, kafka)


def _auth(center: str, role: Role) -> dict[str, str]:
    token = issue_token(AUTH, center_id=center, subject="officer-1", role=role)
    return {"Authorization": f"Bearer {token}"}


async def _receive(http: httpx.AsyncClient, center: str, phone: str, language: str) -> str:
    r = await http.post(
        "/v1/dossiers",
        json={
            "procedure_code": PROCEDURE,
            "received_at": MORNING.isoformat(),
            "contact": {"kind": "phone", "value": phone, "language": language},
            "consent_notifications": True,
        },
        headers=_auth(center, "admin"),  # received on a past Monday: backdated
    )
    assert r.status_code == 201, r.text
    dossier_id: str = r.json()["dossier"]["id"]
    return dossier_id


@pytest.mark.parametrize("language", ["vi", "en"])
async def test_a_citizen_is_told_the_amount_its_purpose_how_to_pay_and_each_new_date(
    stack: Stack, http_sink: HttpSink, language: str
) -> None:
    center, phone = f"c-{uuid.uuid4().hex[:8]}", random_phone()
    admin = _auth(center, "admin")
    async with httpx.AsyncClient(base_url=stack.intake, timeout=30) as intake:
        dossier_id = await _receive(intake, center, phone, language)
        await bodies(http_sink, phone, 1)  # the receipt
        r = await intake.post(
            f"/v1/dossiers/{dossier_id}/notify-financial-obligation",
            json={
                "amount_vnd": 1250000,
                "purpose": "Lệ phí đăng ký",
                "how_to_pay": "Quầy số 2",
                "occurred_at": MORNING.replace(hour=9).isoformat(),
            },
            headers=admin,
        )
        assert r.status_code == 200, r.text
        money = (await bodies(http_sink, phone, 2))[-1]
        amount = "1.250.000 đồng" if language == "vi" else "VND 1,250,000"
        assert amount in money
        assert "Lệ phí đăng ký" in money
        assert "Quầy số 2" in money
        assert ("Từ chối nhận tin: " if language == "vi" else "Stop these messages: ") in money

        # Paid an hour later: the clock resumes, its due instant one working hour later.
        r = await intake.post(
            f"/v1/dossiers/{dossier_id}/fulfil-financial-obligation",
            json={"occurred_at": MORNING.replace(hour=10).isoformat()},
            headers=admin,
        )
        assert r.status_code == 200, r.text
        moved = (await bodies(http_sink, phone, 3))[-1]
        assert ("sau thời gian tạm dừng" if language == "vi" else "after a pause") in moved

    extended = await _extend(stack, center, dossier_id, http_sink, phone, count=4)

    # Each change is told once: the bus delivering its events again sends nothing more.
    # The copies go to the dossier's partition before a last extension, whose message
    # therefore comes after them.
    topic = DEADLINES.topic(stack.kafka.topic_prefix)
    updates = [
        m
        for m in await read_all(stack.kafka.bootstrap_servers, topic)
        if b'"deadline.updated"' in m.value and dossier_id.encode() in m.value
    ]
    assert len(updates) == 2
    for m in updates:
        await produce(stack.kafka.bootstrap_servers, topic, [m.value], key=m.key)
    last = await _extend(stack, center, dossier_id, http_sink, phone, count=5)
    assert last != extended


async def _extend(
    stack: Stack, center: str, dossier_id: str, sink: HttpSink, phone: str, *, count: int
) -> str:
    """Grant a one-day extension; the message that tells its new date (the ``count``th)."""
    async with httpx.AsyncClient(base_url=stack.deadlines, timeout=30) as deadlines:
        r = await deadlines.post(
            f"/v1/dossiers/{dossier_id}/extensions",
            json={"amount": 1, "unit": "working_days", "reason": "Cần xác minh"},
            headers=_auth(center, "leader"),
        )
        assert r.status_code == 201, r.text
    due = datetime.fromisoformat(r.json()["due_at"]).astimezone(VN).strftime("%H:%M %d/%m/%Y")

    async def told() -> list[str]:
        return [m.body for m in sink.to(e164(phone))]

    got = await eventually(told, until=lambda m: any(due in b for b in m), what=f"{due} told")
    assert len(got) == count, got
    return got[-1]
