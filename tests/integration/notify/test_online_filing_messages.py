"""An online submission: with consent the citizen gets the code and secret at once, and
if refused, the clerk's reason, in their language, once, though no receipt ever came
for the dossier; without consent, nobody is told."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest

from motcua.devtools.samples import CONTACT_KEY, about, random_secret
from motcua.devtools.sinks import HttpSink
from motcua.shared.crypto import seal
from motcua.shared.events import Envelope
from motcua.shared.events.catalog import DossierNotAccepted, DossierSubmitted
from tests.integration.notify.harness import Dossier, Notify, random_phone, sealed, sms_notify
from tests.support.sms import bodies
from tests.support.waiting import eventually

notify = sms_notify()

REASON = "Ảnh tờ khai bị mờ, không đọc được"


def refused(phone: str | None, language: str = "vi") -> tuple[Dossier, Envelope[Any]]:
    dossier = Dossier(f"c-{uuid.uuid4().hex[:8]}", uuid.uuid4(), f"HS-{uuid.uuid4().hex[:8]}")
    contact = sealed("phone", phone, dossier.dossier_id, language) if phone else None
    return dossier, about(dossier, DossierNotAccepted, status=3, reason=REASON, contact=contact)


async def told_once(
    notify: Notify, http_sink: HttpSink, phone: str, event: Envelope[Any], kind: str
) -> tuple[str, Any]:
    """Deliver ``event`` twice; the one message the phone got, and its delivery."""
    await notify.publish(event, event)
    [told] = await bodies(http_sink, phone, 1)
    [delivery] = await notify.sent(event.event_id)
    assert delivery["kind"] == kind
    return told, delivery


@pytest.mark.parametrize(("language", "words"), [("vi", "Lý do:"), ("en", "Reason:")])
async def test_the_citizen_hears_why_their_submission_was_not_accepted(
    notify: Notify, http_sink: HttpSink, language: str, words: str
) -> None:
    phone = random_phone()
    dossier, event = refused(phone, language)
    told, _ = await told_once(notify, http_sink, phone, event, "not_accepted")
    assert dossier.code in told
    assert f"{words} {REASON}" in told


async def test_without_consent_nobody_is_told(notify: Notify, http_sink: HttpSink) -> None:
    _, event = refused(None)
    await notify.publish(event)
    await eventually(partial(notify.consumed, event.event_id), what="consumed")
    # No contact came, so there is nobody to send to: nothing is sent.
    assert [
        d["status"] for d in await notify.deliveries(event.event_id) if d["status"] == "sent"
    ] == []


async def test_a_submission_tells_the_code_and_secret_at_once(
    notify: Notify, http_sink: HttpSink
) -> None:
    phone, secret = random_phone(), random_secret()
    dossier = Dossier(f"c-{uuid.uuid4().hex[:8]}", uuid.uuid4(), f"HS-{uuid.uuid4().hex[:8]}")
    event = about(
        dossier,
        DossierSubmitted,
        status=1,
        submitted_at=datetime.now(UTC),
        contact=sealed("phone", phone, dossier.dossier_id, "en"),
        sealed_secret=seal(CONTACT_KEY, secret, str(dossier.dossier_id)),
    )
    told, delivery = await told_once(notify, http_sink, phone, event, "dossier_submitted")
    assert dossier.code in told
    assert f"with the secret {secret}" in told
    assert secret not in str(dict(delivery)["context"])  # rendered, never kept
