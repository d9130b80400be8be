"""Confluent-framed Avro records -> one Avro Object Container payload for ``FORMAT Avro``.

ClickHouse parses Avro in C++ far faster than Python decodes it, so the sink hands over the
datums untouched. Two things are added per record, as plain Avro encoding:

* the Kafka coordinates, as leading fields ``_topic``, ``_partition``, ``_offset`` of an
  envelope record whose other fields are those of the record's schema (a record's encoding is
  its fields' encodings in order, so prefix + datum is a valid envelope datum). ``_offset`` is
  an 8-byte little-endian ``fixed``, which ClickHouse reads into an Int64 column: one C call
  per record where a varint costs a Python loop. The record's 5-byte Confluent header stays
  in place as a ``fixed`` field ``_confluent`` that no staging column names, so ClickHouse
  skips it: the value is passed on whole instead of being sliced (a copy) per record;
* a container block of its own: a datum that is corrupt or has trailing bytes then fails or is
  cut off alone, as in a per-record decode, instead of shifting every record after it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any, Protocol

from echoarb.wire.codec import MAGIC, AvroCodec

HEADER_SIZE = 5  # magic byte + 4-byte schema id


class Framed(Protocol):
    """A Kafka record as the container needs it (aiokafka's ``ConsumerRecord`` is one)."""

    @property
    def offset(self) -> int: ...

    @property
    def value(self) -> bytes: ...


_BYTES = [bytes([i]) for i in range(128)]


def zigzag(value: int) -> bytes:
    """Avro ``long`` encoding: zig-zag, then 7-bit groups, least significant first."""
    n = (value << 1) ^ (value >> 63)
    if n < 0x80:
        return _BYTES[n]
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _avro_string(text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return zigzag(len(data)) + data


def _clean(node: Any) -> Any:
    """fastavro's parsed schema without its private ``__`` keys: plain Avro JSON."""
    if isinstance(node, dict):
        return {k: _clean(v) for k, v in node.items() if not k.startswith("__")}
    if isinstance(node, list):
        return [_clean(v) for v in node]
    return node


def envelope_schema(codec: AvroCodec) -> dict[str, Any]:
    """The codec's record schema with the Kafka coordinates as first fields."""
    schema = _clean(codec.schema)
    coordinates = [
        {"name": "_topic", "type": "string"},
        {"name": "_partition", "type": "long"},
        {"name": "_offset", "type": {"type": "fixed", "name": "io.echoarb.sink.KafkaOffset", "size": 8}},
        {
            "name": "_confluent",
            "type": {"type": "fixed", "name": "io.echoarb.sink.ConfluentHeader", "size": HEADER_SIZE},
        },
    ]
    return {**schema, "name": f"{schema['name']}Staged", "fields": coordinates + schema["fields"]}


class AvroContainer:
    """Builds container payloads for one codec (one schema id): cheap byte concatenation only."""

    def __init__(self, codec: AvroCodec) -> None:
        self.codec = codec
        self.prefix = bytes([MAGIC]) + codec.schema_id.to_bytes(4, "big")
        schema = json.dumps(envelope_schema(codec), separators=(",", ":")).encode()
        self.sync = hashlib.md5(schema).digest()  # any 16 bytes; fixed so payloads are reproducible
        metadata = (
            zigzag(2)
            + _avro_string("avro.schema")
            + _avro_string(schema)
            + _avro_string("avro.codec")
            + _avro_string("null")
            + zigzag(0)
        )
        self.header = b"Obj\x01" + metadata + self.sync

    def framed(self, value: bytes | None) -> bool:
        """Whether ``value`` carries this codec's Confluent header (else decode it to learn why)."""
        return value is not None and len(value) > HEADER_SIZE and value.startswith(self.prefix)

    def payload(self, topic: str, partition: int, records: Iterable[Framed]) -> bytes:
        """One block per record (its ``offset`` and framed ``value``); values must pass ``framed``.

        Per record: a block head (object count, block size, coordinates; the same for every
        value of one length, so built once per length), the offset, the value, the sync marker.
        """
        coordinates = _avro_string(topic) + zigzag(partition)
        extra = len(coordinates) + 8
        heads: dict[int, bytes] = {}
        end = self.sync
        parts = [self.header]
        append = parts.append
        for record in records:
            value = record.value
            head = heads.get(len(value))
            if head is None:
                # b"\x02": one object in the block, then the block's byte size
                head = heads[len(value)] = b"\x02" + zigzag(len(value) + extra) + coordinates
            append(head)
            append(record.offset.to_bytes(8, "little"))
            append(value)
            append(end)
        return b"".join(parts)


def read_long(data: bytes, pos: int) -> tuple[int, int]:
    """Decode an Avro ``long`` at ``pos``: (value, position after it). ``IndexError`` if cut off."""
    shift = n = 0
    while True:
        byte = data[pos]
        pos += 1
        n |= (byte & 0x7F) << shift
        if byte < 0x80:
            return (n >> 1) ^ -(n & 1), pos
        shift += 7
        if shift > 63:
            raise ValueError("Avro long longer than 10 bytes")
