"""Wait for a Kafka cluster to answer before a role starts on it.

In a cluster the workers, the sink and ingest often start before the brokers are ready
(compose, Kubernetes). Instead of dying with a client traceback, a role retries with
jittered backoff, logs each attempt in one line, and gives up with one line after
``KAFKA_CONNECT_TIMEOUT_S``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError

from echoarb.resilience.backoff import Backoff

log = logging.getLogger("echoarb.kafka")


class KafkaUnreachable(RuntimeError):
    """The cluster did not answer a metadata request within the allowed time."""


async def _answers(bootstrap: str, request_timeout_s: float, client_kwargs: dict[str, Any]) -> str | None:
    """``None`` when a broker answered a metadata request, else the reason in one line."""
    client = AIOKafkaClient(
        bootstrap_servers=bootstrap, request_timeout_ms=int(request_timeout_s * 1000), **client_kwargs
    )
    # aiokafka logs an ERROR of its own for every refused connection: our one warning line per
    # attempt says the same, so its logger is quiet while we probe (nothing else runs yet).
    quiet = logging.getLogger("aiokafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        await asyncio.wait_for(client.bootstrap(), request_timeout_s + 1)
        return None
    except (KafkaError, OSError, TimeoutError) as exc:
        return _reason(exc)
    finally:
        await client.close()
        quiet.setLevel(level)


def _reason(exc: BaseException) -> str:
    """``Type: message`` once (aiokafka's messages already start with their type's name)."""
    name, text = type(exc).__name__, str(exc).strip()
    if not text:
        return name
    return text if text.startswith(name) else f"{name}: {text}"


async def wait_for_kafka(
    bootstrap: str,
    *,
    timeout_s: float,
    backoff: Backoff | None = None,
    client_kwargs: dict[str, Any] | None = None,
) -> None:
    """Return once ``bootstrap`` answers; raise :class:`KafkaUnreachable` after ``timeout_s``."""
    backoff = backoff or Backoff(base=0.25, cap=5.0)
    deadline = time.monotonic() + timeout_s
    attempt = 0
    while True:
        attempt += 1
        left = deadline - time.monotonic()
        reason = await _answers(bootstrap, max(0.5, min(5.0, left)), dict(client_kwargs or {}))
        if reason is None:
            if attempt > 1:
                log.info("Kafka at %s answers (after %d attempts)", bootstrap, attempt)
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise KafkaUnreachable(
                f"Kafka at {bootstrap} did not answer for {timeout_s:g}s "
                f"({attempt} attempts; last: {reason}); "
                "check KAFKA_BOOTSTRAP or raise KAFKA_CONNECT_TIMEOUT_S"
            )
        delay = min(left, max(0.1, backoff.next_delay()))
        log.warning("Kafka at %s not reachable yet (%s); retrying in %.1fs", bootstrap, reason, delay)
        await asyncio.sleep(delay)
