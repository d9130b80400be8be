"""Exponential backoff, capped, with full jitter by default (AWS architecture blog,
"Exponential Backoff And Jitter").

Full jitter (a uniform draw in ``[0, min(cap, base * 2**attempt)]``) spreads the reconnects
of many clients after a venue outage instead of having them stampede in lock step. Without
jitter the delays are the ceilings themselves (``base``, ``2 * base``, ... ``cap``): for one
process retrying its own step (the sink's insert while ClickHouse is down), where nobody else
retries in lock step and an operator reads the delay in the log.
"""

from __future__ import annotations

import random


class Backoff:
    """Delays for successive retries; ``reset()`` after a connection proved healthy."""

    def __init__(
        self, base: float = 0.5, cap: float = 30.0, *, jitter: bool = True, rng: random.Random | None = None
    ) -> None:
        if base <= 0 or cap < base:
            raise ValueError("need 0 < base <= cap")
        self.base = base
        self.cap = cap
        self.jitter = jitter
        self.attempt = 0
        self._rng = rng or random.Random()

    def ceiling(self) -> float:
        """Upper bound of the next delay (before jitter)."""
        return float(min(self.cap, self.base * 2.0 ** min(self.attempt, 62)))

    def next_delay(self) -> float:
        ceiling = self.ceiling()
        delay = self._rng.uniform(0, ceiling) if self.jitter else ceiling
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0
