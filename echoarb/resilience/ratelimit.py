"""A small async token bucket (Manifold allows 500 REST requests per minute per IP)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    """``rate`` tokens per second, bursts up to ``capacity``; ``acquire()`` waits for a token."""

    def __init__(self, rate: float, capacity: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("need rate > 0 and capacity >= 1")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._tokens = capacity
        self._stamp = clock()
        self._lock = asyncio.Lock()

    @classmethod
    def per_minute(cls, requests: int, *, burst: int | None = None) -> TokenBucket:
        return cls(requests / 60.0, float(burst if burst is not None else max(1, requests // 10)))

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def try_acquire(self) -> bool:
        self._refill()
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    async def acquire(self) -> None:
        async with self._lock:  # FIFO: waiters are served in order
            while not self.try_acquire():
                await asyncio.sleep((1 - self._tokens) / self.rate)
