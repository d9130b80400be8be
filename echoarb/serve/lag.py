"""Consumer lag of the stream workers' group, for ``echoarb_consumer_lag{group, topic}``.

The server already reads every tick partition, so its consumer knows each log end (high
watermark of its fetches); the group's committed offsets come from a consumer that names the
group but never joins it (``committed()``; the admin client's OffsetFetch for a whole group
is not understood by the embedded broker).
The sink reports its own group's lag from its consumer (``echoarb/sink/metrics.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer

from echoarb.serve.source import SpreadSource

log = logging.getLogger("echoarb.serve.lag")


class LagMonitor:
    def __init__(
        self,
        bootstrap: str,
        group: str,
        topics: list[str],
        source: SpreadSource,
        *,
        consumer_kwargs: dict[str, Any] | None = None,
        period_s: float = 5.0,
    ) -> None:
        self.consumer_kwargs = dict(consumer_kwargs or {})
        self.bootstrap = bootstrap
        self.group = group
        self.topics = set(topics)
        self.source = source
        self.period_s = period_s
        self.lag: dict[str, int] = {}
        self.errors = 0

    async def run(self) -> None:
        reader = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=self.group,
            enable_auto_commit=False,
            **self.consumer_kwargs,
        )
        await reader.start()
        try:
            while True:
                try:
                    self.lag = await self._measure(reader)
                except Exception as exc:  # the group may not exist yet; try again next period
                    self.errors += 1
                    if self.errors <= 3:
                        log.info("consumer lag of group %s not available yet: %s", self.group, exc)
                await asyncio.sleep(self.period_s)
        finally:
            with contextlib.suppress(Exception):
                await reader.stop()

    async def _measure(self, reader: AIOKafkaConsumer) -> dict[str, int]:
        lags: dict[str, int] = {}
        for tp in self.source.partitions():
            if tp.topic not in self.topics:
                continue
            end = self.source.highwater(tp)
            if end is None:
                continue
            done = await reader.committed(tp) or 0
            lags[tp.topic] = lags.get(tp.topic, 0) + max(0, end - done)
        return lags
