"""The lookup secret in the "received" message: shown when intake sent it, opened only
with the right key and dossier, and never part of the stored context."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from motcua.services.notify.domain import Kind
from motcua.services.notify.message_templates import Renderer
from motcua.services.notify.repository.delivery_log import private_values
from motcua.services.notify.usecases import PRIVATE_KINDS, private_context
from motcua.shared.crypto import BUS, Keyring, seal
from motcua.shared.events import Envelope, new_event
from motcua.shared.events.catalog import DossierReceived, TimeLimitSnapshot

KEY = "contact-key"
RING = Keyring("k1", {"k1": KEY}, BUS)
OTHER_RING = Keyring("k1", {"k1": "another-key"}, BUS)
SECRET = "K7Q2M-9XD4T"
CONTEXT = {
    "dossier_code": "HS-000123",
    "procedure_code": "BIRTH",
    "appointment_at": "2025-11-28T09:00:00+00:00",
    "lookup_url": "https://motcua.example.vn/lookup?code=HS-000123",
    "optout_url": "https://x/o",
}
WITH = {
    "vi": "Tra cứu: https://motcua.example.vn/lookup?code=HS-000123 với mã bí mật K7Q2M-9XD4T.",
    "en": "Track it at https://motcua.example.vn/lookup?code=HS-000123 with the secret "
    "K7Q2M-9XD4T.",
}
WITHOUT = {
    "vi": "(nhập mã bí mật in trên giấy tiếp nhận)",
    "en": "with the secret printed on your receipt.",
}


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_received_message_shows_the_secret_when_there_is_one(language: str) -> None:
    renderer = Renderer()
    shown = renderer.render(Kind.DOSSIER_RECEIVED, language, CONTEXT | {"lookup_secret": SECRET})
    assert WITH[language] in shown.body
    assert WITHOUT[language] not in shown.body
    assert SECRET not in shown.subject
    for absent in ({}, {"lookup_secret": None}, {"lookup_secret": ""}):
        plain = renderer.render(Kind.DOSSIER_RECEIVED, language, CONTEXT | absent)
        assert WITHOUT[language] in plain.body
        assert "None" not in plain.body


def received(dossier_id: uuid.UUID, sealed_secret: str | None) -> Envelope[Any]:
    return new_event(
        DossierReceived(
            dossier_id=dossier_id,
            dossier_code="HS-000123",
            procedure_code="BIRTH",
            status=2,
            received_at=datetime(2025, 11, 27, 8, 0, tzinfo=UTC),
            channel="counter",
            time_limit=TimeLimitSnapshot(amount=1, unit="working_days"),
            appointment_at=datetime(2025, 11, 28, 9, 0, tzinfo=UTC),
            sealed_secret=sealed_secret,
        ),
        center_id="c-1",
        producer="intake",
    )


def test_the_secret_opens_only_with_the_key_and_the_dossier_it_was_sealed_for() -> None:
    dossier = uuid.uuid4()
    event = received(dossier, seal(KEY, SECRET, str(dossier)))
    assert private_context(RING, Kind.DOSSIER_RECEIVED, event) == {"lookup_secret": SECRET}
    # Cut from another dossier's event, or sealed under another key: left out.
    pasted = received(uuid.uuid4(), seal(KEY, SECRET, str(dossier)))
    assert private_context(RING, Kind.DOSSIER_RECEIVED, pasted) == {}
    assert private_context(OTHER_RING, Kind.DOSSIER_RECEIVED, event) == {}
    assert private_context(RING, Kind.DOSSIER_RECEIVED, received(dossier, None)) == {}


def test_only_the_received_and_submitted_messages_have_private_values() -> None:
    dossier = uuid.uuid4()
    event = received(dossier, seal(KEY, SECRET, str(dossier)))
    # Both carry the lookup secret: the receipt, and an online filing's confirmation.
    assert {Kind.DOSSIER_RECEIVED, Kind.DOSSIER_SUBMITTED} == PRIVATE_KINDS
    for kind in set(Kind) - PRIVATE_KINDS:
        assert private_context(RING, kind, event) == {}


def test_staff_are_told_which_values_to_mask_or_that_the_text_must_be_withheld() -> None:
    dossier = uuid.uuid4()
    event = received(dossier, seal(KEY, SECRET, str(dossier)))
    payload = event.to_bytes()
    assert private_values(RING, Kind.DOSSIER_RECEIVED, payload) == [SECRET]
    # Sealed under a key this process does not hold: the secret may be in the text.
    assert private_values(OTHER_RING, Kind.DOSSIER_RECEIVED, payload) is None
    assert private_values(RING, Kind.DOSSIER_RECEIVED, None) is None
    assert private_values(RING, Kind.DOSSIER_RECEIVED, b"not an event") is None
    # No secret was sent, or the kind never shows one: nothing to mask.
    assert private_values(RING, Kind.DOSSIER_RECEIVED, received(dossier, None).to_bytes()) == []
    assert private_values(RING, Kind.RESULT_READY, None) == []
