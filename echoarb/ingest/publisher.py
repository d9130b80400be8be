"""Publishes tick batches to the per-venue topics (the producer side of every feed)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaProducer

from echoarb.ingest.batching import OutBatch, TickBatcher
from echoarb.model import Tick
from echoarb.wire.codec import AvroCodec
from echoarb.wire.deadletter import dead_letter_headers
from echoarb.wire.records import tick_to_record

log = logging.getLogger("echoarb.publisher")


class TickPublisher:
    """Batches ticks per partition (count or linger bound) and sends them as Avro records."""

    def __init__(
        self,
        producer: AIOKafkaProducer,
        codec: AvroCodec,
        batcher: TickBatcher,
        topics: Mapping[str, str],
        *,
        producer_id: str,
        dead_letter_topic: str,
        linger_ms: float = 5.0,
    ) -> None:
        self.producer = producer
        self.codec = codec
        self.batcher = batcher
        self.topics = topics
        self.producer_id = producer_id
        self.dead_letter_topic = dead_letter_topic
        self.linger_s = linger_ms / 1000
        self.records_sent = 0
        self.ticks_sent = 0
        self._first_pending: float | None = None
        self._inflight: list[asyncio.Future[Any]] = []

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

    async def flush(self, *, end_of_stream: bool = False) -> None:
        self._first_pending = None
        for batch in self.batcher.drain(end_of_stream=end_of_stream):
            await self._send(batch)
        # Bound the number of unacknowledged sends: backpressure instead of unbounded memory.
        if len(self._inflight) > 1000 or end_of_stream:
            await self.wait_delivered()

    async def wait_delivered(self) -> None:
        inflight, self._inflight = self._inflight, []
        if inflight:
            await asyncio.gather(*inflight)

    async def _send(self, batch: OutBatch) -> None:
        record = {
            "venue": batch.venue,
            "producer_id": self.producer_id,
            "watermark": batch.watermark,
            "end_of_stream": batch.end_of_stream,
            "ticks": [tick_to_record(t) for t in batch.ticks],
        }
        value = self.codec.encode(record)
        key = batch.key.encode() if batch.key else None
        fut = await self.producer.send(self.topics[batch.venue], value, key=key, partition=batch.partition)
        self._inflight.append(fut)
        self.records_sent += 1
        self.ticks_sent += len(batch.ticks)

    async def dead_letter(self, venue: str, frame: str, reason: str, recv_ts: int) -> None:
        """A frame the parser rejected: keep it, with the reason, for inspection and replay."""
        headers = dead_letter_headers(reason, f"frames.{venue}", -1, recv_ts, stage="parse")
        fut = await self.producer.send(self.dead_letter_topic, frame.encode(), headers=headers)
        self._inflight.append(fut)
