"""The latency passes' offered load: ticks on a fixed schedule, their records built beforehand.

Open loop. Tick ``i`` of a pass is due at ``start + i / rate``; its ``event_ts`` and
``recv_ts`` are that due time. Every record of the pass is built before the clock starts, by
the real ``TickPublisher`` over a producer that only keeps what it is handed (``_Capture``),
flushed as its linger flushes at that schedule: the same batches, watermarks, keys and bytes
a live publisher sends. During the pass, ``offer`` only hands each flush's records to
aiokafka at its due time. Two reasons:

* the load generator's own work (tick records, Avro, batching: about a fifth of a core at
  2,500 ticks/s, measured) no longer competes for this 2-core machine with the system it measures; in
  production the ingest publisher runs in its own process, elsewhere;
* latency counts from when a tick was due, not from when a busy publisher got round to it:
  a late publisher adds to the figures instead of hiding its lateness (no coordinated
  omission).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from aiokafka import AIOKafkaProducer

from echoarb.ingest.batching import TickBatcher
from echoarb.ingest.publisher import TickPublisher
from echoarb.model import Tick
from echoarb.wire.codec import AvroCodec

Record = tuple[str, bytes, bytes | None, int]  # topic, value, key, partition


@dataclass(frozen=True)
class Flush:
    """The records one publisher flush sends, ``due_s`` seconds after the pass starts."""

    due_s: float
    records: tuple[Record, ...]


class _Capture:
    """Stands in for the producer while the records are built: keeps each send, acks at once."""

    def __init__(self) -> None:
        self.sent: list[Record] = []

    async def send(
        self, topic: str, value: bytes, key: bytes | None = None, partition: int | None = None, **_: Any
    ) -> asyncio.Future[None]:
        assert partition is not None  # the publisher always names the partition
        self.sent.append((topic, value, key, partition))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    def take(self) -> tuple[Record, ...]:
        sent, self.sent = tuple(self.sent), []
        return sent


async def schedule(
    ticks: Sequence[Tick],
    rate: float,
    start_ms: int,
    *,
    codec: AvroCodec,
    batcher: TickBatcher,
    topics: Mapping[str, str],
    producer_id: str,
    dead_letter_topic: str,
    linger_ms: float,
) -> list[Flush]:
    """The flushes a ``TickPublisher`` with ``linger_ms`` makes when ``ticks`` come at ``rate``
    from ``start_ms`` on (wall clock, ms), in order; the last one ends the pass's pending ticks
    (not the stream: the next pass goes on with the same batcher)."""
    capture = _Capture()
    # The linger is applied here, on the schedule's clock; the publisher's own (event-loop
    # time) never expires while the records are built.
    publisher = TickPublisher(
        capture,  # the part of AIOKafkaProducer it uses (aiokafka is not typed)
        codec,
        batcher,
        topics,
        producer_id=producer_id,
        dead_letter_topic=dead_letter_topic,
        linger_ms=1e12,
    )
    linger = linger_ms / 1000
    flushes: list[Flush] = []
    first: float | None = None  # due time of the oldest pending tick

    async def flush_at(at: float) -> None:
        publisher.advance(start_ms + int(at * 1000) - 1)
        await publisher.flush()
        flushes.append(Flush(at, capture.take()))

    for i, tick in enumerate(ticks):
        due = i / rate
        if first is not None and due - first >= linger:
            await flush_at(first + linger)
            first = None
        ms = start_ms + int(due * 1000)
        publisher.advance(ms - 1)
        await publisher.add([replace(tick, event_ts=ms, recv_ts=ms)])
        if capture.sent:  # a stream filled up: the publisher flushed at once
            flushes.append(Flush(due, capture.take()))
            first = None
        elif first is None:
            first = due
    if first is not None:
        await flush_at(first + linger)
    return flushes


async def offer(producer: AIOKafkaProducer, flushes: Sequence[Flush], start_ms: int) -> float:
    """Send each flush's records at its due time; the worst lateness of a flush (seconds)."""
    start = start_ms / 1000
    late = 0.0
    for flush in flushes:
        wait = start + flush.due_s - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        else:
            late = max(late, -wait)
        for topic, value, key, partition in flush.records:
            await producer.send(topic, value, key=key, partition=partition)
    await producer.flush()
    return late
