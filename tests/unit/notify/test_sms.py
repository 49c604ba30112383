"""SMS segment counting: GSM-7 versus UCS-2."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motcua.services.notify.sms import GSM7_BASIC, GSM7_EXTENSION, encoding_of, sms_length
from tests.support.examples import examples


@pytest.mark.parametrize(
    ("text", "segments"),
    [("", 0), ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3)],
)
def test_gsm7_fits_160_alone_and_153_per_part(text: str, segments: int) -> None:
    length = sms_length(text)
    assert (length.encoding, length.segments) == ("GSM-7", segments)


def test_extension_characters_cost_two_septets_and_are_never_split() -> None:
    assert sms_length("€" * 80).units == 160
    assert sms_length("€" * 80).segments == 1
    # 152 septets, then a two-septet '{' that must not straddle parts: 3 parts, not 2.
    assert sms_length("a" * 152 + "{" + "a" * 152).segments == 3


def test_vietnamese_diacritics_need_ucs2() -> None:
    assert encoding_of("Hồ sơ đã được tiếp nhận") == "UCS-2"
    assert encoding_of("Ho so da duoc tiep nhan") == "GSM-7"


@pytest.mark.parametrize(
    ("text", "segments"), [("ệ" * 70, 1), ("ệ" * 71, 2), ("ệ" * 134, 2), ("ệ" * 135, 3)]
)
def test_ucs2_fits_70_alone_and_67_per_part(text: str, segments: int) -> None:
    length = sms_length(text)
    assert (length.encoding, length.segments) == ("UCS-2", segments)


def test_a_surrogate_pair_counts_two_units_and_stays_whole() -> None:
    assert sms_length("😀" * 35).units == 70
    # 134 units would fill two parts exactly, but the pair cannot straddle them.
    assert sms_length("ệ" * 66 + "😀" + "ệ" * 66).units == 134
    assert sms_length("ệ" * 66 + "😀" + "ệ" * 66).segments == 3


def _reference(text: str) -> tuple[str, int, int]:
    """The definition, one character at a time."""
    gsm = all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)
    if gsm:
        costs, single, part = [2 if c in GSM7_EXTENSION else 1 for c in text], 160, 153
    else:
        costs, single, part = [2 if ord(c) > 0xFFFF else 1 for c in text], 70, 67
    total, parts, used = sum(costs), 1, 0
    for cost in costs:
        if used + cost > part:
            parts, used = parts + 1, 0
        used += cost
    segments = 0 if total == 0 else 1 if total <= single else parts
    return ("GSM-7" if gsm else "UCS-2"), total, segments


CHARACTERS = (
    st.sampled_from(sorted(GSM7_BASIC))
    | st.sampled_from(sorted(GSM7_EXTENSION))
    | st.sampled_from("ệđơư😀𝐀")  # Vietnamese, and characters outside the BMP
)
# Runs of one character, so that texts are long and cross part boundaries often.
TEXTS = st.lists(st.tuples(CHARACTERS, st.integers(1, 160)), max_size=6).map(
    lambda runs: "".join(c * n for c, n in runs)
)


@settings(max_examples=examples(400))
@given(st.one_of(TEXTS, st.text(alphabet=CHARACTERS, max_size=400)))
def test_the_count_is_the_definition(text: str) -> None:
    length = sms_length(text)
    assert (length.encoding, length.units, length.segments) == _reference(text)
