"""Token buckets for the public endpoints."""

from __future__ import annotations

from motcua.shared.ratelimit import TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_429_with_a_retry_after_then_refill() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=0.5, burst=3, clock=clock)
    assert [buckets.retry_after("a") for _ in range(3)] == [None, None, None]
    assert buckets.retry_after("a") == 2  # one token every 2 s
    assert buckets.retry_after("b") is None  # another client is not affected
    clock.now += 2.0
    assert buckets.retry_after("a") is None
    assert buckets.retry_after("a") == 2


def test_memory_stays_bounded_under_a_flood_of_addresses() -> None:
    buckets = TokenBuckets(rate=1, burst=1, max_keys=100, clock=Clock())
    for i in range(1000):
        buckets.take(f"10.0.{i // 250}.{i % 250}")
    assert len(buckets._buckets) == 100
