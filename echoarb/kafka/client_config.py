"""Kafka client settings: per broker kind (Tansu workarounds) and the cluster's security.

Every Kafka client EchoArb opens takes its keyword arguments from here: the ingest
producer, the Faust worker (:func:`faust_credentials`) and its offset lookups, the sink's
consumer and dead-letter producer, replay, the topic admin and ``serve``. So SASL and TLS
set once in ``Settings`` reach all of them (``tests/kafka/test_security.py`` checks each).

Secrets: the SASL password and TLS key password go into the client objects only; nothing
here logs them, and :func:`describe` (what the CLI prints) names the mechanism and user.
"""

from __future__ import annotations

import ssl
from typing import Any

from echoarb.settings import Settings


class KafkaConfigError(ValueError):
    """Security settings that cannot be turned into a client configuration (e.g. a missing CA file)."""


def uses_security(settings: Settings) -> bool:
    """Security applies to a configured cluster only: the embedded broker is loopback plaintext."""
    return bool(settings.kafka_bootstrap) and not settings.embedded_broker


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context for ``SSL``/``SASL_SSL`` (system trust store unless a CA file is given)."""
    if settings.kafka_security_protocol not in ("SSL", "SASL_SSL"):
        return None
    from aiokafka.helpers import create_ssl_context

    for name, path in (
        ("KAFKA_SSL_CAFILE", settings.kafka_ssl_cafile),
        ("KAFKA_SSL_CERTFILE", settings.kafka_ssl_certfile),
        ("KAFKA_SSL_KEYFILE", settings.kafka_ssl_keyfile),
    ):
        if path is not None and not path.is_file():
            raise KafkaConfigError(f"{name}={path}: no such file")
    key_password = settings.kafka_ssl_key_password
    try:
        context = create_ssl_context(
            cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None,
            certfile=str(settings.kafka_ssl_certfile) if settings.kafka_ssl_certfile else None,
            keyfile=str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None,
            password=key_password.get_secret_value() if key_password else None,
        )
    except (ssl.SSLError, OSError) as exc:
        # The message names the file problem; it never contains the key password.
        raise KafkaConfigError(f"cannot load the Kafka TLS files: {exc}") from None
    context.check_hostname = settings.kafka_ssl_check_hostname
    result: ssl.SSLContext = context
    return result


def security(settings: Settings | None) -> dict[str, Any]:
    """aiokafka keyword arguments for the cluster's security (empty for the embedded broker)."""
    if settings is None or not uses_security(settings):
        return {}
    s = settings
    kwargs: dict[str, Any] = {"security_protocol": s.kafka_security_protocol}
    context = ssl_context(s)
    if context is not None:
        kwargs["ssl_context"] = context
    if s.kafka_security_protocol.startswith("SASL_"):
        assert s.kafka_sasl_password is not None  # Settings validated it
        kwargs.update(
            sasl_mechanism=s.kafka_sasl_mechanism,
            sasl_plain_username=s.kafka_sasl_username,
            sasl_plain_password=s.kafka_sasl_password.get_secret_value(),
        )
    return kwargs


def describe(settings: Settings) -> str:
    """One line for logs and the CLI: protocol, mechanism and user, never a secret."""
    if not uses_security(settings):
        return "plaintext (embedded broker)" if settings.embedded_broker else "plaintext"
    s = settings
    text: str = s.kafka_security_protocol
    if s.kafka_sasl_mechanism:
        text += f" {s.kafka_sasl_mechanism} as {s.kafka_sasl_username}"
    if s.kafka_ssl_certfile:
        text += f", client certificate {s.kafka_ssl_certfile}"
    return text


def consumer(embedded_broker: bool, settings: Settings | None = None) -> dict[str, Any]:
    """``AIOKafkaConsumer`` kwargs. ``settings`` is required for a real cluster (its security)."""
    if embedded_broker:
        from echoarb.kafka import tansu_compat

        return tansu_compat.aiokafka_consumer_kwargs()
    _require(settings, "consumer")
    return {"fetch_max_wait_ms": 50, **security(settings)}


def producer(embedded_broker: bool, settings: Settings | None = None) -> dict[str, Any]:
    """``AIOKafkaProducer`` kwargs. ``settings`` is required for a real cluster (its security)."""
    if embedded_broker:
        from echoarb.kafka import tansu_compat

        return tansu_compat.aiokafka_producer_kwargs()
    _require(settings, "producer")
    return {"linger_ms": 5, "acks": "all", "max_batch_size": 1 << 20, **security(settings)}


def admin(settings: Settings | None) -> dict[str, Any]:
    """``AIOKafkaAdminClient``/``AIOKafkaClient`` kwargs (topic creation, metadata)."""
    return {"request_timeout_ms": 10_000, **security(settings)}


def faust_credentials(settings: Settings) -> dict[str, Any]:
    """``faust.App`` options for the broker's security: ``broker_credentials`` (SASL and/or TLS).

    Faust hands ``broker_credentials`` to every client it opens (consumer, producer,
    changelog readers, its topic admin), so this one entry covers the whole worker.
    """
    options: dict[str, Any] = {}
    if not uses_security(settings):
        return options
    import faust

    s = settings
    context = ssl_context(s)
    if s.kafka_security_protocol.startswith("SASL_"):
        assert s.kafka_sasl_password is not None  # Settings validated it
        options["broker_credentials"] = faust.SASLCredentials(
            username=s.kafka_sasl_username,
            password=s.kafka_sasl_password.get_secret_value(),
            mechanism=s.kafka_sasl_mechanism,
            ssl_context=context,
        )
    elif context is not None:
        options["broker_credentials"] = faust.SSLCredentials(context)
    return options


def _require(settings: Settings | None, client: str) -> None:
    if settings is None:
        raise TypeError(
            f"a Kafka {client} for a real cluster needs the Settings (its SASL/TLS); pass settings="
        )


def tick_producer(embedded_broker: bool, settings: Settings | None = None) -> dict[str, Any]:
    """Producer settings for the tick publisher: no client-side linger. ``TickPublisher``
    already batches per partition over ``BATCH_LINGER_MS`` and sends a flush's records in one
    go; a second linger in aiokafka would only hold every batch back that much longer."""
    return {**producer(embedded_broker, settings), "linger_ms": 0}


def topic_layout(settings: Settings) -> dict[str, int]:
    """EchoArb's own topics with their partition counts (see :mod:`echoarb.kafka.topics`)."""
    from echoarb.kafka.topics import data_topics

    return {spec.name: spec.partitions for spec in data_topics(settings)}


async def ensure_topics(bootstrap: str, settings: Settings) -> None:
    """Create EchoArb's own topics that are missing (existing ones are left alone)."""
    from echoarb.kafka.topics import create_missing, data_topics

    await create_missing(bootstrap, settings, data_topics(settings))


async def end_offsets(
    bootstrap: str, partitions: list[Any], embedded_broker: bool, settings: Settings | None = None
) -> dict[Any, int]:
    """Log end offsets; from Fetch high watermarks on the embedded broker (its ListOffsets is wrong)."""
    from aiokafka import AIOKafkaConsumer

    client = AIOKafkaConsumer(bootstrap_servers=bootstrap, **consumer(embedded_broker, settings))
    await client.start()
    try:
        if embedded_broker:
            from echoarb.kafka import tansu_compat

            return dict(await tansu_compat.end_offsets_via_fetch(client, partitions))
        return dict(await client.end_offsets(partitions))
    finally:
        await client.stop()
