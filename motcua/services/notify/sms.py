"""SMS length in segments (pure).

A text that fits the GSM 03.38 alphabet travels in 7-bit septets: 160 in one
SMS, 153 per part once split (the rest carries the concatenation header); the
extension characters cost two septets and are never split across parts.
Anything else, such as Vietnamese with its diacritics, travels as UCS-2: 70
UTF-16 units in one SMS, 67 per part, a surrogate pair never split.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True)
class SmsLength:
    encoding: Encoding
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


GSM7 = GSM7_BASIC | GSM7_EXTENSION


def encoding_of(text: str) -> Encoding:
    return "GSM-7" if GSM7.issuperset(text) else "UCS-2"


def _pack(costs: list[int], single: int, part: int) -> int:
    """Parts needed for items of the given costs, never splitting an item."""
    total = sum(costs)
    if total == 0:
        return 0
    if total <= single:
        return 1
    parts, used = 1, 0
    for cost in costs:
        if used + cost > part:
            parts, used = parts + 1, 0
        used += cost
    return parts


def _parts(units: int, single: int, part: int) -> int:
    """``_pack`` of items that all cost one."""
    return 0 if units == 0 else 1 if units <= single else -(-units // part)


def sms_length(text: str) -> SmsLength:
    """Encoding, size and segment count of ``text`` sent as one (concatenated) SMS.

    Every message is measured as it is recorded: the usual text, with no two-unit
    character, is counted without a pass over its characters in Python."""
    if GSM7.issuperset(text):
        if not any(c in text for c in GSM7_EXTENSION):
            return SmsLength("GSM-7", len(text), _parts(len(text), 160, 153))
        costs = [2 if c in GSM7_EXTENSION else 1 for c in text]
        return SmsLength("GSM-7", sum(costs), _pack(costs, 160, 153))
    units = len(text.encode("utf-16-le", "surrogatepass")) // 2
    if units == len(text):
        return SmsLength("UCS-2", units, _parts(units, 70, 67))
    costs = [2 if ord(c) > 0xFFFF else 1 for c in text]
    return SmsLength("UCS-2", units, _pack(costs, 70, 67))
