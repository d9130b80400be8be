"""Per-pair spread statistics over event-time windows (pure, no I/O).

Windows close on the partition's event clock (newest event time processed), not on the
wall clock, so a replay of last month's recording closes the same windows with the same
figures as the live run did. The state is plain data so the worker can keep it in a
changelog-backed table.
"""

from __future__ import annotations

from typing import Any

from echoarb.model import ClosedWindow, Opportunity, WindowAgg


class PairWindows:
    """Windows of one kind (size, step) for one pair. Tumbling is step == size."""

    def __init__(self, name: str, size_ms: int, step_ms: int) -> None:
        self.name = name
        self.size = size_ms
        self.step = step_ms
        self.open: dict[int, WindowAgg] = {}
        self.exec_since: int | None = None  # event time the pair became executable
        self.closed_until = -(2**62)  # windows ending at or before this are closed
        # (step start, closed_until, aggregates, late count) of the last on_opportunity: the
        # windows of a time are those of its step until a window closes (derived, not saved).
        self._last: tuple[int, int, list[WindowAgg], int] | None = None

    def _starts(self, ts: int) -> range:
        """Starts of the windows containing ``ts``."""
        last = ts - ts % self.step
        return range(last - self.size + self.step, last + 1, self.step)

    def _window(self, start: int) -> WindowAgg | None:
        if start + self.size <= self.closed_until:
            return None  # late for a window already emitted
        agg = self.open.get(start)
        if agg is None:
            agg = self.open[start] = WindowAgg()
        return agg

    def on_opportunity(self, ts: int, opp: Opportunity) -> int:
        """Count one spread event; returns how many closed windows it was too late for."""
        step = ts - ts % self.step
        cached = self._last
        if cached is None or cached[0] != step or cached[1] != self.closed_until:
            aggs = []
            late = 0
            for start in self._starts(ts):
                agg = self._window(start)
                if agg is None:
                    late += 1
                else:
                    aggs.append(agg)
            cached = self._last = (step, self.closed_until, aggs, late)
        size = opp.size
        sized = size > 0
        edge = opp.net_edge
        best = opp.executable and sized
        for agg in cached[2]:
            agg.events += 1
            if sized and (agg.max_net_edge is None or edge > agg.max_net_edge):
                agg.max_net_edge = edge
            if best and size > agg.best_size:
                agg.best_size = size
        return cached[3]

    def set_executable(self, ts: int, executable: bool) -> None:
        """Track executable stretches; time is credited to the windows it overlaps."""
        if executable and self.exec_since is None:
            self.exec_since = ts
        elif not executable and self.exec_since is not None:
            self._accrue(ts)
            self.exec_since = None

    def _accrue(self, until: int) -> None:
        since = self.exec_since
        if since is None or until <= since:
            return
        start = since - since % self.step - self.size + self.step
        while start < until:
            lo, hi = max(start, since), min(start + self.size, until)
            if hi > lo:
                agg = self._window(start)
                if agg is not None:
                    agg.executable_ms += hi - lo
            start += self.step
        self.exec_since = until

    def close(self, clock: int, pair_id: str) -> list[ClosedWindow]:
        """Close the windows that end at or before ``clock`` (event time)."""
        self._last = None
        if self.exec_since is not None and clock > self.exec_since:
            self._accrue(clock)
        out = []
        for start in sorted(s for s in self.open if s + self.size <= clock):
            out.append(ClosedWindow(pair_id, self.name, start, start + self.size, self.open.pop(start)))
        if clock > self.closed_until:
            self.closed_until = clock
        return out

    def close_all(self, clock: int, pair_id: str) -> list[ClosedWindow]:
        """End of stream: credit executable time up to ``clock`` and emit every open window."""
        self._last = None
        if self.exec_since is not None and clock > self.exec_since:
            self._accrue(clock)
        out = [
            ClosedWindow(pair_id, self.name, start, start + self.size, self.open.pop(start))
            for start in sorted(self.open)
        ]
        self.closed_until = max(self.closed_until, clock)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "open": {str(k): v.to_json() for k, v in self.open.items()},
            "exec_since": self.exec_since,
            "closed_until": self.closed_until,
        }

    def restore(self, raw: dict[str, Any]) -> None:
        self._last = None
        self.open = {int(k): WindowAgg.from_json(v) for k, v in raw["open"].items()}
        self.exec_since = raw["exec_since"]
        self.closed_until = raw["closed_until"]
