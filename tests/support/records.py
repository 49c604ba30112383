"""A consumed record as a consumer sees it, for feeding consumers without a broker."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Rec:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
