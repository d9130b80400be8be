"""Client-side workarounds for the embedded broker (Tansu 0.6), applied ONLY against it.

A real Kafka cluster needs none of this; ``ECHOARB_EMBEDDED_BROKER`` / the launcher decide.
Known gaps (shared/infra.md) and what this module does about each:

1. ListOffsets(latest) answers the base offset of the last record batch + 1, not the log
   end. aiokafka's ``end_offsets`` is therefore wrong, and Faust's table recovery (which
   reads changelog end offsets through it) stops early and restores stale values.
   -> :func:`end_offsets_via_fetch` reads the high watermark of a Fetch response instead
   (correct on Tansu; needs max_wait >= 100 ms, Tansu does not answer a 0 ms fetch), and
   :func:`apply_faust_patches` makes Faust's driver use it.
2. InitProducerId v0 is rejected and aiokafka only sends v0: idempotent or transactional
   producers fail. -> producers run with ``enable_idempotence=False`` (at-least-once, and
   every downstream write is idempotent).
3. JoinGroup is held for half the session timeout: with Faust's 60 s default a worker
   needs ~31 s to join. -> 2 s session timeout, 0.5 s heartbeats.
4. A fetch is held for its full max wait even when data arrives. Faust's aiokafka driver
   hard-codes 1,500 ms, a 1.5 s floor per hop. -> the patched driver uses 10 ms.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.structs import TopicPartition

FETCH_MAX_WAIT_MS = 10
HIGHWATER_FETCH_WAIT_MS = 100
SESSION_TIMEOUT_S = 2.0
HEARTBEAT_INTERVAL_S = 0.5

_PATCHED = False


def aiokafka_consumer_kwargs() -> dict[str, Any]:
    return {
        "session_timeout_ms": int(SESSION_TIMEOUT_S * 1000),
        "heartbeat_interval_ms": int(HEARTBEAT_INTERVAL_S * 1000),
        "fetch_max_wait_ms": FETCH_MAX_WAIT_MS,
    }


def aiokafka_producer_kwargs() -> dict[str, Any]:
    # Gap 2: no idempotence. Linger batches sends (gap 7: many tiny batches load Tansu).
    return {"enable_idempotence": False, "acks": 1, "linger_ms": 5, "max_batch_size": 1 << 20}


def faust_settings() -> dict[str, Any]:
    """Faust app settings for the embedded broker (gap 3; recovery and commits kept snappy)."""
    return {
        "broker_session_timeout": SESSION_TIMEOUT_S,
        "broker_heartbeat_interval": HEARTBEAT_INTERVAL_S,
        "broker_rebalance_timeout": 10.0,
        "broker_commit_every": 1000,
        "broker_commit_interval": 0.5,
        "producer_linger": 0.005,
    }


async def end_offsets_via_fetch(
    client: AIOKafkaClient, partitions: Iterable[TopicPartition]
) -> dict[TopicPartition, int]:
    """Log end offsets from Fetch high watermarks (gap 1), one request per partition leader."""
    partitions = list(partitions)
    await client._maybe_wait_metadata()
    by_leader: dict[int, list[TopicPartition]] = {}
    for tp in partitions:
        leader = client.cluster.leader_for_partition(tp)
        if leader is None or leader == -1:
            await client.force_metadata_update()
            leader = client.cluster.leader_for_partition(tp)
        if leader is None or leader == -1:
            raise RuntimeError(f"no leader known for {tp}")
        by_leader.setdefault(leader, []).append(tp)
    result: dict[TopicPartition, int] = {}
    for leader, tps in by_leader.items():
        topics: dict[str, list[tuple[int, int, int]]] = {}
        for tp in tps:
            topics.setdefault(tp.topic, []).append((tp.partition, 0, 1))
        request = FetchRequest(HIGHWATER_FETCH_WAIT_MS, 0, 1, 0, list(topics.items()))
        response = await client.send(leader, request)
        for topic, parts in response.topics:
            for partition, _error, highwater, *_ in parts:
                result[TopicPartition(topic, partition)] = int(highwater)
    missing = [tp for tp in partitions if tp not in result]
    if missing:
        raise RuntimeError(f"fetch response had no high watermark for {missing}")
    return result


def apply_faust_patches() -> None:
    """Patch faust-streaming's aiokafka driver for gaps 1 and 4. Idempotent."""
    global _PATCHED
    if _PATCHED:
        return
    from faust.transport.drivers import aiokafka as driver

    thread_cls = driver.AIOKafkaConsumerThread
    original_create = thread_cls._create_worker_consumer

    @functools.wraps(original_create)
    def _create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = original_create(self, transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read when the fetcher starts
        return consumer

    async def _highwaters(self: Any, partitions: list[Any]) -> dict[Any, int]:
        consumer = self._ensure_consumer()
        if self.consumer.in_transaction:
            return {tp: consumer.last_stable_offset(tp) for tp in partitions}
        tps = [TopicPartition(tp.topic, tp.partition) for tp in partitions]
        offsets = await end_offsets_via_fetch(consumer._client, tps)
        return {tp: offsets[TopicPartition(tp.topic, tp.partition)] for tp in partitions}

    thread_cls._create_worker_consumer = _create_worker_consumer
    thread_cls._highwaters = _highwaters
    _PATCHED = True


def patched() -> bool:
    return _PATCHED
