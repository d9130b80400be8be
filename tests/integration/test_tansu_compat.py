"""Each test pins one broker gap: what a plain client gets from Tansu, and what the workaround gives."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from echoarb.broker import tansu_compat
from echoarb.broker.embedded import EmbeddedBroker, create_topics


async def _produce_batches(bootstrap: str, topic: str, batches: int, per_batch: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **tansu_compat.aiokafka_producer_kwargs())
    await producer.start()
    try:
        for _ in range(batches):
            for _ in range(per_batch):
                await producer.send(topic, b"x", partition=0)
            await producer.flush()  # one record batch per round
    finally:
        await producer.stop()


async def test_end_offsets_wrong_from_list_offsets_right_from_fetch(broker: EmbeddedBroker) -> None:
    topic = f"gap1-{uuid.uuid4().hex[:8]}"
    await create_topics(broker.bootstrap, {topic: 2})
    await _produce_batches(broker.bootstrap, topic, batches=3, per_batch=5)
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap)
    await consumer.start()
    try:
        tp, empty = TopicPartition(topic, 0), TopicPartition(topic, 1)
        # Gap 1 as it is: ListOffsets says base offset of the last batch + 1 (10 + 1), not 15.
        assert (await consumer.end_offsets([tp]))[tp] == 11
        fixed = await tansu_compat.end_offsets_via_fetch(consumer._client, [tp, empty])
        assert fixed == {tp: 15, empty: 0}
    finally:
        await consumer.stop()


def test_faust_driver_patch_uses_fetch_high_watermarks_and_short_fetch_wait() -> None:
    from faust.transport.drivers import aiokafka as driver

    thread_cls = driver.AIOKafkaConsumerThread
    original_highwaters = thread_cls._highwaters
    tansu_compat.apply_faust_patches()
    tansu_compat.apply_faust_patches()  # idempotent
    assert tansu_compat.patched()
    assert thread_cls._highwaters is not original_highwaters
    assert thread_cls._highwaters.__module__ == tansu_compat.__name__
    assert thread_cls._create_worker_consumer.__wrapped__ is not None  # type: ignore[attr-defined]


def test_faust_settings_join_fast() -> None:
    settings = tansu_compat.faust_settings()
    # Tansu holds JoinGroup for half the session timeout: Faust's 60 s default means ~30 s joins.
    assert settings["broker_session_timeout"] <= 2
    assert settings["broker_heartbeat_interval"] < settings["broker_session_timeout"]
    assert tansu_compat.aiokafka_consumer_kwargs()["fetch_max_wait_ms"] <= 10
    assert tansu_compat.aiokafka_producer_kwargs()["enable_idempotence"] is False
