"""``streams.open_batch`` against the embedded broker: what ``send`` would write, without ``send``.

Each record appended to an open batch must reach the topic exactly as ``producer.send``
would have put it there (order, key, value, no headers), and the batch future plus the
offset within the batch must name each record's offset. Where it cannot append, it must say
so (None) instead of dropping or reordering anything.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import aiokafka
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from echoarb.kafka.embedded import EmbeddedBroker, create_topics
from streams import open_batch
from streams.open_batch import OpenBatch


def test_pinned_aiokafka_version() -> None:
    assert aiokafka.__version__ == open_batch.AIOKAFKA_VERSION


async def _read(bootstrap: str, tp: TopicPartition, count: int) -> list[Any]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, fetch_max_wait_ms=100, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([tp])
        consumer.seek(tp, 0)
        out: list[Any] = []
        deadline = time.monotonic() + 30
        while len(out) < count and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                out.extend(records)
        return out
    finally:
        await consumer.stop()


async def test_appends_land_as_send_would_put_them_and_the_batch_future_names_their_offsets(
    broker: EmbeddedBroker,
) -> None:
    topic = f"ob-{uuid.uuid4().hex[:6]}"
    await create_topics(broker.bootstrap, {topic: 2})
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=200)
    await producer.start()
    try:
        direct = OpenBatch(producer)
        assert direct.enabled
        tp = direct.tp(topic, 1)
        assert direct.tp(topic, 1) is tp
        assert direct.append(tp, b"k0", b"v0") is None  # no open batch yet: send it
        first = await producer.send(topic, b"v0", key=b"k0", partition=1)
        appended = [direct.append(tp, f"k{i}".encode(), f"v{i}".encode()) for i in range(1, 6)]
        assert all(a is not None for a in appended)
        futures = {a[0] for a in appended if a is not None}
        assert len(futures) == 1  # one shielded future per batch
        within = [a[1] for a in appended if a is not None]
        assert within == [1, 2, 3, 4, 5]
        # A plain send after the appends joins the same batch, behind them.
        last = await producer.send(topic, b"v6", key=b"k6", partition=1)
        base = await futures.pop()
        assert (await first).offset == base.offset
        assert (await last).offset == base.offset + 6
        # Nothing appended or sent may show up on the other partition.
        assert direct.append(direct.tp(topic, 0), b"x", b"x") is None
    finally:
        await producer.stop()
    records = await _read(broker.bootstrap, TopicPartition(topic, 1), 7)
    assert [(r.key, r.value) for r in records] == [(f"k{i}".encode(), f"v{i}".encode()) for i in range(7)]
    assert [r.offset for r in records] == [base.offset + i for i in range(7)]
    assert all(not r.headers for r in records)


async def test_a_full_batch_or_a_closed_producer_falls_back_to_send(broker: EmbeddedBroker) -> None:
    topic = f"ob-{uuid.uuid4().hex[:6]}"
    await create_topics(broker.bootstrap, {topic: 1})
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=200, max_batch_size=1024)
    await producer.start()
    direct = OpenBatch(producer)
    tp = direct.tp(topic, 0)
    try:
        await producer.send(topic, b"0" * 100, key=b"k", partition=0)
        taken = 0
        while direct.append(tp, b"k", b"1" * 100) is not None:
            taken += 1
            assert taken < 20, "a 1 KiB batch never filled up"
        assert taken > 0  # some fitted; the one that did not is left to send (a new batch)
        await producer.send(topic, b"2" * 100, key=b"k", partition=0)
        assert direct.append(tp, b"k", b"3") is not None  # the new batch takes appends again
        await producer.flush()
    finally:
        await producer.stop()
    assert direct.append(tp, b"k", b"4") is None  # stopped: never into a closed accumulator
    records = await _read(broker.bootstrap, tp, taken + 3)
    assert [r.value[:1] for r in records] == [b"0"] + [b"1"] * taken + [b"2", b"3"]


async def test_a_serialising_producer_is_never_appended_to(broker: EmbeddedBroker) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, value_serializer=lambda v: v)
    await producer.start()
    try:
        direct = OpenBatch(producer)
        assert not direct.enabled
        assert direct.append(direct.tp("t", 0), b"k", b"v") is None
    finally:
        await producer.stop()
