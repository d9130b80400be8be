"""Deterministic merge of the venue streams of one partition (pure, no I/O).

Each venue's ticks arrive on their own topic; Kafka orders records within a
topic-partition only, so the order in which a worker sees two venues' ticks depends on
fetch timing. Merging by ``(recv_ts, venue, seq)`` and releasing a tick only once every
venue stream of the partition has promised (by its watermark) that nothing earlier can
follow makes the spread events of a replay the same at any speed.

The merger also says when a source record may be acknowledged (its offset committed):
only once its ticks were processed AND its watermark is no longer needed. A crash then
re-delivers exactly the records whose information is not yet reflected in the state.

Live mode (``caught_up`` given): a venue stream whose topic-partition the worker has read
up to the high watermark of the newest fetch cannot hold anything earlier that Kafka
already has, so the merge stops waiting for its watermark and releases at once; it still
waits for a stream that has fetched-but-unread records. The price: a tick that reaches
Kafka after a later-stamped tick of another venue was released is processed in arrival
order (counted in ``late``), so live output order is arrival order, not ``recv_ts`` order.
Replays use the strict merge (no ``caught_up``): the same spread events at any speed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from heapq import heappop, heappush

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
    def __init__(self, venues: Iterable[str], caught_up: Callable[[str], bool] | None = None) -> None:
        self._watermarks: dict[str, int] = {venue: -1 for venue in venues}
        #: Live mode: is this venue's stream read up to its fetched high watermark?
        self._caught_up = caught_up
        self._released_upto = -1  # newest recv_ts released (live mode: late = below it)
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
    def live(self) -> bool:
        return self._caught_up is not None

    @property
    def frontier(self) -> int:
        """Every tick with recv_ts <= this may be released (strict: the lowest watermark)."""
        watermarks = self._watermarks
        caught_up = self._caught_up
        if caught_up is None:
            return min(watermarks.values()) if watermarks else END_OF_TIME
        # Live: the lowest watermark of a stream still behind (ended streams hold nothing back).
        # A loop, not min() over a generator: this runs twice per pushed record.
        lowest = END_OF_TIME
        for venue, wm in watermarks.items():
            if wm < lowest and not caught_up(venue):
                lowest = wm
        return lowest

    def push(
        self, venue: str, watermark: int, ticks: Iterable[Tick], now: float, token: Hashable = None
    ) -> list[Tick]:
        """Add a batch of one stream; returns the ticks now safe to process, in order."""
        previous = self._watermarks.get(venue, -1)
        if self._caught_up is not None and self._released_upto > previous:
            previous = self._released_upto
        entry = _Pending(token, watermark, 0)
        heap = self._heap
        pushed = start = self._pushed
        late = 0
        for tick in ticks:
            recv_ts = tick.recv_ts
            if recv_ts <= previous:
                late += 1
            pushed += 1
            heappush(heap, (recv_ts, _RANK[tick.venue], tick.seq, pushed, tick, entry))
        entry.remaining = pushed - start
        self._pushed = pushed
        self.late += late
        pending = self._pending.get(venue)
        if pending is None:
            pending = self._pending[venue] = deque()
        pending.append(entry)
        if watermark > previous:
            self._watermarks[venue] = watermark
        if heap and self._waiting_since is None:
            self._waiting_since = now
        return self._release(self.frontier, now)

    def release_caught_up(self, now: float) -> list[Tick]:
        """Live mode: re-check the streams (a timer calls it; pushes do it themselves)."""
        return self._release(self.frontier, now) if self._heap and self._caught_up is not None else []

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
                token = queue.popleft().token
                if token is not None:  # None: a record whose run is acked by a later token
                    out.append(token)
        return out

    def _release(self, upto: int, now: float) -> list[Tick]:
        heap = self._heap
        out = []
        while heap and heap[0][0] <= upto:
            item = heappop(heap)
            item[5].remaining -= 1
            out.append(item[4])
        if out:
            self._waiting_since = now if heap else None
            if out[-1].recv_ts > self._released_upto:
                self._released_upto = out[-1].recv_ts
        return out
