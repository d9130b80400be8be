"""Avro encoding in the Confluent wire format: magic byte 0, 4-byte big-endian schema id, body.

The codec knows schemas and framing, nothing about topics or clients. Schema ids come
from a Schema Registry when one is configured, else from ``schemas/manifest.json``, so
any Confluent-compatible consumer can read EchoArb's topics.
"""

from __future__ import annotations

import io
import json
import struct
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro

from echoarb.resources import SCHEMAS_DIR

MAGIC = 0
_HEADER = struct.Struct(">bI")

TICK_BATCH = "io.echoarb.TickBatch"
SPREAD_EVENT = "io.echoarb.SpreadEvent"
SPREAD_WINDOW = "io.echoarb.SpreadWindow"
TICK = "io.echoarb.Tick"
CONTROL = "io.echoarb.Control"


class CodecError(ValueError):
    """A record could not be encoded or decoded; the message says why."""


def _definitions(node: Any, found: dict[str, Any], namespace: str) -> None:
    if isinstance(node, dict):
        if node.get("type") in ("record", "enum", "fixed") and "name" in node:
            ns = node.get("namespace", namespace)
            name = node["name"] if "." in node["name"] else f"{ns}.{node['name']}"
            found.setdefault(name, node)
            namespace = ns
        for value in node.values():
            _definitions(value, found, namespace)
    elif isinstance(node, list):
        for value in node:
            _definitions(value, found, namespace)


def _inline(node: Any, definitions: dict[str, Any], defined: set[str]) -> Any:
    """Replace references to named types defined elsewhere by their definition (first use)."""
    if isinstance(node, str) and node in definitions and node not in defined:
        return _inline(definitions[node], definitions, defined)
    if isinstance(node, dict):
        if node.get("type") in ("record", "enum", "fixed") and "name" in node:
            ns = node.get("namespace", "io.echoarb")
            full = node["name"] if "." in node["name"] else f"{ns}.{node['name']}"
            if full in defined:
                return full
            defined.add(full)
        return {key: _inline(value, definitions, defined) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(value, definitions, defined) for value in node]
    return node


def load_schema_json(name: str, schemas_dir: Path = SCHEMAS_DIR) -> dict[str, Any]:
    """A self-contained schema (named types of other files inlined), as a registry wants it."""
    manifest = json.loads((schemas_dir / "manifest.json").read_text())["schemas"]
    definitions: dict[str, Any] = {}
    for entry in manifest.values():
        _definitions(json.loads((schemas_dir / entry["file"]).read_text()), definitions, "io.echoarb")
    schema = json.loads((schemas_dir / manifest[name]["file"]).read_text())
    result: dict[str, Any] = _inline(schema, definitions, set())
    return result


@dataclass(frozen=True)
class AvroCodec:
    """Encodes and decodes one record type with a fixed schema id."""

    name: str
    schema_id: int
    schema: Any  # fastavro parsed schema (plain Avro once cleaned: the sink's container uses it)
    # The same schema with named types used twice (Level in yes_asks and no_asks, Venue in the
    # batch and each tick) inlined at every use: fastavro then skips a name look-up and a call
    # per value (~10% of a TickBatch encode, ~20% of its decode), for the same bytes and the
    # same records. Not valid as Avro JSON (a name defined twice): for fastavro only.
    expanded: Any = None

    @property
    def header(self) -> bytes:
        """The Confluent framing every record of this codec starts with (magic byte, schema id):
        enough to tell its records from another codec's without decoding them."""
        return _HEADER.pack(MAGIC, self.schema_id)

    def encode(self, record: dict[str, Any]) -> bytes:
        out = io.BytesIO()
        out.write(_HEADER.pack(MAGIC, self.schema_id))
        try:
            fastavro.schemaless_writer(out, self.expanded or self.schema, record)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise CodecError(f"cannot encode {self.name}: {exc}") from exc
        return out.getvalue()

    def decode(self, data: bytes | None) -> dict[str, Any]:
        if data is None or len(data) < _HEADER.size:
            raise CodecError(f"{self.name}: record too short for the Confluent wire format")
        magic, schema_id = _HEADER.unpack_from(data)
        if magic != MAGIC:
            raise CodecError(f"{self.name}: bad magic byte {magic} (not Confluent wire format)")
        if schema_id != self.schema_id:
            raise CodecError(f"{self.name}: schema id {schema_id}, expected {self.schema_id}")
        body = io.BytesIO(data)  # shares the bytes (no copy, unlike a memoryview slice)
        body.seek(_HEADER.size)
        try:
            record: Any = fastavro.schemaless_reader(body, self.expanded or self.schema, None)
        except (ValueError, TypeError, EOFError, IndexError, StopIteration, UnicodeDecodeError) as exc:
            raise CodecError(f"{self.name}: body does not decode: {exc!r}") from exc
        if not isinstance(record, dict):
            raise CodecError(f"{self.name}: body is not a record")
        return record


def _strip_logical(node: Any) -> Any:
    if isinstance(node, dict):
        if "logicalType" in node and isinstance(node.get("type"), str):
            return node["type"]
        return {key: _strip_logical(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_strip_logical(value) for value in node]
    return node


SchemaIdResolver = Callable[[str, dict[str, Any]], int]


def manifest_ids(schemas_dir: Path = SCHEMAS_DIR) -> SchemaIdResolver:
    manifest = json.loads((schemas_dir / "manifest.json").read_text())["schemas"]

    def resolve(name: str, schema: dict[str, Any]) -> int:
        return int(manifest[name]["id"])

    return resolve


def registry_ids(url: str, timeout: float = 10.0) -> SchemaIdResolver:
    """Register (idempotently) each schema under subject ``<full name>`` and use its id."""

    def resolve(name: str, schema: dict[str, Any]) -> int:
        body = json.dumps({"schema": json.dumps(schema)}).encode()
        request = urllib.request.Request(
            f"{url.rstrip('/')}/subjects/{name}/versions",
            data=body,
            headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return int(json.load(response)["id"])
        except OSError as exc:
            raise CodecError(f"schema registry {url}: cannot register {name}: {exc}") from exc

    return resolve


@dataclass(frozen=True)
class Codecs:
    tick_batch: AvroCodec
    spread_event: AvroCodec
    spread_window: AvroCodec
    control: AvroCodec  # see echoarb.wire.control


def load_codecs(registry_url: str | None = None, schemas_dir: Path = SCHEMAS_DIR) -> Codecs:
    resolve = registry_ids(registry_url) if registry_url else manifest_ids(schemas_dir)

    def codec(name: str) -> AvroCodec:
        schema = load_schema_json(name, schemas_dir)
        # Logical types do not change the binary encoding; without them timestamps stay
        # epoch-ms ints on both sides (no datetime round trip on the hot path).
        plain = _strip_logical(schema)
        return AvroCodec(
            name,
            resolve(name, schema),
            fastavro.parse_schema(plain),
            fastavro.parse_schema(plain, expand=True),
        )

    return Codecs(codec(TICK_BATCH), codec(SPREAD_EVENT), codec(SPREAD_WINDOW), codec(CONTROL))
