"""Client-side workarounds for the gaps of Tansu 0.6 (the embedded broker), in one place.

Apply them only when talking to the embedded broker (``apply()`` / ``apply_faust_patches()``);
a real Kafka cluster needs none of this. Every gap below was reproduced against Tansu 0.6.0
and is pinned by ``tests/integration/test_tansu_compat.py``.

Gap 1 -- ListOffsets(latest) is wrong. Tansu answers "base offset of the last record batch
    + 1", not the log end offset, so aiokafka's ``end_offsets``/``seek_to_end``/
    ``auto_offset_reset="latest"`` are short whenever the last batch holds more than one record.
    Faust's table recovery reads the changelog only up to that "highwater" and restores stale
    values. The high watermark in a Fetch response is right (Tansu answers nothing to a Fetch
    with max_wait 0, so use >= 100 ms). Fixes: :func:`end_offsets_via_fetch`; faust's
    ``AIOKafkaConsumerThread._highwaters`` (the only source of Faust's recovery highwaters) is
    replaced to use it; aiokafka's ``Fetcher._proc_offset_request`` (behind ``end_offsets``,
    ``seek_to_end`` and the "latest" offset reset) corrects every LATEST answer the same way.
Gap 2 -- InitProducerId v0 is rejected and aiokafka only sends v0: idempotent and
    transactional aiokafka producers (so Faust ``exactly_once``) cannot work against Tansu.
    :func:`aiokafka_producer_kwargs` keeps ``enable_idempotence=False``.
Gap 3 -- JoinGroup is held for at least half the session timeout (Faust's 60 s default means
    ~31 s before a worker is ready). :func:`faust_settings` and
    :func:`aiokafka_consumer_kwargs` use a 2 s session and 0.5 s heartbeat.
Gap 6 -- a Fetch is held for its full max wait even when data arrives meanwhile. Faust's
    aiokafka driver hard-codes ``fetch_max_wait_ms=1500`` in
    ``AIOKafkaConsumerThread._create_worker_consumer`` (500 ms aiokafka default in
    ``_create_client_consumer``), a 1.5 s floor per hop; both are patched to
    :data:`FETCH_MAX_WAIT_MS`.
Gap 7 -- the memory engine's fetch cost grows with the number of record batches: producers
    linger ~5 ms so writes are batched (:func:`aiokafka_producer_kwargs`, ``producer_linger``
    in :func:`faust_settings`).
Gaps 4 (no CreatePartitions/AlterConfigs: create topics with their final partition count,
see :func:`echoarb.kafka.embedded.create_topics`) and 5 (kcat cannot talk to it) need no code.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from aiokafka import AIOKafkaClient, AIOKafkaConsumer
from aiokafka import errors as kafka_errors
from aiokafka.consumer.fetcher import Fetcher, OffsetResetStrategy
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.structs import TopicPartition

log = logging.getLogger("echoarb.broker.tansu_compat")

#: Fetch max wait for every consumer talking to Tansu (gap 6): Tansu holds a fetch this long
#: even when data arrives meanwhile, so it is a latency floor per hop; shorter costs CPU (an
#: idle consumer parses 1,000 / this fetch responses a second).
FETCH_MAX_WAIT_MS = 10
#: Max wait of the Fetch used to read high watermarks: Tansu answers nothing at 0 (gap 1).
HIGHWATER_FETCH_WAIT_MS = 100
SESSION_TIMEOUT_S = 2.0
HEARTBEAT_INTERVAL_S = 0.5
PRODUCER_LINGER_MS = 5

_TP = TypeVar("_TP", bound=tuple[str, int])
_originals: dict[str, Any] = {}


# -- Gap 1: end offsets from a Fetch high watermark -------------------------------------------
async def end_offsets_via_fetch(
    client_or_consumer: AIOKafkaClient | AIOKafkaConsumer,
    partitions: Iterable[_TP],
    *,
    max_wait_ms: int = HIGHWATER_FETCH_WAIT_MS,
    timeout: float = 30.0,
) -> dict[_TP, int]:
    """Log end offset per partition, read from the high watermark of a Fetch response.

    Tansu's ListOffsets(latest) is wrong (gap 1); its Fetch high watermark is right. Keys are the
    partition objects passed in (aiokafka ``TopicPartition`` or Faust ``TP``). A Fetch whose
    partitions are all empty is held for ``max_wait_ms`` (gap 6), so this costs up to 100 ms.
    """
    client: AIOKafkaClient = getattr(client_or_consumer, "_client", client_or_consumer)
    wanted = list(dict.fromkeys(partitions))
    if not wanted:
        return {}
    async with asyncio.timeout(timeout):
        while True:
            try:
                return await _highwaters_once(client, wanted, max_wait_ms)
            except kafka_errors.KafkaError as exc:
                if not exc.retriable:
                    raise
                log.debug("retrying high-watermark fetch after %r", exc)
                if exc.invalid_metadata:
                    client.force_metadata_update()
                await asyncio.sleep(0.1)


async def _highwaters_once(client: AIOKafkaClient, wanted: list[_TP], max_wait_ms: int) -> dict[_TP, int]:
    for topic in {tp[0] for tp in wanted}:
        if client.cluster.partitions_for_topic(topic) is None:
            client.add_topic(topic)
    await client._maybe_wait_metadata()
    by_node: dict[int, list[_TP]] = {}
    for tp in wanted:
        node = client.cluster.leader_for_partition(TopicPartition(tp[0], tp[1]))
        if node is None:
            client.add_topic(tp[0])
            raise kafka_errors.StaleMetadata(tp)
        if node == -1:
            raise kafka_errors.LeaderNotAvailableError(tp)
        by_node.setdefault(node, []).append(tp)
    result: dict[_TP, int] = {}
    for node, tps in by_node.items():
        result.update(await _fetch_highwaters(client, node, tps, max_wait_ms))
    return result


async def _fetch_highwaters(
    client: AIOKafkaClient, node: int, tps: list[_TP], max_wait_ms: int
) -> dict[_TP, int]:
    """One Fetch at offset 0, 1 byte per partition: only the high watermark is read."""
    by_topic: dict[str, list[tuple[int, int, int]]] = {}
    for topic, partition in tps:
        by_topic.setdefault(topic, []).append((partition, 0, 1))
    request = FetchRequest(max_wait_ms, 1, 1, 0, list(by_topic.items()))
    response = await client.send(node, request)
    lookup = {(tp[0], tp[1]): tp for tp in tps}
    result: dict[_TP, int] = {}
    for topic, parts in response.topics:
        for partition, error_code, highwater, *_ in parts:
            tp = lookup.get((topic, partition))
            if tp is None:
                continue
            error = kafka_errors.for_code(error_code)
            if error is not kafka_errors.NoError and error is not kafka_errors.OffsetOutOfRangeError:
                raise error(f"high-watermark fetch for {topic}[{partition}]")
            if highwater < 0:
                raise kafka_errors.KafkaTimeoutError(f"no high watermark for {topic}[{partition}]")
            result[tp] = highwater
    missing = [tp for tp in tps if tp not in result]
    if missing:  # Tansu drops partitions it did not answer in time: retriable
        raise kafka_errors.RequestTimedOutError(f"no high watermark in Fetch response for {missing}")
    return result


def _patch_aiokafka_list_offsets() -> None:
    """Correct LATEST answers of aiokafka's ListOffsets (end_offsets, seek_to_end, latest reset)."""
    if "Fetcher._proc_offset_request" in _originals:
        return
    original = Fetcher._proc_offset_request
    _originals["Fetcher._proc_offset_request"] = original

    @functools.wraps(original)
    async def _proc_offset_request(
        self: Fetcher, node_id: int, topic_data: Mapping[str, list[tuple[int, int]]]
    ) -> dict[TopicPartition, tuple[int, int | None]]:
        offsets: dict[TopicPartition, tuple[int, int | None]] = await original(self, node_id, topic_data)
        latest = [
            TopicPartition(topic, partition)
            for topic, parts in topic_data.items()
            for partition, timestamp in parts
            if timestamp == OffsetResetStrategy.LATEST
        ]
        latest = [tp for tp in latest if tp in offsets]
        if latest:
            highwaters = await _fetch_highwaters(self._client, node_id, latest, HIGHWATER_FETCH_WAIT_MS)
            for tp, highwater in highwaters.items():
                offsets[tp] = (highwater, offsets[tp][1])
        return offsets

    setattr(Fetcher, "_proc_offset_request", _proc_offset_request)  # noqa: B010


