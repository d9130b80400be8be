"""Deterministic merge of the venue streams of one partition (pure, no I/O).

Each venue's ticks arrive on their own topic; Kafka orders records within a
topic-partition only, so the order in which a worker sees two venues' ticks depends on
fetch timing. Merging by ``(recv_ts, venue, seq)`` and releasing a tick only once every
venue stream of the partition has promised (by its watermark) that nothing earlier can
follow makes the spread events of a replay the same at any speed.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from echoarb.batching import END_OF_TIME
from echoarb.model import VENUES, Tick

_RANK = {venue: rank for rank, venue in enumerate(VENUES)}


class PartitionMerger:
    def __init__(self, venues: Iterable[str]) -> None:
        self._watermarks: dict[str, int] = {venue: -1 for venue in venues}
        self._heap: list[tuple[int, int, int, Tick]] = []
        self._waiting_since: float | None = None  # wall clock of the oldest buffered tick
        self.late = 0

    @property
    def done(self) -> bool:
        """Every stream reached end of stream."""
        return all(wm >= END_OF_TIME for wm in self._watermarks.values())

    @property
    def buffered(self) -> int:
        return len(self._heap)

    def push(self, venue: str, watermark: int, ticks: Iterable[Tick], now: float) -> list[Tick]:
        """Add a batch of one stream; returns the ticks now safe to process, in order."""
        previous = self._watermarks.get(venue, -1)
        for tick in ticks:
            if tick.recv_ts <= previous:
                self.late += 1
            heapq.heappush(self._heap, (tick.recv_ts, _RANK[tick.venue], tick.seq, tick))
        if watermark > previous:
            self._watermarks[venue] = watermark
        if self._heap and self._waiting_since is None:
            self._waiting_since = now
        return self._release(min(self._watermarks.values()), now)

    def release_stalled(self, now: float, max_wait_s: float) -> list[Tick]:
        """Live fallback: a silent venue (outage, no heartbeats) must not hold the others forever."""
        if self._waiting_since is None or now - self._waiting_since < max_wait_s:
            return []
        newest = max(entry[0] for entry in self._heap)
        for venue, wm in self._watermarks.items():
            if wm < newest:
                self._watermarks[venue] = newest
        return self._release(newest, now)

    def _release(self, upto: int, now: float) -> list[Tick]:
        heap = self._heap
        out = []
        while heap and heap[0][0] <= upto:
            out.append(heapq.heappop(heap)[3])
        if out:
            self._waiting_since = now if heap else None
        return out
