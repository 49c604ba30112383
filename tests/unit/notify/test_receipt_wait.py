"""Which messages wait for their dossier's receipt: those sent to the contact it brings."""

from __future__ import annotations

import pytest

from motcua.services.notify.domain import (
    AFTER_RECEIPT,
    APPOINTMENT_KINDS,
    STAFF_KINDS,
    Kind,
    waits_for_receipt,
)

LATER = [Kind.SUPPLEMENT_REQUESTED, Kind.RESULT_READY, Kind.DOSSIER_RETURNED]


@pytest.mark.parametrize(
    "kind", [*LATER, Kind.DEADLINE_APOLOGY, Kind.FINANCIAL_OBLIGATION, Kind.NEW_APPOINTMENT]
)
def test_a_dossier_message_waits_until_the_receipt_is_known(kind: Kind) -> None:
    assert waits_for_receipt(kind, received=False)
    assert not waits_for_receipt(kind, received=True)


@pytest.mark.parametrize(
    "kind",
    [
        Kind.DOSSIER_RECEIVED,
        Kind.DOSSIER_SUBMITTED,
        Kind.NOT_ACCEPTED,
        Kind.TURN_SOON,
        Kind.TICKET_CALLED,
        *APPOINTMENT_KINDS,
    ],
)
def test_the_receipt_itself_and_queue_messages_never_wait(kind: Kind) -> None:
    assert not waits_for_receipt(kind, received=False)


def test_every_dossier_message_but_the_receipt_waits_for_it() -> None:
    queue_kinds = {Kind.TURN_SOON, Kind.TICKET_CALLED, *APPOINTMENT_KINDS}
    # An online submission and its refusal bring the contact themselves, as a receipt does.
    brings_contact = {Kind.DOSSIER_RECEIVED, Kind.DOSSIER_SUBMITTED, Kind.NOT_ACCEPTED}
    # Messages to staff go to the directory's contacts, known before any receipt.
    dossier_kinds = set(Kind) - queue_kinds - brings_contact - STAFF_KINDS
    assert dossier_kinds == AFTER_RECEIPT
