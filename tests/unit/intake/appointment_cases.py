"""Hand-computed appointment dates (local time, Asia/Ho_Chi_Minh), shared by the
unit and integration tests. Tết 2026: days off Sat 14 Feb - Sun 22 Feb. New Year
2026: Thu 1 Jan holiday, Fri 2 Jan off, worked back on Saturday 10 Jan."""

from __future__ import annotations

# (procedure, received at, appointment, why)
CASES: list[tuple[str, str, str, str]] = [
    ("HT-XNTTHN", "2026-02-13T10:00", "2026-02-25T17:00", "3 days across Tết: 23, 24, 25 Feb"),
    ("CUTRU-THUONGTRU", "2026-02-12T09:00", "2026-03-02T17:00", "7 days: 13, 23-27 Feb, 2 Mar"),
    ("CT-BANSAO", "2026-02-13T15:30", "2026-02-23T17:00", "after 15:00 before Tết: after it"),
    ("CT-BANSAO", "2026-02-18T10:00", "2026-02-23T17:00", "filed online during Tết"),
    ("CUTRU-TAMTRU", "2026-01-07T10:00", "2026-01-10T17:00", "the make-up Saturday counts"),
    ("HT-KHAISINH", "2026-01-09T16:10", "2026-01-10T17:00", "after 15:00 Friday: Saturday"),
    ("CUTRU-TAMTRU", "2025-12-31T10:00", "2026-01-07T17:00", "1 and 2 Jan off, weekend"),
    ("CT-BANSAO", "2026-03-02T14:59", "2026-03-02T17:00", "before 15:00: the same day"),
    ("CT-BANSAO", "2026-03-02T15:00", "2026-03-03T17:00", "at 15:00: the next day"),
    ("CT-BANSAO", "2026-03-02T15:30", "2026-03-03T17:00", "after 15:00: the next day"),
    ("HT-TRICHLUC", "2026-03-06T15:01", "2026-03-09T17:00", "after 15:00 Friday: Monday"),
    ("HT-XNTTHN", "2026-03-02T16:30", "2026-03-05T17:00", "no rollover for day counts"),
    ("HT-XNTTHN", "2026-03-02T17:30", "2026-03-06T17:00", "after closing: from Tuesday"),
    ("HT-KETHON-XACMINH", "2026-04-28T09:00", "2026-05-07T17:00", "across 30/4 and 1/5"),
]
