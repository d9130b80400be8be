"""Dead-letter records: the original bytes plus headers that say why and where from.

Same shape as Kafka Connect's dead-letter queues (reason in headers, payload untouched),
so existing tooling can inspect and replay them. Every stage that dead-letters (parse, worker,
sink) builds its headers here, so they cannot drift apart.
"""

from __future__ import annotations

MAX_REASON_BYTES = 1_000  # a reason is a one-line explanation; Kafka headers should stay small


def cut_utf8(text: str, limit: int = MAX_REASON_BYTES) -> bytes:
    """``text`` as UTF-8, at most ``limit`` bytes, never ending inside a character.

    The cut is in bytes because the header's size is what matters, and it backs off to a
    character boundary so the header always decodes as UTF-8. Lone surrogates (a reason built
    from undecodable input) are written as backslash escapes rather than failing the send.
    """
    data = text.encode("utf-8", "backslashreplace")
    if len(data) <= limit:
        return data
    cut = limit
    while cut > 0 and data[cut] & 0xC0 == 0x80:  # data[cut] continues the character before it
        cut -= 1
    return data[:cut]


def dead_letter_headers(
    reason: str, topic: str, partition: int, offset: int, *, stage: str
) -> list[tuple[str, bytes]]:
    return [
        ("echoarb.error.reason", cut_utf8(reason)),
        ("echoarb.error.topic", topic.encode()),
        ("echoarb.error.partition", str(partition).encode()),
        ("echoarb.error.offset", str(offset).encode()),
        ("echoarb.error.stage", stage.encode()),
    ]
