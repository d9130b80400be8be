"""Backoff, circuit breaker and token bucket: the generic pieces, with injected clocks."""

from __future__ import annotations

import random

import pytest

from echoarb.resilience.backoff import Backoff
from echoarb.resilience.circuit import CircuitBreaker
from echoarb.resilience.ratelimit import TokenBucket


def _state(breaker: CircuitBreaker) -> str:
    """The state as a plain string (keeps mypy from narrowing a property across calls)."""
    return breaker.state


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_backoff_is_exponential_full_jitter_and_capped() -> None:
    backoff = Backoff(0.5, 4.0, rng=random.Random(1))
    ceilings, delays = [], []
    for _ in range(8):
        ceilings.append(backoff.ceiling())
        delays.append(backoff.next_delay())
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len(set(delays)) == len(delays)  # jittered, not lock-step
    backoff.reset()
    assert backoff.ceiling() == 0.5
    many = [Backoff(1, 1, rng=random.Random(i)).next_delay() for i in range(200)]
    assert min(many) < 0.1 and max(many) > 0.9  # full jitter spans [0, ceiling]
    with pytest.raises(ValueError):
        Backoff(2, 1)


def test_backoff_without_jitter_doubles_up_to_the_cap() -> None:
    backoff = Backoff(0.05, 0.2, jitter=False)
    assert [backoff.next_delay() for _ in range(5)] == [0.05, 0.1, 0.2, 0.2, 0.2]
    backoff.reset()
    assert backoff.next_delay() == 0.05


def test_circuit_opens_after_n_failures_and_half_opens_for_one_probe() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=3, reset_after=10, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    assert _state(breaker) == "closed"
    breaker.record_failure()
    assert _state(breaker) == "open" and not breaker.allow() and breaker.retry_in() == 10
    clock.now += 10
    assert _state(breaker) == "half_open"
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # only one
    breaker.record_failure()  # probe failed: open again, full wait
    assert _state(breaker) == "open" and breaker.retry_in() == 10 and breaker.times_opened == 2
    clock.now += 10
    assert breaker.allow()
    breaker.record_success()
    assert _state(breaker) == "closed" and breaker.failures == 0 and breaker.allow()


def test_success_resets_the_consecutive_failure_count() -> None:
    breaker = CircuitBreaker(threshold=2, reset_after=1, clock=Clock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert _state(breaker) == "closed"


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=500 / 60, capacity=3, clock=clock)
    assert [bucket.try_acquire() for _ in range(4)] == [True, True, True, False]
    clock.now += 60 / 500  # one token's worth
    assert bucket.try_acquire() and not bucket.try_acquire()
    clock.now += 3600
    assert sum(bucket.try_acquire() for _ in range(10)) == 3  # never more than the capacity
    assert TokenBucket.per_minute(500).capacity == 50
