"""The aiokafka workarounds of ``echoarb.kafka.aiokafka_compat``: raw behaviour, then the fix.

Against the real embedded broker; each raw test fails once aiokafka fixes the behaviour
(then the workaround can go).
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaConnectionError

from echoarb.kafka import aiokafka_compat
from echoarb.kafka.embedded import EmbeddedBroker, create_topics

GROUP_KWARGS: dict[str, Any] = {
    "session_timeout_ms": 2000,
    "heartbeat_interval_ms": 500,
    "fetch_max_wait_ms": 100,
    "auto_offset_reset": "earliest",
}


async def _joined(bootstrap: str, topic: str) -> AIOKafkaConsumer:
    """A group member that holds its partitions (the coordinator known, a fetch running)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"g-{uuid.uuid4().hex[:6]}", **GROUP_KWARGS
    )
    await consumer.start()
    deadline = time.monotonic() + 60
    while not consumer.assignment():
        assert time.monotonic() < deadline, "never assigned"
        await consumer.getmany(timeout_ms=200)
    return consumer


def _connections(consumer: AIOKafkaConsumer) -> int:
    internals: Any = consumer
    return sum(1 for conn in internals._client._conns.values() if conn.connected())


async def test_a1_stop_with_the_brokers_gone_hangs_stop_consumer_bounds_it(tmp_path: Path) -> None:
    topic = f"a1-{uuid.uuid4().hex[:6]}"
    with EmbeddedBroker(log_path=tmp_path / "tansu.log") as broker:
        await create_topics(broker.bootstrap, {topic: 2})
        raw = await _joined(broker.bootstrap, topic)
        fixed = await _joined(broker.bootstrap, topic)
        # Settled members (heartbeating, first fetches answered); one that has only just
        # joined may still be mid-handshake, and then its stop can end on its own.
        for _ in range(10):
            await asyncio.gather(raw.getmany(timeout_ms=200), fixed.getmany(timeout_ms=200))
        broker.stop()  # the cluster is gone under both members
        await asyncio.sleep(0.5)
        # Both stops at once, from the same state: the raw one is still waiting after 8 s
        # (FindCoordinator retried for ever), the fixed one is back within its grace.
        raw_stop = asyncio.ensure_future(raw.stop())
        began = time.monotonic()
        fixed_stop = asyncio.ensure_future(aiokafka_compat.stop_consumer(fixed, grace_s=2.0))
        assert await fixed_stop is False
        took = time.monotonic() - began
        done, _ = await asyncio.wait({raw_stop}, timeout=max(0.0, 8 - took))
        assert not done, "aiokafka's stop now ends with the brokers gone: A1 can go"
        raw_stop.cancel()
        await aiokafka_compat._close_rest(raw)
        assert took < 6
        assert _connections(fixed) == 0


async def _with_dead_fetch(bootstrap: str, topic: str) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, **GROUP_KWARGS)
    await consumer.start()
    await consumer.getmany(timeout_ms=300)

    async def fetch() -> None:  # what a fetch whose broker went away ends with
        raise KafkaConnectionError("Connection at 127.0.0.1 closed")

    dead = asyncio.ensure_future(fetch())
    await asyncio.wait({dead})
    internals: Any = consumer
    internals._fetcher._pending_tasks.add(dead)
    return consumer


async def test_a2_a_dead_fetch_fails_the_stop_stop_consumer_closes_anyway(broker: EmbeddedBroker) -> None:
    topic = f"a2-{uuid.uuid4().hex[:6]}"
    await create_topics(broker.bootstrap, {topic: 1})
    raw = await _with_dead_fetch(broker.bootstrap, topic)
    try:
        await raw.stop()
    except KafkaConnectionError:
        pass
    else:
        raise AssertionError("aiokafka's stop now survives a dead fetch: A2 can go")
    assert _connections(raw) > 0  # the stop gave up before closing its connections
    await aiokafka_compat._close_rest(raw)

    fixed = await _with_dead_fetch(broker.bootstrap, topic)
    assert await aiokafka_compat.stop_consumer(fixed) is False
    assert _connections(fixed) == 0


async def _cancelled_commit_while_frozen(
    broker: EmbeddedBroker, topic: str, fixed: bool, watch_s: float
) -> list[str]:
    """Commit while the broker answers nothing (SIGSTOP), cancel the caller, stop the consumer:
    what asyncio reports about tasks nobody collected within ``watch_s`` (it stops watching at
    the first report: the orphan task fails whenever its closed connection gets to it, which on
    a loaded machine took more than a second)."""
    consumer = await _joined(broker.bootstrap, topic)
    loop = asyncio.get_running_loop()
    reported: list[str] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(str(context["message"])))
    assert broker.pid is not None
    os.kill(broker.pid, signal.SIGSTOP)
    try:
        offsets = {TopicPartition(topic, 0): 0}
        call = aiokafka_compat.commit(consumer, offsets, grace_s=0.5) if fixed else consumer.commit(offsets)
        caller = asyncio.ensure_future(call)
        await asyncio.sleep(0.3)  # the request is out, no answer comes
        caller.cancel()
        await asyncio.gather(caller, return_exceptions=True)
        await aiokafka_compat.stop_consumer(consumer, grace_s=1.0)  # closes the connection under it
        for _ in range(int(watch_s / 0.05)):
            await asyncio.sleep(0.05)
            gc.collect()
            if any("never retrieved" in message for message in reported):
                break
    finally:
        os.kill(broker.pid, signal.SIGCONT)
        loop.set_exception_handler(previous)
    return reported


async def test_a4_a_cancelled_commit_fails_unseen_commit_collects_it(tmp_path: Path) -> None:
    topic = f"a4-{uuid.uuid4().hex[:6]}"
    with EmbeddedBroker(log_path=tmp_path / "tansu.log") as broker:
        await create_topics(broker.bootstrap, {topic: 1})
        raw = await _cancelled_commit_while_frozen(broker, topic, fixed=False, watch_s=10.0)
        assert "Task exception was never retrieved" in raw, f"A4 can go: {raw}"
        fixed = await _cancelled_commit_while_frozen(broker, topic, fixed=True, watch_s=2.0)
        assert "Task exception was never retrieved" not in fixed, fixed
