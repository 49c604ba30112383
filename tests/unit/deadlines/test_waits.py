"""What a wait is: from the ticket's issue to its first call; a ticket ended uncalled is
abandoned; duplicates and the events' order change nothing."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from typing import Any

from motcua.services.deadlines.waits import Mark, abandoned, fold, mark_of, merge, wait_seconds
from motcua.shared.events import Envelope, new_event
from motcua.shared.events.catalog import (
    TicketCalled,
    TicketCancelled,
    TicketIssued,
    TicketNoShow,
    TicketRecalled,
    TicketServiceCompleted,
)
from tests.support.clock import vn

CENTER = "phuong-1"


def ticket() -> dict[str, Any]:
    return {"ticket_id": uuid.uuid4(), "number": "A001", "line_code": "ht", "lookup_code": "a1"}


def at(payload: Any, when: datetime) -> Envelope[Any]:
    return new_event(payload, center_id=CENTER, producer="queue", occurred_at=when)


def test_a_wait_runs_from_the_issue_to_the_first_call_in_any_order() -> None:
    t = ticket()
    issued = at(TicketIssued(**t, issued_at=vn(2026, 3, 2, 8)), vn(2026, 3, 2, 8))
    first = at(TicketCalled(**t, counter_id="1"), vn(2026, 3, 2, 8, 12))
    recalled = at(TicketRecalled(**t, counter_id="1", call_count=2), vn(2026, 3, 2, 8, 13))
    # A call on another line after a transfer is a later call, not the first.
    later = at(TicketCalled(**t, counter_id="2"), vn(2026, 3, 2, 8, 40))
    served = at(TicketServiceCompleted(**t, counter_id="2"), vn(2026, 3, 2, 8, 50))
    events = [issued, first, first, recalled, later, served]  # one delivered twice
    assert mark_of(recalled) is None
    assert mark_of(served) is None
    for order in itertools.permutations(events):
        marks = [m for m in map(mark_of, order) if m is not None]
        [one] = fold(marks)
        assert wait_seconds(one) == 12 * 60
        assert not abandoned(one)


def test_a_call_before_its_issue_waits_for_the_issue() -> None:
    t = ticket()
    called = mark_of(at(TicketCalled(**t, counter_id="1"), vn(2026, 3, 2, 9, 5)))
    assert called is not None
    assert wait_seconds(called) is None
    issued = mark_of(at(TicketIssued(**t, issued_at=vn(2026, 3, 2, 9)), vn(2026, 3, 2, 9)))
    assert issued is not None
    assert wait_seconds(merge(called, issued)) == wait_seconds(merge(issued, called)) == 300


def test_a_ticket_ended_uncalled_is_abandoned_and_has_no_wait() -> None:
    for end in (TicketNoShow, TicketCancelled):
        t = ticket()
        marks = [
            mark_of(at(TicketIssued(**t, issued_at=vn(2026, 3, 2, 8)), vn(2026, 3, 2, 8))),
            mark_of(at(end(**t), vn(2026, 3, 2, 9))),
        ]
        [one] = fold(m for m in marks if m is not None)
        assert abandoned(one)
        assert wait_seconds(one) is None
    # Called, then a no-show at the counter: the center made it wait; it is not abandoned.
    gone = Mark(uuid.uuid4(), CENTER, vn(2026, 3, 2, 8), vn(2026, 3, 2, 8, 1), vn(2026, 3, 2, 8, 5))
    assert not abandoned(gone)
    assert wait_seconds(gone) == 60


def test_clocks_a_moment_apart_never_make_a_negative_wait() -> None:
    skewed = Mark(uuid.uuid4(), CENTER, vn(2026, 3, 2, 8, 0, 1), vn(2026, 3, 2, 8))
    assert wait_seconds(skewed) == 0.0
