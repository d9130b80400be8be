"""One partition's worker core: merge the venue streams, scan, and say what to emit (pure).

The stream adapter (``streams/``) owns the I/O: it pushes decoded tick batches in, sends
the ``Step`` outputs, persists the dirty pair states and acks the returned tokens once
those outputs are delivered. Everything that decides *what* is emitted and *when a record
may be acked* is here, so it is the same under Faust, in the benchmarks and in tests.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from echoarb.ingest.batching import END_OF_TIME
from echoarb.model import ClosedWindow, SpreadEvent, Tick
from echoarb.pairs import MarketPair
from echoarb.scan.merge import VENUE_RANK, PartitionMerger
from echoarb.scan.scanner import PartitionScanner, ScanParams, StateLoader
from echoarb.scan.state import PairState
from echoarb.wire.records import spread_id


@dataclass(slots=True)
class Step:
    """What one push (or stalled release) produced: outputs to send, then records to ack."""

    spreads: list[SpreadEvent] = field(default_factory=list)
    windows: list[ClosedWindow] = field(default_factory=list)
    acks: list[Hashable] = field(default_factory=list)
    ticks: int = 0  # ticks scanned
    now_ms: int = 0  # wall clock of the scan: the outputs' emission time
    final: bool = False  # every venue stream of the partition reached end of stream


#: One decoded tick batch: (venue, watermark, ticks).
Batch = tuple[str, int, list[Tick]]
#: Live merge: is a venue's stream of this partition read up to what Kafka holds?
CaughtUp = Callable[[str], bool]


class PartitionCore:
    """Merger and scanner of one partition (``caught_up`` given: the live merge)."""

    def __init__(
        self,
        venues: Iterable[str],
        pairs: dict[str, MarketPair],
        params: ScanParams,
        load: StateLoader,
        caught_up: CaughtUp | None = None,
        *,
        reference: bool = False,
    ) -> None:
        self.merger = PartitionMerger(venues, caught_up)
        self.scanner = PartitionScanner(pairs, params, load, reference=reference)

    def push(self, batches: Sequence[Batch], now: float, now_ms: int, token: Hashable) -> Step:
        """A run of decoded tick batches (one venue's, in offset order); ``token`` comes back in
        ``acks`` once every one of them may be acked (earlier batches carry none: the run is
        acked through its last)."""
        merger = self.merger
        released: list[Tick] = []
        final = False
        last = len(batches) - 1
        for i, (venue, watermark, ticks) in enumerate(batches):
            released.extend(merger.push(venue, watermark, ticks, now, token if i == last else None))
            if watermark >= END_OF_TIME and merger.done:
                final = True
        return self._scan(released, final, now_ms)

    def release_caught_up(self, now: float, now_ms: int) -> Step | None:
        """Live merge: ticks a stream that has caught up no longer holds back (timer)."""
        released = self.merger.release_caught_up(now)
        return self._scan(released, False, now_ms) if released else None

    def release_stalled(self, now: float, max_wait_s: float, now_ms: int) -> Step | None:
        """Live fallback for a silent venue (see ``PartitionMerger.release_stalled``)."""
        released = self.merger.release_stalled(now, max_wait_s)
        return self._scan(released, False, now_ms) if released else None

    def take_dirty(self) -> Iterable[PairState]:
        """Pair states changed since the last call: each is one table write."""
        return self.scanner.take_dirty()

    def _scan(self, ticks: list[Tick], final: bool, now_ms: int) -> Step:
        scanner = self.scanner
        apply, close_windows = scanner.apply, scanner.close_windows
        step = Step(ticks=len(ticks), now_ms=now_ms, final=final)
        spreads, closed = step.spreads, step.windows
        for tick in ticks:
            opps = apply(tick)
            if opps:
                # The trigger's merge position makes the spread id the same on every replay.
                trigger = (tick.recv_ts, VENUE_RANK[tick.venue], tick.seq)
                for opp in opps:
                    spreads.append(SpreadEvent(spread_id(opp, trigger), opp, now_ms))
            # Windows close as the merged ticks pass them (not per record or run): which
            # opportunities a window counts then depends on the tick order alone.
            windows = close_windows()
            if windows:
                closed.extend(windows)
        if final:
            closed.extend(scanner.close_windows(final=True))
        step.acks = self.merger.ackable()
        return step


class PartitionCores:
    """The cores of the partitions a worker holds, created on first use, dropped on revoke.

    ``caught_up`` (live merge) builds a partition's caught-up check; without it every
    partition merges strictly (replays: the same spread events at any speed).
    """

    def __init__(
        self,
        streams: dict[int, frozenset[str]],
        pairs: dict[str, MarketPair],
        params: ScanParams,
        load: StateLoader,
        caught_up: Callable[[int], CaughtUp] | None = None,
        *,
        reference: bool = False,
    ) -> None:
        self._reference = reference  # PartitionScanner(reference=True): the baseline evaluation
        self._streams = streams
        self._caught_up = caught_up  # live merge: the check for a partition
        self._pairs = pairs
        self._params = params
        self._load = load
        self.cores: dict[int, PartitionCore] = {}
        self._retired_late = 0  # late ticks of dropped partitions
        self._retired_late_windows = 0  # late window events of dropped partitions

    def get(self, partition: int) -> PartitionCore:
        core = self.cores.get(partition)
        if core is None:
            venues = self._streams.get(partition, frozenset())
            check = self._caught_up(partition) if self._caught_up is not None else None
            core = self.cores[partition] = PartitionCore(
                venues, self._pairs, self._params, self._load, check, reference=self._reference
            )
        return core

    def drop(self, partition: int) -> None:
        """A revoked partition: its in-memory state goes; the new owner rebuilds it from the table."""
        core = self.cores.pop(partition, None)
        if core is not None:
            self._retired_late += core.merger.late
            self._retired_late_windows += core.scanner.late_window_events

    def items(self) -> list[tuple[int, PartitionCore]]:
        return list(self.cores.items())

    @property
    def late_ticks(self) -> int:
        return self._retired_late + sum(c.merger.late for c in self.cores.values())

    @property
    def late_window_events(self) -> int:
        return self._retired_late_windows + sum(c.scanner.late_window_events for c in self.cores.values())

    @property
    def buffered(self) -> int:
        return sum(c.merger.buffered for c in self.cores.values())
