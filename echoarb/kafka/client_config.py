"""Kafka client settings per broker kind, and topic creation with the right partition counts."""

from __future__ import annotations

from typing import Any

from echoarb.settings import Settings


def consumer(embedded_broker: bool) -> dict[str, Any]:
    if embedded_broker:
        from echoarb.kafka import tansu_compat

        return tansu_compat.aiokafka_consumer_kwargs()
    return {"fetch_max_wait_ms": 50}


def producer(embedded_broker: bool) -> dict[str, Any]:
    if embedded_broker:
        from echoarb.kafka import tansu_compat

        return tansu_compat.aiokafka_producer_kwargs()
    return {"linger_ms": 5, "acks": "all", "max_batch_size": 1 << 20}


def tick_producer(embedded_broker: bool) -> dict[str, Any]:
    """Producer settings for the tick publisher: no client-side linger. ``TickPublisher``
    already batches per partition over ``BATCH_LINGER_MS`` and sends a flush's records in one
    go; a second linger in aiokafka would only hold every batch back that much longer."""
    return {**producer(embedded_broker), "linger_ms": 0}


def topic_layout(settings: Settings) -> dict[str, int]:
    """Every topic EchoArb writes, with its partition count (created up front: partitions
    cannot be added later without breaking co-partitioning, and Tansu cannot add them at all)."""
    s = settings
    topics = {s.tick_topic(v): s.partitions for v in ("kalshi", "polymarket", "manifold")}
    topics.update({s.topic_spreads: s.partitions, s.topic_spread_windows: s.partitions})
    topics.update({s.topic_dead_letter: 1, s.topic_control: 1})
    return topics


async def ensure_topics(bootstrap: str, settings: Settings) -> None:
    from echoarb.kafka.embedded import create_topics

    await create_topics(bootstrap, topic_layout(settings), replication_factor=settings.replication_factor)


async def end_offsets(bootstrap: str, partitions: list[Any], embedded_broker: bool) -> dict[Any, int]:
    """Log end offsets; from Fetch high watermarks on the embedded broker (its ListOffsets is wrong)."""
    from aiokafka import AIOKafkaConsumer

    client = AIOKafkaConsumer(bootstrap_servers=bootstrap, **consumer(embedded_broker))
    await client.start()
    try:
        if embedded_broker:
            from echoarb.kafka import tansu_compat

            return dict(await tansu_compat.end_offsets_via_fetch(client, partitions))
        return dict(await client.end_offsets(partitions))
    finally:
        await client.stop()
