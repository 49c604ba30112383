"""Property tests of the calling order with booked citizens among walk-ins and priority.

A simulated day: walk-ins and priority tickets arrive, booked citizens check in
before or after their slot, time passes, counters call. Whatever the sequence:
nobody is called twice or lost; a booked citizen whose slot has begun goes ahead of
walk-ins, but never more than K preferred calls in a row while a walk-in waits; a
booked citizen before their slot never overtakes anyone but is not left waiting at
an idle counter; and the store's three heads decide exactly as the whole queue.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from motcua.services.queue import domain
from motcua.services.queue.domain import Ticket
from tests.support.examples import examples
from tests.unit.queue.factories import T0, ticket

walk_in = st.tuples(st.just("walk_in"), st.booleans())  # priority or not
booked = st.tuples(st.just("booked"), st.integers(-30, 45))  # slot minutes from now
tick = st.tuples(st.just("tick"), st.integers(1, 20))  # minutes pass
call = st.tuples(st.just("call"), st.integers(0, 1))  # which counter
operations = st.lists(st.one_of(walk_in, booked, tick, call), max_size=100)


@dataclass
class Counter:
    streak: int = 0
    preferred_over_walk_in: list[bool] = field(default_factory=list)


@dataclass
class Day:
    k: int
    now: datetime = T0
    waiting: list[Ticket] = field(default_factory=list)
    counters: list[Counter] = field(default_factory=lambda: [Counter(), Counter()])
    issued: int = 0
    called: list[Ticket] = field(default_factory=list)

    def arrive(self, priority: bool = False, slot_in_minutes: int | None = None) -> None:
        t = replace(ticket(0, priority=priority), ticket_id=uuid.UUID(int=self.issued + 1))
        t = replace(t, issued_at=self.now, order_at=self.now, queued_at=self.now)
        if slot_in_minutes is not None:
            slot = self.now + timedelta(minutes=slot_in_minutes)
            t = replace(t, appointment_id=uuid.uuid4(), order_at=slot)
        self.waiting.append(replace(t, issue_seq=self.issued))
        self.issued += 1

    def call(self, index: int) -> None:
        counter = self.counters[index]
        chosen = domain.select_next(
            self.waiting, streak=counter.streak, max_priority_in_row=self.k, now=self.now
        )
        assert chosen == domain.select_next(
            _heads(self.waiting), streak=counter.streak, max_priority_in_row=self.k, now=self.now
        )
        if chosen is None:
            assert not self.waiting
            return
        t = chosen.ticket
        preferred = [w for w in self.waiting if w.priority or w.due(self.now)]
        walk_ins = [w for w in self.waiting if not w.priority and not w.appointment]
        early = [w for w in self.waiting if w.appointment and not w.due(self.now)]
        if t in preferred:
            assert t.order_key == min(w.order_key for w in preferred)
            assert counter.streak < self.k or not walk_ins
        elif t in walk_ins:
            assert t.order_key == min(w.order_key for w in walk_ins)
            assert not preferred or chosen.guard_applied
        else:  # early: only at an otherwise idle counter
            assert t in early
            assert not preferred
            assert not walk_ins
        counter.preferred_over_walk_in.append(t in preferred and bool(walk_ins))
        counter.streak = chosen.streak
        self.waiting.remove(t)
        self.called.append(t)

    def run(self, ops: list[tuple[str, bool | int]]) -> None:
        for op, arg in ops:
            if op == "walk_in":
                self.arrive(priority=bool(arg))
            elif op == "booked":
                self.arrive(slot_in_minutes=int(arg))
            elif op == "tick":
                self.now += timedelta(minutes=int(arg))
            else:
                self.call(int(arg))


def _heads(tickets: list[Ticket]) -> list[Ticket]:
    """What the store hands the rule: the oldest priority, walk-in and booked ticket."""
    classes = (
        [t for t in tickets if t.priority],
        [t for t in tickets if not t.priority and not t.appointment],
        [t for t in tickets if not t.priority and t.appointment],
    )
    return [min(c, key=lambda t: t.order_key) for c in classes if c]


@settings(max_examples=examples(400), deadline=None)
@given(ops=operations, k=st.integers(1, 4))
def test_bookings_are_served_at_their_time_without_starving_walk_ins(
    ops: list[tuple[str, bool | int]], k: int
) -> None:
    day = Day(k)
    day.run(ops)
    ids = [t.ticket_id for t in day.called]
    assert len(ids) == len(set(ids))  # nobody is called twice
    assert len(day.called) + len(day.waiting) == day.issued  # and nobody is lost
    for counter in day.counters:
        run = 0
        for passed_over in counter.preferred_over_walk_in:
            run = run + 1 if passed_over else 0
            assert run <= k  # at most K preferred calls in a row while a walk-in waits


@settings(max_examples=examples(200), deadline=None)
@given(walk_ins=st.integers(0, 30), bookings=st.integers(0, 30), k=st.integers(1, 5))
def test_a_backlog_of_due_bookings_lets_one_walk_in_through_after_every_k(
    walk_ins: int, bookings: int, k: int
) -> None:
    """The exact order one counter drains a morning backlog in, once every slot began."""
    day = Day(k)
    for _ in range(walk_ins):
        day.arrive()
    for i in range(bookings):
        day.arrive(slot_in_minutes=i)
    day.now += timedelta(minutes=bookings)
    walk = [t for t in day.waiting if not t.appointment]
    due = [t for t in day.waiting if t.appointment]
    expected: list[Ticket] = []
    while walk or due:
        take = min(k, len(due)) if walk else len(due)
        expected += due[:take]
        del due[:take]
        if walk:
            expected.append(walk.pop(0))
    for _ in range(walk_ins + bookings):
        day.call(0)
    assert day.called == expected
