"""Property tests of the calling order: priority first, issue order, the fairness guard."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from motcua.services.queue import domain
from motcua.services.queue.domain import Ticket
from tests.support.examples import examples
from tests.unit.queue.factories import center, ticket

LINES = ["justice", "land", "other"]

arrival = st.tuples(st.just("arrive"), st.sampled_from(LINES), st.booleans())
call = st.tuples(st.just("call"), st.integers(0, 2), st.just(False))
operations = st.lists(st.one_of(arrival, call), max_size=80)
line_sets = st.lists(
    st.sets(st.sampled_from(LINES), min_size=1).map(sorted), min_size=1, max_size=3
)


@dataclass
class Counter:
    lines: list[str]
    streak: int = 0
    calls: list[tuple[Ticket, bool]] = field(default_factory=list)  # (ticket, normal passed over)


@dataclass
class Simulation:
    """A shared queue and several counters, each serving some lines, calling by the rules."""

    k: int
    counters: list[Counter]
    waiting: list[Ticket] = field(default_factory=list)
    issued: int = 0

    def arrive(self, line: str, priority: bool) -> None:
        self.waiting.append(ticket(self.issued, priority=priority, line=line))
        self.issued += 1

    def call(self, index: int) -> Ticket | None:
        counter = self.counters[index % len(self.counters)]
        mine = [t for t in self.waiting if t.line_code in counter.lines]
        heads = _heads(mine)
        chosen = domain.select_next(mine, streak=counter.streak, max_priority_in_row=self.k)
        # The store hands the rule only the two heads: the outcome must be the same.
        assert chosen == domain.select_next(
            heads, streak=counter.streak, max_priority_in_row=self.k
        )
        if chosen is None:
            assert not mine  # nobody waits on its lines, or else someone is called
            return None
        t = chosen.ticket
        normal_waiting = any(not w.priority for w in mine)
        priority_waiting = any(w.priority for w in mine)
        if t.priority:
            assert counter.streak < self.k or not normal_waiting
        elif priority_waiting:  # a normal ticket overtook a priority one: only by the guard
            assert counter.streak >= self.k
            assert chosen.guard_applied
        # Within its class, the oldest ticket on the counter's lines goes first.
        assert all(w.order_key >= t.order_key for w in mine if w.priority == t.priority)
        counter.calls.append((t, t.priority and normal_waiting))
        counter.streak = chosen.streak
        self.waiting.remove(t)
        return t

    def run(self, ops: list[tuple[str, str | int, bool]]) -> list[Ticket]:
        called = []
        for op, arg, flag in ops:
            if op == "arrive":
                self.arrive(str(arg), flag)
            elif (t := self.call(int(arg))) is not None:
                called.append(t)
        return called


def _heads(tickets: list[Ticket]) -> list[Ticket]:
    out = []
    for priority in (True, False):
        same = [t for t in tickets if t.priority == priority]
        if same:
            out.append(min(same, key=lambda t: t.order_key))
    return out


@settings(max_examples=examples(300), deadline=None)
@given(ops=operations, k=st.integers(1, 4), lines=line_sets)
def test_calls_follow_priority_issue_order_and_the_guard(
    ops: list[tuple[str, str | int, bool]], k: int, lines: list[list[str]]
) -> None:
    sim = Simulation(k, [Counter(ls) for ls in lines])
    called = sim.run(ops)
    ids = [t.ticket_id for t in called]
    assert len(ids) == len(set(ids))  # no ticket is called twice
    assert len(called) + len(sim.waiting) == sim.issued  # and none is lost
    for counter in sim.counters:
        assert all(t.line_code in counter.lines for t, _ in counter.calls)
        run = 0
        for _, passed_over in counter.calls:
            run = run + 1 if passed_over else 0
            assert run <= k  # at most K priority calls in a row while normal ones wait


@settings(max_examples=examples(200), deadline=None)
@given(kinds=st.lists(st.booleans(), min_size=1, max_size=40), k=st.integers(1, 5))
def test_a_backlog_is_called_in_runs_of_k_priority_then_one_normal(
    kinds: list[bool], k: int
) -> None:
    """The exact order a counter drains a fixed backlog in."""
    waiting = [ticket(i, priority=p) for i, p in enumerate(kinds)]
    sim = Simulation(k, [Counter(["justice"])], waiting=list(waiting), issued=len(waiting))
    called = [sim.call(0) for _ in waiting]
    priority = [t for t in waiting if t.priority]
    normal = [t for t in waiting if not t.priority]
    expected: list[Ticket] = []
    while priority or normal:
        take = min(k, len(priority)) if normal else len(priority)
        expected += priority[:take]
        del priority[:take]
        if normal:
            expected.append(normal.pop(0))
    assert called == expected


@settings(max_examples=examples(200), deadline=None)
@given(kinds=st.lists(st.tuples(st.booleans(), st.sampled_from(LINES)), max_size=40))
def test_positions_are_the_order_a_counter_would_call_in_without_the_guard(
    kinds: list[tuple[bool, str]],
) -> None:
    waiting = [ticket(i, priority=p, line=line) for i, (p, line) in enumerate(kinds)]
    for line in LINES:
        on_line = [t for t in waiting if t.line_code == line]
        positions = sorted(on_line, key=lambda t: domain.queue_position(t, waiting))
        assert [domain.queue_position(t, waiting) for t in positions] == list(
            range(1, len(on_line) + 1)
        )
        sim = Simulation(len(on_line) + 1, [Counter([line])], waiting=list(on_line))
        assert [sim.call(0) for _ in on_line] == positions


@settings(max_examples=examples(300), deadline=None)
@given(
    at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    )
)
def test_the_local_day_is_utc_plus_seven(at: datetime) -> None:
    """Vietnam keeps UTC+7 all year: numbering days turn at 17:00 UTC."""
    assert center().local_day(at) == (at + timedelta(hours=7)).date()
