"""Channel rate limits shared by replicas, on the real database: two senders on one
database together keep to the channel's rate, not twice it."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from motcua.services.notify.domain import Channel, burst_of
from motcua.services.notify.ratelimit import BLOCK_SECONDS, SharedPace

RATE = 100.0


@pytest.fixture
def pool(notify_pool: asyncpg.Pool) -> asyncpg.Pool:
    return notify_pool


class Schedule:
    """Records when each message would go, without sleeping: the instant its wait would
    end, read when the pace tells it to wait (not when it asked: under load the database
    round trip between the two would shift every time earlier by its own delay)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._until: dict[int, float] = {}

    async def sleep(self, seconds: float) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._until[id(task)] = time.monotonic() + seconds

    async def send(self, pace: SharedPace, channel: Channel) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._until.pop(id(task), None)
        await pace.wait(channel)
        self.times.append(self._until.pop(id(task), time.monotonic()))


def most_in_any_second(times: list[float]) -> int:
    ordered = sorted(times)
    most, start = 0, 0
    for end, t in enumerate(ordered):
        while t - ordered[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


async def test_two_replicas_together_keep_to_the_channel_rate(pool: asyncpg.Pool) -> None:
    schedule = Schedule()
    replicas = [SharedPace(lambda: pool, {Channel.SMS: RATE}, sleep=schedule.sleep) for _ in "ab"]
    await asyncio.gather(
        *(schedule.send(replica, Channel.SMS) for replica in replicas for _ in range(150))
    )
    assert len(schedule.times) == 300
    # 300 messages at 100/s after a burst of 10 span at least 2.9 s; a limit per
    # replica would let both send 150 each in about 1.4 s.
    span = max(schedule.times) - min(schedule.times)
    assert span >= (300 - burst_of(RATE)) / RATE - 0.1, span
    block = round(RATE * BLOCK_SECONDS)
    assert most_in_any_second(schedule.times) <= RATE + burst_of(RATE) + 2 * block


async def test_a_channel_without_a_limit_never_waits(pool: asyncpg.Pool) -> None:
    schedule = Schedule()
    pace = SharedPace(lambda: pool, {Channel.SMS: RATE}, sleep=schedule.sleep)
    await asyncio.gather(*(schedule.send(pace, Channel.EMAIL) for _ in range(500)))
    assert await pool.fetchval("SELECT count(*) FROM channel_pace") == 0


async def test_without_the_database_a_replica_keeps_its_own_limit(database_url: str) -> None:
    """The database away: the limit holds per process instead, and sending goes on."""
    dead = await asyncpg.create_pool(database_url, min_size=0, max_size=1)
    await dead.close()  # every acquire now fails at once
    schedule = Schedule()
    pace = SharedPace(lambda: dead, {Channel.SMS: RATE}, sleep=schedule.sleep)
    await asyncio.gather(*(schedule.send(pace, Channel.SMS) for _ in range(110)))
    span = max(schedule.times) - min(schedule.times)
    assert span >= (110 - burst_of(RATE)) / RATE - 0.1, span
