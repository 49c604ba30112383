"""Pure queue rules: numbering, transitions, waiting estimates, the calling order by example."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from motcua.services.queue import domain
from motcua.services.queue.domain import Kind, Status
from motcua.services.queue.errors import Conflict, Invalid, InvalidTransition
from tests.unit.queue.factories import T0, center, ticket


@pytest.mark.parametrize(
    ("seq", "number"),
    [(1, "A001"), (42, "A042"), (999, "A999"), (1000, "A1000"), (12345, "A12345")],
)
def test_numbers_are_three_digits_and_widen_past_999(seq: int, number: str) -> None:
    assert domain.ticket_number("A", seq) == number


def test_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        domain.ticket_number("A", 0)


@pytest.mark.parametrize(
    ("utc", "local"),
    [
        (datetime(2025, 11, 27, 16, 59, 59, tzinfo=UTC), date(2025, 11, 27)),  # 23:59:59
        (datetime(2025, 11, 27, 17, 0, 0, tzinfo=UTC), date(2025, 11, 28)),  # local midnight
        (datetime(2025, 11, 27, 0, 0, 0, tzinfo=UTC), date(2025, 11, 27)),  # 07:00
    ],
)
def test_the_day_turns_at_local_midnight_in_hanoi(utc: datetime, local: date) -> None:
    assert center().local_day(utc) == local


def test_a_naive_time_has_no_local_day() -> None:
    with pytest.raises(ValueError, match="naive"):
        center().local_day(datetime(2025, 11, 27, 8, 0))


def test_lookup_codes_are_short_and_unambiguous() -> None:
    codes = {domain.new_lookup_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == domain.LOOKUP_LENGTH for c in codes)
    assert not set("".join(codes)) & set("01OIL")
    assert domain.new_lookup_code(lambda alphabet: alphabet[0]) == "222222"


def _issue_on_land(c: Any, **facts: Any) -> Any:
    return domain.issue(ticket_id=uuid.uuid4(), center=c, line=c.line("land"), **facts)


def test_issue_builds_a_waiting_ticket_of_its_local_day() -> None:
    c = center()
    late = datetime(2025, 11, 27, 17, 30, tzinfo=UTC)  # 00:30 on the 28th in Hanoi
    change = _issue_on_land(c, seq=7, at=late, lookup_code="K7M2QX", priority_reason="young_child")
    t = change.ticket
    assert (t.number, t.status, t.local_day, t.priority) == (
        "B007",
        Status.WAITING,
        date(2025, 11, 28),
        True,
    )
    assert t.order_at == t.queued_at == t.issued_at == late
    assert (change.kind, change.line_code, change.counter_id) == (Kind.ISSUED, "land", None)


def test_issue_refuses_an_unknown_priority_reason() -> None:
    c = center()
    with pytest.raises(Invalid) as err:
        _issue_on_land(c, seq=1, at=T0, lookup_code="X", priority_reason="vip")
    assert err.value.field == "priority_reason"


# ---------------------------------------------------------------- transitions

NOW = T0 + timedelta(hours=1)
ACTIONS = {
    "call": lambda t: domain.call(t, "Q1", NOW),
    "recall": lambda t: domain.recall(t, "Q1", NOW, 3),
    "mark no-show": lambda t: domain.mark_no_show(t, "Q1", NOW),
    "start": lambda t: domain.start(t, "Q1", NOW),
    "finish": lambda t: domain.finish(t, "Q1", NOW),
    "transfer": lambda t: domain.transfer(t, "Q1", center().line("land"), NOW),
    "cancel": lambda t: domain.cancel(t, NOW),
    "re-queue": lambda t: domain.requeue(t, NOW, NOW.date()),
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("status", list(Status))
def test_every_action_is_allowed_exactly_in_its_statuses(action: str, status: Status) -> None:
    t = ticket(1, status=status)
    if status in domain.allowed_statuses(action):
        change = ACTIONS[action](t)
        assert change.ticket.ticket_id == t.ticket_id
        assert change.at == NOW
    else:
        with pytest.raises(InvalidTransition) as err:
            ACTIONS[action](t)
        assert err.value.status == status
        assert f"it is {status}" in str(err.value)


def test_call_measures_the_wait_from_entering_the_queue() -> None:
    t = ticket(0)
    change = domain.call(t, "Q2", t.queued_at + timedelta(seconds=95))
    assert (change.ticket.status, change.ticket.counter_id, change.ticket.call_count) == (
        Status.CALLED,
        "Q2",
        1,
    )
    assert change.wait_seconds == 95


def test_recall_counts_calls_then_turns_into_a_no_show() -> None:
    t = domain.call(ticket(0), "Q1", NOW).ticket
    kinds = []
    for _ in range(3):
        change = domain.recall(t, "Q1", NOW, max_calls=3)
        kinds.append((change.kind, change.ticket.call_count))
        t = change.ticket
    assert kinds == [(Kind.RECALLED, 2), (Kind.RECALLED, 3), (Kind.NO_SHOW, 3)]
    assert t.status == Status.NO_SHOW


def test_a_counter_cannot_act_on_another_counters_ticket() -> None:
    t = ticket(0, status=Status.CALLED, counter="Q1")
    with pytest.raises(Conflict, match="at counter 'Q1', not 'Q2'"):
        domain.recall(t, "Q2", NOW, 3)


def test_finish_times_service_from_start_or_else_from_the_call() -> None:
    called = domain.call(ticket(0), "Q1", NOW).ticket
    direct = domain.finish(called, "Q1", NOW + timedelta(seconds=300))
    assert direct.service_seconds == 300
    started = domain.start(called, "Q1", NOW + timedelta(seconds=60)).ticket
    dossier = uuid.uuid4()
    done = domain.finish(started, "Q1", NOW + timedelta(seconds=300), dossier)
    assert done.service_seconds == 240
    assert (done.ticket.status, done.ticket.dossier_id) == (Status.SERVED, dossier)


def test_transfer_keeps_the_original_place_and_frees_the_counter() -> None:
    t = ticket(3, status=Status.SERVING)
    change = domain.transfer(t, "Q1", center().line("land"), NOW)
    moved = change.ticket
    assert (moved.status, moved.line_code, moved.counter_id, moved.call_count) == (
        Status.WAITING,
        "land",
        None,
        0,
    )
    assert moved.order_at == t.order_at  # its place in the queue is the original issue time
    assert moved.queued_at == NOW  # its new wait starts now
    assert (change.kind, change.line_code) == (Kind.TRANSFERRED, "justice")


def test_transfer_to_the_same_line_is_refused() -> None:
    with pytest.raises(Invalid) as err:
        domain.transfer(ticket(0, status=Status.CALLED), "Q1", center().line("justice"), NOW)
    assert err.value.field == "line_code"


def test_requeue_puts_a_no_show_at_the_back_the_same_day_only() -> None:
    gone = ticket(0, status=Status.NO_SHOW, calls=3)
    back = domain.requeue(gone, NOW, gone.local_day).ticket
    assert (back.status, back.order_at, back.call_count, back.counter_id) == (
        Status.WAITING,
        NOW,
        0,
        None,
    )
    with pytest.raises(Conflict, match="only on the day it was issued"):
        domain.requeue(gone, NOW + timedelta(days=1), gone.local_day + timedelta(days=1))


# -------------------------------------------------------------- calling order


def test_priority_first_then_issue_order_with_the_guard_every_k_calls() -> None:
    waiting = [ticket(0), ticket(1, priority=True), ticket(2, priority=True), ticket(3)]
    waiting += [ticket(4, priority=True)]
    streak, order = 0, []
    while waiting:
        chosen = domain.select_next(waiting, streak=streak, max_priority_in_row=2)
        assert chosen is not None
        order.append(chosen.ticket.seq - 1)
        streak = chosen.streak
        waiting.remove(chosen.ticket)
    assert order == [1, 2, 0, 4, 3]


def test_nothing_to_call_in_an_empty_queue() -> None:
    assert domain.select_next([], streak=0, max_priority_in_row=3) is None


def test_priority_calls_with_no_normal_waiting_do_not_count_toward_the_guard() -> None:
    chosen = domain.select_next([ticket(0, priority=True)], streak=5, max_priority_in_row=1)
    assert chosen is not None
    assert chosen.streak == 0


def test_the_guard_must_allow_one_priority_call() -> None:
    with pytest.raises(ValueError, match="at least one"):
        domain.select_next([ticket(0)], streak=0, max_priority_in_row=0)


def test_position_counts_priority_tickets_first() -> None:
    waiting = [ticket(0), ticket(1, priority=True), ticket(2), ticket(3, line="land")]
    assert [domain.queue_position(t, waiting) for t in waiting] == [2, 1, 3, 1]


# ---------------------------------------------------------------- waiting time


@pytest.mark.parametrize(
    ("position", "counters", "recent", "expected"),
    [
        (1, 1, [], 600),  # the line's default without history
        (4, 2, [], 1200),
        (3, 2, [200, 400], 450),  # 3 / 2 * mean(200, 400)
        (3, 0, [300], 900),  # no counter open yet: one is assumed
        (0, 3, [300], 0),
    ],
)
def test_estimated_wait(position: int, counters: int, recent: list[float], expected: int) -> None:
    assert domain.estimate_wait_seconds(position, counters, recent, 600) == expected
