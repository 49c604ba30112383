"""Contact normalisation, recipient references and signed link tokens."""

from __future__ import annotations

import random
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motcua.services.notify import contacts
from motcua.services.notify.contacts import (
    InvalidContact,
    InvalidToken,
    feedback_token,
    mask,
    normalise_email,
    normalise_phone,
    opt_out_token,
    read_feedback_token,
    read_opt_out_token,
    recipient_ref,
)
from tests.support.examples import examples


@pytest.mark.parametrize(
    "raw", ["0901234567", "090 123 4567", "+84 90 123 4567", "84901234567", "(090) 123-4567"]
)
def test_vietnamese_numbers_normalise_to_e164(raw: str) -> None:
    assert normalise_phone(raw) == "+84901234567"


@pytest.mark.parametrize("raw", ["12345", "0123456789", "not a number", "090123"])
def test_invalid_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidContact):
        normalise_phone(raw)


def test_a_number_asked_again_gets_the_same_answer() -> None:
    """Numbers seen lately are remembered; a refusal is not, and refuses again."""
    assert normalise_phone("0901234567") == normalise_phone("0901234567") == "+84901234567"
    for _ in range(2):
        with pytest.raises(InvalidContact, match="not a valid phone number"):
            normalise_phone("0123456789")


def _outcome(normalise: object, raw: str) -> str:
    try:
        return str(normalise(raw))  # type: ignore[operator]
    except InvalidContact as exc:
        return f"refused: {exc}"


def _read(raw: str) -> str:
    return _outcome(contacts.normalise_phone.__wrapped__, raw)


def _parsed(raw: str) -> str:
    return _outcome(lambda r: contacts._parsed_phone(r, "VN"), raw)


def test_plain_numbers_read_as_phonenumbers_parses_them() -> None:
    """Numbers in E.164 or with the leading 0 are read without a full parse: every
    prefix of the plan, every length around the plan's, both forms, same answer."""
    rng = random.Random(84)
    for prefix in range(10, 100):
        for length in range(5, 13):
            for _ in range(3):
                national = str(prefix) + "".join(rng.choices("0123456789", k=length - 2))
                for raw in (f"0{national}", f"+84{national}", f"0{national}\n", f"+840{national}"):
                    assert _read(raw) == _parsed(raw), raw


@settings(max_examples=examples(300))
@given(
    st.sampled_from(["", "0", "+84", "84", "+840", "00", "+", "٠"]),
    st.text(alphabet="0123456789٠١٢٣٤٥٦٧٨٩ -+", min_size=0, max_size=13),
)
def test_any_phone_text_gets_the_answer_of_a_full_parse(prefix: str, rest: str) -> None:
    assert _read(prefix + rest) == _parsed(prefix + rest)


def test_emails_are_checked_and_their_domain_lowered() -> None:
    assert normalise_email(" Nguyen.An@Example.VN ") == "Nguyen.An@example.vn"
    for bad in ["no-at-sign", "a@b", "a b@c.vn", "@c.vn"]:
        with pytest.raises(InvalidContact):
            normalise_email(bad)


def test_recipient_ref_is_stable_opaque_and_keyed() -> None:
    ref = recipient_ref("k1", "phone", "+84901234567")
    assert ref == recipient_ref("k1", "phone", "+84901234567")
    assert ref.startswith("r_")
    assert len(ref) == 34
    assert "901234567" not in ref
    assert ref != recipient_ref("k2", "phone", "+84901234567")
    assert ref != recipient_ref("k1", "email", "+84901234567")


def test_opt_out_token_round_trips_and_resists_forgery() -> None:
    ref = recipient_ref("k1", "phone", "+84901234567")
    token = opt_out_token("secret", ref)
    assert len(token) < 45  # short enough for an SMS
    assert read_opt_out_token("secret", token) == ref
    with pytest.raises(InvalidToken):
        read_opt_out_token("other-secret", token)
    with pytest.raises(InvalidToken):
        read_opt_out_token("secret", token[:-1] + ("A" if token[-1] != "A" else "B"))
    with pytest.raises(InvalidToken):
        read_feedback_token("secret", token)  # an opt-out link is not a rating link


def test_feedback_token_names_its_dossier() -> None:
    dossier = uuid.uuid4()
    assert read_feedback_token("s", feedback_token("s", dossier)) == dossier
    with pytest.raises(InvalidToken):
        read_feedback_token("s", "f!!!")


def test_mask_shows_little() -> None:
    assert mask("+84901234567") == "+84******567"
    assert mask("nguyen.an@example.vn") == "ng***@example.vn"
