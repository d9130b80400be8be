"""The Kafka path's worker core, in-process: tick batches in, spread events and signals out.

The Faust worker (``streams/app.py``) decodes each tick batch record and pushes it into its
partition's merger and scanner (``echoarb.scan``); this does the same with the batches of
an in-memory sink (``echoarb.ingest.pipeline.MemorySink``), skipping only Avro and the
broker. The strict merge releases a partition's ticks in ``(recv_ts, venue, seq)`` order
whatever the interleaving of the venue streams, and the scanner's output depends on nothing
but that order, so the spread events here are the ones ``echoarb replay`` reads back from the
spreads topic (``tests/backtest/test_equivalence.py`` holds both to it).

The loop over released ticks is ``PartitionCore._scan`` plus two things a worker has no use
for: every released tick is kept in a :class:`~echoarb.backtest.books.BookTimeline` (the
books at later event times), and each executable opportunity's legs get their limit price
from the quotes the scanner just evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from echoarb.backtest.books import BookTimeline
from echoarb.backtest.trade import Signal
from echoarb.ingest.batching import OutBatch
from echoarb.model import ZERO, Opportunity, SpreadEvent, Tick
from echoarb.pairs import PairsConfig
from echoarb.partitioning import venue_streams
from echoarb.scan.merge import VENUE_RANK, PartitionMerger
from echoarb.scan.scanner import PartitionScanner, ScanParams
from echoarb.wire.records import spread_id


@dataclass(frozen=True, slots=True)
class Emitted:
    """One spread event in emission order, with its signal when it is executable."""

    event: SpreadEvent
    partition: int
    index: int  # emission order over the whole run
    ts: int  # merge time: recv_ts of the tick that changed the result
    signal: Signal | None


def leg_limits(opp: Opportunity, quotes: dict[str, Tick]) -> tuple[Decimal, ...]:
    """Each leg's worst price level taken by the engine's walk, from the quotes it walked."""
    limits: list[Decimal] = []
    for leg in opp.legs:
        tick = quotes[f"{leg.venue}|{leg.outcome}" if leg.outcome else leg.venue]
        ladder = tick.yes_asks if leg.side == "yes" else tick.no_asks
        taken = ZERO
        limit: Decimal | None = None
        for level in ladder:
            if level.size <= 0:
                continue
            taken += level.size
            limit = level.price
            if taken >= opp.size:
                break
        if limit is None:
            raise ValueError(f"{opp.key}: leg {leg.venue}:{leg.side} has no asks in the quotes walked")
        limits.append(limit)
    return tuple(limits)


@dataclass
class ScanCounts:
    ticks: int = 0
    spreads: int = 0
    signals: int = 0


@dataclass
class InProcessScan:
    """Merger and scanner per partition, as many partitions as the settings say."""

    pairs: PairsConfig
    params: ScanParams
    partitions: int
    timeline: BookTimeline = field(default_factory=BookTimeline)
    emitted: list[Emitted] = field(default_factory=list)
    counts: ScanCounts = field(default_factory=ScanCounts)

    def __post_init__(self) -> None:
        self._streams = venue_streams(self.pairs, self.partitions)
        self._by_id = self.pairs.by_id()
        self._cores: dict[int, tuple[PartitionMerger, PartitionScanner]] = {}

    def _core(self, partition: int) -> tuple[PartitionMerger, PartitionScanner]:
        core = self._cores.get(partition)
        if core is None:
            core = self._cores[partition] = (
                PartitionMerger(self._streams.get(partition, frozenset())),
                PartitionScanner(self._by_id, self.params),
            )
        return core

    def push(self, batch: OutBatch) -> None:
        """One tick batch as a worker would receive it (watermark included)."""
        merger, scanner = self._core(batch.partition)
        released = merger.push(batch.venue, batch.watermark, batch.ticks, 0.0)
        timeline = self.timeline
        emitted = self.emitted
        counts = self.counts
        for tick in released:
            timeline.add(tick)
            trigger = (tick.recv_ts, VENUE_RANK[tick.venue], tick.seq)
            for opp in scanner.apply(tick):
                signal_id = spread_id(opp, trigger)
                signal = None
                if opp.executable:
                    quotes = scanner.states[opp.pair_id].quotes
                    signal = Signal(signal_id, opp, leg_limits(opp, quotes), tick.recv_ts)
                    counts.signals += 1
                event = SpreadEvent(signal_id, opp, opp.event_ts)
                emitted.append(Emitted(event, batch.partition, len(emitted), tick.recv_ts, signal))
                counts.spreads += 1
            # As the worker does: windows close as the merged ticks pass them.
            scanner.close_windows()
        counts.ticks += len(released)

    def sorted_events(self) -> list[Emitted]:
        """In the order ``echoarb replay --out`` writes them: event time, pair, then emission."""
        return sorted(
            self.emitted, key=lambda e: (e.event.opportunity.event_ts, e.event.opportunity.pair_id, e.index)
        )
