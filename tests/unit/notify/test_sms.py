"""SMS segment counting: GSM-7 versus UCS-2."""

from __future__ import annotations

import pytest

from services.notify.sms import encoding_of, sms_length


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
