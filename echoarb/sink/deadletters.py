"""Records the sink cannot store -> the dead-letter topic, payload and key untouched.

The headers are the shared ones (``echoarb.wire.deadletter``), after the record's own, so a
dead letter from the sink reads like one from the parser or the worker. Sends are
at-least-once: the caller commits the offsets only after every send was acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from echoarb.wire.deadletter import dead_letter_headers

if TYPE_CHECKING:
    from aiokafka import AIOKafkaProducer

log = logging.getLogger(__name__)

STAGE = "sink"


def headers_for(record: Any, reason: str) -> list[tuple[str, bytes]]:
    """The record's own headers, then why and where from."""
    return [
        *(record.headers or ()),
        *dead_letter_headers(reason, record.topic, record.partition, record.offset, stage=STAGE),
    ]


async def send(producer: AIOKafkaProducer, topic: str, dead: Sequence[tuple[Any, str]]) -> None:
    """Send every ``(record, reason)`` to ``topic``; returns once all are acknowledged."""
    futures = []
    for record, reason in dead:
        log.warning(
            "sink: %s[%d]@%d to dead-letter: %s", record.topic, record.partition, record.offset, reason
        )
        futures.append(
            await producer.send(
                topic, value=record.value, key=record.key, headers=headers_for(record, reason)
            )
        )
    await asyncio.gather(*futures)