# -- Faust driver patches (gaps 1 and 6) ------------------------------------------------------
def apply_faust_patches() -> None:
    """Patch faust-streaming's aiokafka driver (and aiokafka's ListOffsets) for Tansu. Idempotent."""
    from faust.transport.drivers import aiokafka as driver

    _patch_aiokafka_list_offsets()
    thread_cls = driver.AIOKafkaConsumerThread
    if "_highwaters" not in _originals:
        _originals["_highwaters"] = thread_cls._highwaters

        async def _highwaters(self: Any, partitions: list[Any]) -> Mapping[Any, int]:
            """Recovery highwaters from a Fetch, not ListOffsets (gap 1)."""
            consumer = self._ensure_consumer()
            if self.consumer.in_transaction:
                return {tp: consumer.last_stable_offset(tp) for tp in partitions}
            return await end_offsets_via_fetch(consumer, partitions)

        setattr(thread_cls, "_highwaters", _highwaters)  # noqa: B010
    for name in ("_create_worker_consumer", "_create_client_consumer"):
        if name in _originals:
            continue
        original = getattr(thread_cls, name)
        _originals[name] = original
        setattr(thread_cls, name, _short_fetch_wait(original))


def _short_fetch_wait(create: Any) -> Any:
    """Wrap a consumer factory so the aiokafka consumer it builds fetches with a short max wait (gap 6).

    Faust passes a literal ``fetch_max_wait_ms``; the consumer keeps it in ``_fetch_max_wait_ms``
    until ``start()`` hands it to its Fetcher, so overriding it right after construction is enough.
    """

    @functools.wraps(create)
    def factory(self: Any, transport: Any) -> AIOKafkaConsumer:
        consumer: AIOKafkaConsumer = create(self, transport)
        if not hasattr(consumer, "_fetch_max_wait_ms"):  # pragma: no cover - aiokafka changed
            raise RuntimeError("aiokafka.AIOKafkaConsumer has no _fetch_max_wait_ms: update tansu_compat")
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer

    return factory


