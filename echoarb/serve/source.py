"""Reads the spreads topic (and the tick topics, for per-pair quotes) into the server's state.

No consumer group: every server instance reads every partition itself (a server is a view,
not a share of the work) and commits nothing. At start it goes back ``lookback_s`` by
timestamp so the snapshot is filled at once; on the embedded broker, which is memory-only
and whose offset lookups are unreliable (see ``echoarb.kafka.tansu_compat``), it reads from
the beginning.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from echoarb.kafka import aiokafka_compat
from echoarb.serve.state import Current, SpreadState
from echoarb.settings import Settings
from echoarb.wire.codec import Codecs
from echoarb.wire.records import spread_record_to_json
from echoarb.wire.undecodable import Undecodable

log = logging.getLogger("echoarb.serve.source")

EventListener = Callable[[Current], None]


class SpreadSource:
    def __init__(
        self,
        settings: Settings,
        bootstrap: str,
        codecs: Codecs,
        state: SpreadState,
        *,
        consumer_kwargs: dict[str, Any],
        from_beginning: bool,
        lookback_s: float = 300.0,
        ticks: bool = True,
    ) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.codecs = codecs
        self.state = state
        self.from_beginning = from_beginning
        self.lookback_s = lookback_s
        self.ticks = ticks
        self.listeners: list[EventListener] = []
        self.undecodable = Undecodable(log)
        self.records = 0
        self.ready = asyncio.Event()
        self.last_error: str | None = None
        self.consumer_kwargs = consumer_kwargs
        self._consumer: AIOKafkaConsumer | None = None  # made in run(): never left unclosed

    def highwater(self, tp: TopicPartition) -> int | None:
        """Log end of a partition this source reads, from its last fetch (right on every broker)."""
        value = None if self._consumer is None else self._consumer.highwater(tp)
        return None if value is None else int(value)

    def partitions(self) -> list[TopicPartition]:
        s = self.settings
        tps = [TopicPartition(s.topic_spreads, p) for p in range(s.partitions)]
        if self.ticks:
            for venue in ("kalshi", "polymarket", "manifold"):
                tps += [TopicPartition(s.tick_topic(venue), p) for p in range(s.partitions)]
        return tps

    async def _seek_start(self, consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> None:
        if self.from_beginning:
            await consumer.seek_to_beginning(*tps)
            return
        since = int((time.time() - self.lookback_s) * 1000)
        found = await consumer.offsets_for_times(dict.fromkeys(tps, since))
        for tp in tps:
            hit = found.get(tp)
            if hit is None:
                await consumer.seek_to_end(tp)
            else:
                consumer.seek(tp, hit.offset)

    async def run(self) -> None:
        consumer = self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, **self.consumer_kwargs
        )
        await consumer.start()
        try:
            tps = self.partitions()
            consumer.assign(tps)
            await self._seek_start(consumer, tps)
            spreads_topic = self.settings.topic_spreads
            while True:
                batches = await consumer.getmany(timeout_ms=200, max_records=2000)
                for tp, records in batches.items():
                    if tp.topic == spreads_topic:
                        for record in records:
                            self._on_spread(record.value)
                    else:
                        for record in records:
                            self._on_ticks(record.value)
                    self.records += len(records)
                self.ready.set()
                if batches:
                    await asyncio.sleep(0)  # let the feed writers run between large fetches
        finally:
            await aiokafka_compat.stop_consumer(consumer)  # bounded, with the brokers gone too

    def _on_spread(self, value: bytes | None) -> None:
        raw = self.undecodable.decode(self.codecs.spread_event, value)
        if raw is None:
            return
        current = self.state.apply_event(spread_record_to_json(raw))
        for listener in self.listeners:
            try:
                listener(current)
            except Exception:  # a listener's bug must not stop the feed
                log.exception("spread listener %r failed", listener)

    def _on_ticks(self, value: bytes | None) -> None:
        batch = self.undecodable.decode(self.codecs.tick_batch, value)
        if batch is None:
            return
        for tick in batch["ticks"]:
            self.state.apply_tick(tick)

    @property
    def decode_errors(self) -> int:
        """Records of the topics that did not decode (counted, logged by ``undecodable``)."""
        return self.undecodable.count
