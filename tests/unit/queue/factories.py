"""Small builders for queue unit tests."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from motcua.services.queue.directory import Center, load_directory
from motcua.services.queue.domain import Status, Ticket

T0 = datetime(2025, 11, 27, 1, 30, tzinfo=UTC)  # 08:30 in Hanoi


def center() -> Center:
    return load_directory().center("nam-cuong")


def ticket(
    n: int,
    *,
    priority: bool = False,
    line: str = "justice",
    status: Status = Status.WAITING,
    counter: str | None = None,
    calls: int = 0,
) -> Ticket:
    """The n-th ticket of the day, issued n minutes after opening."""
    at = T0 + timedelta(minutes=n)
    t = Ticket(
        ticket_id=uuid.UUID(int=n + 1),
        center_id="nam-cuong",
        local_day=at.date(),
        issued_line_code=line,
        line_code=line,
        seq=n + 1,
        number=f"X{n + 1:03d}",
        lookup_code="ABCDEF",
        priority_reason="elderly" if priority else None,
        status=Status.WAITING,
        issued_at=at,
        order_at=at,
        queued_at=at,
        issue_seq=n + 1,
    )
    if status != Status.WAITING:
        counter = counter or "Q1"
    return replace(
        t,
        status=status,
        counter_id=counter,
        call_count=calls or (1 if status in (Status.CALLED, Status.SERVING) else 0),
        called_at=at + timedelta(minutes=5) if status != Status.WAITING else None,
    )
