"""The display board: who is served where, the last calls, and the queue per line. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from motcua.services.queue import domain
from motcua.services.queue.directory import Center
from motcua.services.queue.domain import CounterState, Ticket


@dataclass(frozen=True)
class LineLoad:
    """How many tickets wait on a line (today)."""

    line_code: str
    waiting: int
    priority_waiting: int


@dataclass(frozen=True)
class CallRecord:
    """One call (first call or recall) shown in the board's history."""

    number: str
    line_code: str
    counter_id: str
    kind: str
    at: datetime


@dataclass(frozen=True)
class CounterBoard:
    counter_id: str
    name: str
    is_open: bool
    line_codes: tuple[str, ...]
    ticket: Ticket | None  # called to or served at this counter now


@dataclass(frozen=True)
class LineBoard:
    line_code: str
    prefix: str
    name: str
    waiting: int
    priority_waiting: int
    open_counters: int
    estimated_wait_seconds: int  # for a normal ticket taken now


@dataclass(frozen=True)
class Board:
    center_id: str
    name: str
    at: datetime
    counters: list[CounterBoard]
    last_called: list[CallRecord]
    lines: list[LineBoard]


def assemble(
    center: Center,
    *,
    at: datetime,
    states: Iterable[CounterState],
    active: Iterable[Ticket],
    calls: Sequence[CallRecord],
    loads: Iterable[LineLoad],
    recent: Mapping[str, Sequence[float]],
) -> Board:
    """Every counter and line of the center, in the data file's order."""
    by_counter = {s.counter_id: s for s in states}
    serving = {t.counter_id: t for t in active}
    load = {x.line_code: x for x in loads}
    open_states = [s for s in by_counter.values() if s.is_open]
    counters = []
    for spec in center.counters.values():
        state = by_counter.get(spec.counter_id)
        is_open = state is not None and state.is_open
        counters.append(
            CounterBoard(
                counter_id=spec.counter_id,
                name=spec.name,
                is_open=is_open,
                line_codes=state.line_codes if state and is_open else spec.line_codes,
                ticket=serving.get(spec.counter_id),
            )
        )
    lines = []
    for line in center.lines.values():
        here = load.get(line.code, LineLoad(line.code, 0, 0))
        open_counters = sum(1 for s in open_states if line.code in s.line_codes)
        lines.append(
            LineBoard(
                line_code=line.code,
                prefix=line.prefix,
                name=line.name,
                waiting=here.waiting,
                priority_waiting=here.priority_waiting,
                open_counters=open_counters,
                estimated_wait_seconds=domain.estimate_wait_seconds(
                    here.waiting + 1,
                    open_counters,
                    recent.get(line.code, ()),
                    line.default_service_seconds,
                ),
            )
        )
    return Board(center.center_id, center.name, at, counters, list(calls), lines)
