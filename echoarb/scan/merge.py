"""Deterministic merge of the venue streams of one partition (pure, no I/O).

Each venue's ticks arrive on their own topic; Kafka orders records within a
topic-partition only, so the order in which a worker sees two venues' ticks depends on
fetch timing. Merging by ``(recv_ts, venue, seq)`` and releasing a tick only once every
venue stream of the partition has promised (by its watermark) that nothing earlier can
follow makes the spread events of a replay the same at any speed.

The merger also says when a source record may be acknowledged (its offset committed):
only once its ticks were processed AND its watermark is no longer needed. A crash then
re-delivers exactly the records whose information is not yet reflected in the state.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from echoarb.ingest.batching import END_OF_TIME
from echoarb.model import VENUES, Tick

VENUE_RANK = {venue: rank for rank, venue in enumerate(VENUES)}
_RANK = VENUE_RANK


@dataclass(slots=True)
class _Pending:
    token: Hashable
    watermark: int
    remaining: int


class PartitionMerger:
    def __init__(self, venues: Iterable[str]) -> None:
        self._watermarks: dict[str, int] = {venue: -1 for venue in venues}
        # The push counter breaks ties between equal keys (a tick delivered twice) before
        # the tuple comparison would reach the unorderable tick.
        self._heap: list[tuple[int, int, int, int, Tick, _Pending]] = []
        self._pushed = 0
        self._pending: dict[str, deque[_Pending]] = {}
        self._waiting_since: float | None = None  # wall clock of the oldest buffered tick
        self.late = 0

    @property
    def done(self) -> bool:
        """Every stream reached end of stream."""
        return all(wm >= END_OF_TIME for wm in self._watermarks.values())

    @property
    def buffered(self) -> int:
        return len(self._heap)

    @property
    def frontier(self) -> int:
        """Every tick with recv_ts <= this has been released."""
        return min(self._watermarks.values()) if self._watermarks else END_OF_TIME

    def push(
        self, venue: str, watermark: int, ticks: Iterable[Tick], now: float, token: Hashable = None
    ) -> list[Tick]:
        """Add a batch of one stream; returns the ticks now safe to process, in order."""
        previous = self._watermarks.get(venue, -1)
        entry = _Pending(token, watermark, 0)
        for tick in ticks:
            if tick.recv_ts <= previous:
                self.late += 1
            entry.remaining += 1
            self._pushed += 1
            heapq.heappush(self._heap, (tick.recv_ts, _RANK[tick.venue], tick.seq, self._pushed, tick, entry))
        self._pending.setdefault(venue, deque()).append(entry)
        if watermark > previous:
            self._watermarks[venue] = watermark
        if self._heap and self._waiting_since is None:
            self._waiting_since = now
        return self._release(self.frontier, now)

    def release_stalled(self, now: float, max_wait_s: float) -> list[Tick]:
        """Live fallback: a silent venue (outage, no heartbeats) must not hold the others forever."""
        if self._waiting_since is None or now - self._waiting_since < max_wait_s:
            return []
        newest = max(entry[0] for entry in self._heap)
        for venue, wm in self._watermarks.items():
            if wm < newest:
                self._watermarks[venue] = newest
        return self._release(newest, now)

    def ackable(self) -> list[Hashable]:
        """Tokens of batches whose ticks were all released and whose watermark is used up."""
        frontier = self.frontier
        out = []
        for queue in self._pending.values():
            while queue and queue[0].remaining == 0 and queue[0].watermark <= frontier:
                out.append(queue.popleft().token)
        return out

    def _release(self, upto: int, now: float) -> list[Tick]:
        heap = self._heap
        out = []
        while heap and heap[0][0] <= upto:
            item = heapq.heappop(heap)
            item[5].remaining -= 1
            out.append(item[4])
        if out:
            self._waiting_since = now if heap else None
        return out
