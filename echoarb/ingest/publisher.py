"""Publishes tick batches to the per-venue topics: the thin Kafka layer under ``BatchingSink``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from echoarb.ingest.batching import OutBatch, TickBatcher
from echoarb.ingest.pipeline import BatchingSink, tick_batcher
from echoarb.model import VENUES
from echoarb.pairs import PairsConfig
from echoarb.settings import Settings
from echoarb.wire.codec import AvroCodec
from echoarb.wire.deadletter import dead_letter_headers
from echoarb.wire.records import tick_to_record

log = logging.getLogger("echoarb.publisher")

MAX_INFLIGHT = 1000
"""Unacknowledged sends before ``send`` waits: backpressure instead of unbounded memory."""


class PublishError(RuntimeError):
    """Tick batches cannot be published (and retrying will not help); the message says why."""


class TickPublisher(BatchingSink):
    """Sends each batch as one Avro ``TickBatch`` record; rejected frames to the dead-letter topic."""

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
        super().__init__(batcher, linger_ms=linger_ms)
        self.producer = producer
        self.codec = codec
        self.topics = topics
        self.producer_id = producer_id
        self.dead_letter_topic = dead_letter_topic
        self._inflight: list[asyncio.Future[Any]] = []
        # Called when the cluster no longer has a partition we publish to (an empty cluster
        # after a memory-only broker restart): recreate the topics, then send again.
        self.recreate_topics: Callable[[], Awaitable[None]] | None = None
        self.topics_recreated = 0
        self.recreate_budget_s = 120.0

    @classmethod
    def for_settings(
        cls,
        producer: AIOKafkaProducer,
        codec: AvroCodec,
        settings: Settings,
        pairs: PairsConfig,
        *,
        producer_id: str,
    ) -> TickPublisher:
        """The publisher the settings describe: topics, batch bounds, dead-letter topic."""
        return cls(
            producer,
            codec,
            tick_batcher(settings, pairs),
            {venue: settings.tick_topic(venue) for venue in VENUES},
            producer_id=producer_id,
            dead_letter_topic=settings.topic_dead_letter,
            linger_ms=settings.batch_linger_ms,
        )

    async def flush(self, *, end_of_stream: bool = False) -> None:
        await super().flush(end_of_stream=end_of_stream)
        if len(self._inflight) > MAX_INFLIGHT:
            await self.wait_delivered()

    async def wait_delivered(self) -> None:
        inflight, self._inflight = self._inflight, []
        if inflight:
            await asyncio.gather(*inflight)

    async def send(self, batch: OutBatch) -> None:
        record = {
            "venue": batch.venue,
            "producer_id": self.producer_id,
            "watermark": batch.watermark,
            "end_of_stream": batch.end_of_stream,
            "ticks": [tick_to_record(t) for t in batch.ticks],
        }
        value = self.codec.encode(record)
        key = batch.key.encode() if batch.key else None
        topic = self.topics[batch.venue]
        deadline: float | None = None
        delay = 0.2
        while True:
            try:
                fut = await self.producer.send(topic, value, key=key, partition=batch.partition)
                break
            except AssertionError:  # aiokafka: "Unrecognized partition" (its metadata lacks it)
                now = asyncio.get_running_loop().time()
                deadline = now + self.recreate_budget_s if deadline is None else deadline
                if self.recreate_topics is None or now > deadline:
                    raise PublishError(
                        f"topic {topic} has no partition {batch.partition} on the cluster; "
                        "create the topics with the configured PARTITIONS"
                    ) from None
                log.warning("topic %s lost partition %s: recreating the topics", topic, batch.partition)
                try:  # the cluster may still be down: keep trying until the budget is spent
                    await self.recreate_topics()
                    self.topics_recreated += 1
                    await self.producer.client.force_metadata_update()
                except (KafkaError, OSError) as exc:
                    log.warning("cannot recreate the topics yet (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(2.0, delay * 2)
        self._inflight.append(fut)

    async def dead_letter(self, venue: str, frame: str, reason: str, recv_ts: int) -> None:
        """A frame the parser rejected: keep it, with the reason, for inspection and replay."""
        headers = dead_letter_headers(reason, f"frames.{venue}", -1, recv_ts, stage="parse")
        fut = await self.producer.send(self.dead_letter_topic, frame.encode(), headers=headers)
        self._inflight.append(fut)
