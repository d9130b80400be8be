"""Committed offsets per partition: commit after the insert, and let callers wait for them.

The sink commits a partition's offsets only after its batches are stored (and its dead letters
acknowledged). A failed commit is not retried: the rows are stored and the ledger lets the
partition's next reader cut the same batches again, so the re-read inserts are deduplicated.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from echoarb.kafka import aiokafka_compat, resets

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer

log = logging.getLogger(__name__)


class Commits:
    """Next offset committed per partition, by this sink or found in the group on assignment."""

    def __init__(self) -> None:
        self._committed: dict[TopicPartition, int] = {}
        self._changed = asyncio.Condition()
        self.failures = 0

    @property
    def view(self) -> Mapping[TopicPartition, int]:
        return MappingProxyType(self._committed)

    async def commit(self, consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> None:
        try:
            await aiokafka_compat.commit(consumer, ends)  # lands even if a SIGTERM cancels us
        except KafkaError as exc:
            # Typically a rebalance: the rows are stored and the ledger lets the next owner
            # re-cut the same batches, so the re-read inserts are deduplicated.
            self.failures += 1
            log.warning("sink: commit failed after insert (records will be re-read): %s", exc)
            return
        await self._advance(ends)

    async def seed(self, consumer: AIOKafkaConsumer, assigned: Iterable[TopicPartition]) -> None:
        """Take the group's committed offsets of newly assigned partitions.

        One lower than this sink knew (or none) means the cluster lost them (``resets``): the
        partition is read again from where the group now starts, and its known offset goes
        back with it (lag and waits are measured against the new log).
        """
        found: dict[TopicPartition, int] = {}
        back: list[tuple[str, int, int | None, int | None]] = []
        for tp in assigned:
            try:
                offset = await consumer.committed(tp)
            except KafkaError as exc:
                log.warning("sink: cannot read committed offset of %s: %s", tp, exc)
                continue
            now = offset if offset is not None and offset >= 0 else None
            known = self._committed.get(tp)
            if resets.went_back(known, now):
                back.append((tp.topic, tp.partition, known, now))
                async with self._changed:
                    self._committed.pop(tp, None)
            if now is not None:
                found[tp] = now
        resets.report("sink", back)
        await self._advance(found)

    async def wait(self, targets: Mapping[TopicPartition, int], timeout: float) -> None:
        """Return once every partition's committed offset reached its target; ``TimeoutError`` if not."""

        def reached() -> bool:
            return all(self._committed.get(tp, 0) >= end for tp, end in targets.items())

        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(reached)

    async def _advance(self, offsets: Mapping[TopicPartition, int]) -> None:
        async with self._changed:
            for tp, offset in offsets.items():
                if offset > self._committed.get(tp, -1):
                    self._committed[tp] = offset
            self._changed.notify_all()
