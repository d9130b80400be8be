"""The one ingest pipeline: received frame -> ticks -> tick batches -> a tick sink.

``FramePipeline`` is what live ingest and replay share, so a recording goes through exactly
the code a live connector feeds::

    RecordedFrame -> FrameHandler (venue parser, normaliser) -> TickSink
                                                                 |
                     BatchingSink: TickBatcher (per-partition batches, watermarks) + linger
                                                                 |
                     TickPublisher (echoarb.ingest.publisher): Avro records on ``ticks.*``

Everything above the publisher is pure (no I/O, no client library): a backtest runs the
same core in-process with an in-memory sink (``MemorySink``) instead of Kafka. Each frame
first moves the watermark to ``recv_ts - 1`` (ticks of later frames are later), then its
rejections go to the dead-letter sink, then its ticks are batched.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from echoarb import metrics
from echoarb.ingest.batching import OutBatch, TickBatcher
from echoarb.ingest.frames import FrameHandler, FrameOutcome
from echoarb.model import Tick
from echoarb.pairs import PairsConfig
from echoarb.partitioning import venue_streams
from echoarb.settings import Settings
from echoarb.venues.recording import RecordedFrame

log = logging.getLogger("echoarb.ingest")


class TickSink(Protocol):
    """Where the pipeline's ticks go (``BatchingSink`` and its Kafka publisher, or a test fake)."""

    async def add(self, ticks: list[Tick]) -> None: ...

    def advance(self, watermark: int) -> None: ...

    async def flush(self, *, end_of_stream: bool = False) -> None: ...

    async def wait_delivered(self) -> None: ...

    async def dead_letter(self, venue: str, frame: str, reason: str, recv_ts: int) -> None: ...


class BatchingSink(ABC):
    """Batches ticks per (venue, partition) stream, bounded by count or linger; subclasses deliver.

    The batching decisions live here once, so the Kafka publisher is only encode-and-send and
    an in-process run batches exactly as a Kafka one does.
    """

    def __init__(self, batcher: TickBatcher, *, linger_ms: float = 5.0) -> None:
        self.batcher = batcher
        self.linger_s = linger_ms / 1000
        self.records_sent = 0
        self.ticks_sent = 0
        self._first_pending: float | None = None

    async def add(self, ticks: list[Tick]) -> None:
        loop = asyncio.get_running_loop()
        full = False
        for tick in ticks:
            full = self.batcher.add(tick) or full
        if self.batcher.pending_ticks and self._first_pending is None:
            self._first_pending = loop.time()
        if full or (self._first_pending is not None and loop.time() - self._first_pending >= self.linger_s):
            await self.flush()

    def advance(self, watermark: int) -> None:
        self.batcher.advance(watermark)

    @property
    def linger_deadline(self) -> float | None:
        """Event-loop time at which the oldest pending tick's linger ends (None: nothing pending)."""
        return None if self._first_pending is None else self._first_pending + self.linger_s

    async def flush(self, *, end_of_stream: bool = False) -> None:
        self._first_pending = None
        for batch in self.batcher.drain(end_of_stream=end_of_stream):
            await self.send(batch)
            self.records_sent += 1
            self.ticks_sent += len(batch.ticks)
        if end_of_stream:
            await self.wait_delivered()

    @abstractmethod
    async def send(self, batch: OutBatch) -> None:
        """Deliver one batch (may return before it is acknowledged: see ``wait_delivered``)."""

    @abstractmethod
    async def wait_delivered(self) -> None:
        """Until every batch sent so far is acknowledged."""

    @abstractmethod
    async def dead_letter(self, venue: str, frame: str, reason: str, recv_ts: int) -> None:
        """Keep a frame the parser rejected, with the reason."""


class MemorySink(BatchingSink):
    """Keeps the batches and dead letters in lists: the pipeline in-process, without Kafka."""

    def __init__(self, batcher: TickBatcher, *, linger_ms: float = 5.0) -> None:
        super().__init__(batcher, linger_ms=linger_ms)
        self.batches: list[OutBatch] = []
        self.dead_letters: list[tuple[str, str, str, int]] = []

    async def send(self, batch: OutBatch) -> None:
        self.batches.append(batch)

    async def wait_delivered(self) -> None:
        """Nothing to wait for: a batch in the list is delivered."""

    async def dead_letter(self, venue: str, frame: str, reason: str, recv_ts: int) -> None:
        self.dead_letters.append((venue, frame, reason, recv_ts))


@dataclass
class PipelineStats:
    frames: int = 0
    ticks: int = 0
    parse_errors: int = 0


class FramePipeline:
    """Frames in (from a connector or a recording), ticks out to a ``TickSink``.

    ``parse`` (synchronous, in receive order) and ``publish`` are separate so live ingest can
    put a bounded buffer between them; ``feed`` does both for a recording.
    """

    def __init__(
        self,
        handler: FrameHandler,
        sink: TickSink,
        *,
        stats: PipelineStats | None = None,
        on_ticks: Callable[[Sequence[Tick]], None] | None = None,
    ) -> None:
        self.handler = handler
        self.sink = sink
        self.stats = stats if stats is not None else PipelineStats()
        self.on_ticks = on_ticks

    def parse(self, frame: RecordedFrame) -> FrameOutcome:
        """Parse and normalise one frame; every rejection is counted and logged."""
        outcome = self.handler.handle(
            frame.venue, frame.frame, frame.recv_ts, source=frame.source, path=frame.path
        )
        self.stats.frames += 1
        for reason in outcome.errors:
            self.stats.parse_errors += 1
            metrics.PARSE_ERRORS.labels(venue=frame.venue, reason=metrics.error_category(reason)).inc()
            log.warning("%s frame at recv_ts %d rejected: %s", frame.venue, frame.recv_ts, reason)
        return outcome

    async def publish(self, frame: RecordedFrame, outcome: FrameOutcome) -> None:
        """Watermark, dead letters, then ticks of one parsed frame."""
        sink = self.sink
        sink.advance(frame.recv_ts - 1)
        for reason in outcome.errors:
            await sink.dead_letter(frame.venue, frame.frame, reason, frame.recv_ts)
        if outcome.ticks:
            self.stats.ticks += len(outcome.ticks)
            if self.on_ticks is not None:
                self.on_ticks(outcome.ticks)
            await sink.add(outcome.ticks)

    async def feed(self, frame: RecordedFrame) -> FrameOutcome:
        outcome = self.parse(frame)
        await self.publish(frame, outcome)
        return outcome


def frame_handler(settings: Settings, pairs: PairsConfig) -> FrameHandler:
    """The frame handler the settings describe (book depth, Kalshi fee rate)."""
    return FrameHandler(pairs, depth=settings.book_depth, kalshi_fee_rate=settings.kalshi_fee_rate)


def tick_batcher(settings: Settings, pairs: PairsConfig) -> TickBatcher:
    """The batcher the settings describe: heartbeats for every stream a worker merge waits on."""
    return TickBatcher(
        settings.partitions, venue_streams(pairs, settings.partitions), settings.batch_max_ticks
    )
