"""The reserved block of send slots, without I/O."""

from __future__ import annotations

import pytest

from motcua.services.notify.domain import Channel, burst_of
from motcua.services.notify.ratelimit import Block, LocalPace


def test_a_block_hands_out_its_slots_in_order_then_runs_out() -> None:
    block = Block(first=10.0, spacing=0.01, size=3)
    assert block.take(10.0) == 0.0
    assert block.take(10.0) == pytest.approx(0.01)
    assert block.take(10.0) == pytest.approx(0.02)
    assert block.take(10.0) is None


def test_slots_already_past_go_at_once_as_the_allowed_burst() -> None:
    block = Block(first=9.9, spacing=0.01, size=20)
    assert [block.take(10.0) for _ in range(3)] == [0.0, 0.0, 0.0]


def test_a_stale_block_is_dropped_not_spent_late_as_an_extra_burst() -> None:
    block = Block(first=10.0, spacing=0.01, size=5)
    assert block.take(10.0) == 0.0
    assert block.take(10.06) is None


def test_the_burst_is_a_tenth_of_a_second_at_least_one_message() -> None:
    assert burst_of(200.0) == 20.0
    assert burst_of(2.0) == 1.0


async def test_the_local_pace_waits_once_the_burst_is_spent() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    pace = LocalPace({Channel.SMS: 10.0}, sleep=sleep, clock=lambda: 0.0)
    for _ in range(3):
        await pace.wait(Channel.SMS)
    await pace.wait(Channel.EMAIL)  # no limit configured
    assert waits == [pytest.approx(0.1), pytest.approx(0.2)]
