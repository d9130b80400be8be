"""A per-venue circuit breaker: stop hammering a venue that keeps failing.

closed -> (``threshold`` consecutive failures) -> open -> (``reset_after`` seconds) ->
half-open: one probe is allowed; its success closes the circuit, its failure opens it
again for another ``reset_after``. Clock injectable so tests need no sleeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

State = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    def __init__(
        self, threshold: int = 5, reset_after: float = 30.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if threshold < 1 or reset_after < 0:
            raise ValueError("need threshold >= 1 and reset_after >= 0")
        self.threshold = threshold
        self.reset_after = reset_after
        self._clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self.times_opened = 0
        self._probing = False

    @property
    def state(self) -> State:
        if self.opened_at is None:
            return "closed"
        if self._probing or self._clock() - self.opened_at >= self.reset_after:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """May the caller try now? In half-open state exactly one probe is let through."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._probing:
            self._probing = True
            return True
        return False

    def retry_in(self) -> float:
        """Seconds until the circuit lets a probe through (0 when it already would)."""
        if self.opened_at is None or self._probing:
            return 0.0
        return max(0.0, self.reset_after - (self._clock() - self.opened_at))

    def record_success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self._probing = False

    def record_failure(self) -> None:
        self.failures += 1
        if self._probing or self.failures >= self.threshold:
            if self.opened_at is None or self._probing:
                self.times_opened += 1
            self.opened_at = self._clock()
            self._probing = False
