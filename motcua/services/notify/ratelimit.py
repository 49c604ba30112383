"""Channel rate limits that hold for the whole deployment, however many replicas send.

A gateway's contract limits the sender, not one process: two replicas each allowed
200 SMS/s would send 400. So each channel's pace lives in PostgreSQL as one
*theoretical arrival time* (the generic cell rate algorithm): every message moves it
``1/rate`` seconds on, and a burst may start up to ``burst/rate`` seconds behind now.
A replica reserves a block of slots (about 50 ms of the rate) per round trip and
spends them locally, so the database sees a few statements a second per channel,
not one per message.

When the database cannot be asked, a replica falls back to its own bucket (the
limit then holds per process) rather than stop sending: the delivery itself is
recorded in the database, so that state does not last.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import asyncpg

from motcua.services.notify.domain import Channel, TokenBucket, burst_of
from motcua.shared.logging import get_logger

log = get_logger(__name__)

BLOCK_SECONDS = 0.05
Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


class Pace(Protocol):
    """Waits until a message may go out on a channel."""

    async def wait(self, channel: Channel) -> None: ...


class LocalPace:
    """One token bucket per channel in this process: a limit per replica."""

    def __init__(
        self,
        rates: Mapping[Channel, float],
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        self.buckets = {c: TokenBucket(rate) for c, rate in rates.items()}
        self.sleep = sleep
        self.clock = clock

    async def wait(self, channel: Channel) -> None:
        bucket = self.buckets.get(channel)
        if bucket is not None:
            delay = bucket.reserve(self.clock())
            if delay > 0:
                await self.sleep(delay)


@dataclass
class Block:
    """Reserved slots at local monotonic times ``first + i * spacing``, spent in order.

    Slots already past when the block arrives are the burst the shared pace allowed;
    a block whose last slot is more than one spacing gone is stale, and its rest is
    dropped rather than spent late as an extra burst.
    """

    first: float
    spacing: float
    size: int
    used: int = 0

    def take(self, now: float) -> float | None:
        """Seconds to wait for the next slot; ``None`` when spent or stale."""
        if self.used >= self.size or now > self.first + self.size * self.spacing:
            return None
        slot = self.first + self.used * self.spacing
        self.used += 1
        return max(0.0, slot - now)


# The pace moves on by the block's span from the later of its last end and the burst
# allowance; what comes back is the block's end, in seconds from the database's now.
_RESERVE = """
    INSERT INTO channel_pace AS p (channel, tat)
    VALUES ($1, now() - make_interval(secs => $3) + make_interval(secs => $2))
    ON CONFLICT (channel) DO UPDATE
        SET tat = greatest(p.tat, now() - make_interval(secs => $3)) + make_interval(secs => $2)
    RETURNING extract(epoch FROM p.tat - now())::float8
"""


class SharedPace:
    """The channel's pace in PostgreSQL, reserved a block at a time."""

    def __init__(
        self,
        pool: Callable[[], asyncpg.Pool],
        rates: Mapping[Channel, float],
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        self.pool = pool
        self.rates = dict(rates)
        self.sleep = sleep
        self.clock = clock
        self.local = LocalPace(rates, sleep=sleep, clock=clock)  # refuses a rate <= 0
        self._blocks: dict[Channel, Block] = {}
        self._locks = {channel: asyncio.Lock() for channel in rates}

    async def wait(self, channel: Channel) -> None:
        rate = self.rates.get(channel)
        if rate is None:
            return
        async with self._locks[channel]:  # one reservation at a time per channel
            block = self._blocks.get(channel)
            delay = block.take(self.clock()) if block is not None else None
            if delay is None:
                try:
                    block = await self._reserve(channel, rate)
                except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                    log.warning("notify.pace_unshared", channel=channel.value, error=repr(exc))
                else:
                    self._blocks[channel] = block
                    delay = block.take(self.clock())
        if delay is None:
            await self.local.wait(channel)
        elif delay > 0:
            await self.sleep(delay)

    async def _reserve(self, channel: Channel, rate: float) -> Block:
        size = max(1, round(rate * BLOCK_SECONDS))
        spacing = 1.0 / rate
        span, tolerance = size * spacing, burst_of(rate) * spacing
        ahead: float = await self.pool().fetchval(_RESERVE, channel.value, span, tolerance)
        return Block(self.clock() + ahead - span, spacing, size)
