"""Per-client token buckets for the public endpoints (intake's lookup and online
submission, the queue's tickets with a contact).

The state is **in process**, by design: a lookup must stay cheap (no write per
request), and the limit's job is to make guessing a 50-bit secret hopeless, which
holds with room to spare even if a client spreads its guesses over every replica
(N replicas allow at most N times the rate). Buckets are kept in an LRU of bounded
size, so a flood of distinct addresses cannot exhaust memory; an evicted client
simply starts again with a full bucket.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable


class TokenBuckets:
    """One token bucket per key: ``burst`` tokens, refilled at ``rate`` per second."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = float(burst)
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """Spend one token of ``key``: 0.0 if allowed, else the seconds until one is free."""
        now = self.clock()
        tokens, last = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            wait, tokens = 0.0, tokens - 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait

    def retry_after(self, key: str) -> int | None:
        """``take`` as an HTTP ``Retry-After`` value: ``None`` if allowed, else whole seconds."""
        wait = self.take(key)
        return None if wait == 0.0 else max(1, math.ceil(wait))