def revert() -> None:
    """Undo every patch (tests use it to observe the raw gaps after something applied them)."""
    from faust.transport.drivers import aiokafka as driver

    for name, original in list(_originals.items()):
        if name == "Fetcher._proc_offset_request":
            setattr(Fetcher, "_proc_offset_request", original)  # noqa: B010
        else:
            setattr(driver.AIOKafkaConsumerThread, name, original)
        del _originals[name]


def patched() -> bool:
    return bool(_originals)


def apply(app: Any | None = None) -> None:
    """The entry point when the broker is embedded: patch Faust and aiokafka; tune ``app`` if given.

    Prefer passing :func:`faust_settings` to ``faust.App(...)``; ``app`` is for an app that was
    already built (it must not be running yet: Faust reads these settings when it starts).
    """
    apply_faust_patches()
    if app is not None:
        for key, value in faust_settings().items():
            setattr(app.conf, key, value)


# -- client settings (gaps 2, 3, 6, 7) ---------------------------------------------------------
def faust_settings() -> dict[str, Any]:
    """``faust.App`` kwargs for Tansu (gaps 3 and 7; recovery and commits kept snappy)."""
    return {
        "broker_session_timeout": SESSION_TIMEOUT_S,  # gap 3: JoinGroup held for half of this
        "broker_heartbeat_interval": HEARTBEAT_INTERVAL_S,  # must stay below the session timeout
        "broker_rebalance_timeout": 10.0,
        "broker_commit_every": 1000,
        "broker_commit_interval": 0.5,  # little to replay after a restart (at-least-once)
        "producer_linger": PRODUCER_LINGER_MS / 1000,  # gap 7: batch changelog/sink writes
    }


def aiokafka_consumer_kwargs() -> dict[str, Any]:
    """``AIOKafkaConsumer`` kwargs for Tansu (gaps 3 and 6)."""
    return {
        "session_timeout_ms": int(SESSION_TIMEOUT_S * 1000),
        "heartbeat_interval_ms": int(HEARTBEAT_INTERVAL_S * 1000),
        "fetch_max_wait_ms": FETCH_MAX_WAIT_MS,
    }


def aiokafka_producer_kwargs() -> dict[str, Any]:
    """``AIOKafkaProducer`` kwargs for Tansu: no idempotence (gap 2), batched writes (gap 7)."""
    return {
        "enable_idempotence": False,
        "acks": 1,  # one memory-only broker: "all" buys nothing
        "linger_ms": PRODUCER_LINGER_MS,
        "max_batch_size": 1 << 20,
    }
