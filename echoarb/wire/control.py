"""The control topic's messages (schema ``schemas/control.avsc``): one encoder, one decoder.

A worker writes an end-of-stream marker when it has processed a finite replay's last tick
batch on a partition; the replay (``echoarb.services.replay``) and the benchmark
(``bench/pipeline.py``) wait for one per partition before they read the outputs up to the
offsets it names. Written and read here only, so the three cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from echoarb.wire.codec import AvroCodec

END_OF_STREAM = "end_of_stream"


@dataclass(frozen=True, slots=True)
class EndOfStream:
    """Partition ``partition`` of producer ``producer_id``'s ticks is fully processed."""

    producer_id: str
    partition: int
    last_offsets: Mapping[str, int]  # output topic -> offset of the last record sent (-1: none)
    ticks_processed: int = 0
    decode_errors: int = 0


def encode_control(codec: AvroCodec, message: EndOfStream) -> bytes:
    return codec.encode(
        {
            "type": END_OF_STREAM,
            "producer_id": message.producer_id,
            "partition": message.partition,
            "last_offsets": dict(message.last_offsets),
            "ticks_processed": message.ticks_processed,
            "decode_errors": message.decode_errors,
        }
    )


def decode_control(codec: AvroCodec, data: bytes | None) -> EndOfStream | None:
    """The end-of-stream marker in ``data``; None for a kind of control message it does not know.

    Raises ``echoarb.wire.codec.CodecError`` for bytes that are not a control record (such as
    a JSON marker of a worker from before the schema).
    """
    record: dict[str, Any] = codec.decode(data)
    if record["type"] != END_OF_STREAM:
        return None
    return EndOfStream(
        producer_id=record["producer_id"],
        partition=record["partition"],
        last_offsets=dict(record["last_offsets"]),
        ticks_processed=record["ticks_processed"],
        decode_errors=record["decode_errors"],
    )
