"""Append an output record to aiokafka's open batch of its partition, without a coroutine.

Why: ``await producer.send(...)`` costs ~10 µs of CPU per record before anything is sent
(Faust's wrapper, aiokafka's ``send``, ``_wait_on_metadata`` and ``add_message``: three
coroutines), and each record's delivery future then gets its own ``RecordMetadata``,
``set_result`` and gather callback (another ~7 µs). The worker sends one spread event per
changed result, thousands per second, so that was a large part of its CPU.

What: when the producer already holds an open (not yet drained) batch for the record's
topic-partition, :meth:`OpenBatch.append` adds the record to it directly, exactly as
``MessageAccumulator.add_message`` would (same batch, same order, key, value and headers
``[]``, timestamp set at append), and hands back the batch's delivery future (shielded,
one per batch) with the record's offset within the batch. Otherwise (no open batch, batch
full or already built, producer closed or failed, a transactional or idempotent producer)
it returns None and the caller sends the usual way, which opens the next batch. A batch
future resolves once the whole batch is acknowledged with its base offset, or fails with
the batch: "outputs first, state second" (``streams.checkpoints``) holds per batch.

Pinned to aiokafka :data:`AIOKAFKA_VERSION` internals (``MessageAccumulator._batches``,
``_closed``, ``_exception``, ``MessageBatch._builder`` and ``.future``); importing this
module under another version raises, and ``tests/integration/test_open_batch.py`` checks
the behaviour against the embedded broker.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiokafka
from aiokafka.structs import TopicPartition

AIOKAFKA_VERSION = "0.14.0"

if aiokafka.__version__ != AIOKAFKA_VERSION:  # pragma: no cover - exercised by the pin test
    raise ImportError(
        f"streams.open_batch follows aiokafka {AIOKAFKA_VERSION}'s MessageAccumulator internals; "
        f"found {aiokafka.__version__}: re-check add_message/MessageBatch and update the pin"
    )


class OpenBatch:
    """Direct appends to the open batches of one ``AIOKafkaProducer``."""

    def __init__(self, producer: Any) -> None:
        self.producer = producer
        self._accumulator = producer._message_accumulator
        self._batches = self._accumulator._batches  # tp -> deque of batches not yet drained
        # A producer that serialises, or sends in transactions / idempotently, does more per
        # record than add_message's append: always send those the usual way.
        self.enabled = (
            producer._txn_manager is None
            and producer._key_serializer is None
            and producer._value_serializer is None
        )
        self._tps: dict[tuple[str, int], TopicPartition] = {}
        self._shields: dict[TopicPartition, tuple[Any, asyncio.Future[Any]]] = {}

    def tp(self, topic: str, partition: int) -> TopicPartition:
        key = (topic, partition)
        tp = self._tps.get(key)
        if tp is None:
            tp = self._tps[key] = TopicPartition(topic, partition)
        return tp

    def append(
        self, tp: TopicPartition, key: bytes | None, value: bytes
    ) -> tuple[asyncio.Future[Any], int] | None:
        """(The batch's delivery future, the record's offset in the batch), or None: send it."""
        accumulator = self._accumulator
        if not self.enabled or accumulator._closed or accumulator._exception is not None:
            return None
        pending = self._batches.get(tp)
        if not pending:
            return None
        batch = pending[-1]  # the newest: add_message appends there too
        metadata = batch._builder.append(timestamp=None, key=key, value=value, headers=[])
        if metadata is None:  # full, or built for a retry
            return None
        shield = self._shields.get(tp)
        if shield is None or shield[0] is not batch:
            # Shielded like aiokafka's own send_batch: a cancelled waiter (the committer at
            # shutdown) must not cancel the batch's future inside the accumulator.
            shield = self._shields[tp] = (batch, asyncio.shield(batch.future))
        return shield[1], metadata.offset


def aiokafka_producer(producer: Any) -> Any:
    """The ``AIOKafkaProducer`` of a started Faust aiokafka ``Producer`` (raises NotReady before)."""
    return producer._ensure_producer()
