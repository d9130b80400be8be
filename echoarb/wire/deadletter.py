"""Dead-letter records: the original bytes plus headers that say why and where from.

Same shape as Kafka Connect's dead-letter queues (reason in headers, payload untouched),
so existing tooling can inspect and replay them.
"""

from __future__ import annotations


def dead_letter_headers(
    reason: str, topic: str, partition: int, offset: int, *, stage: str
) -> list[tuple[str, bytes]]:
    return [
        ("echoarb.error.reason", reason.encode()[:1000]),
        ("echoarb.error.topic", topic.encode()),
        ("echoarb.error.partition", str(partition).encode()),
        ("echoarb.error.offset", str(offset).encode()),
        ("echoarb.error.stage", stage.encode()),
    ]
