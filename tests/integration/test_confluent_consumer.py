"""An independent client reads ``spreads``: confluent-kafka's Schema-Registry-aware Avro
deserializer gets exactly the events that EchoArb's own decoder gets.

EchoArb writes the Confluent wire format (magic byte, schema id, Avro body) so that any
Confluent consumer can read its topics. Here the pipeline runs with ``SCHEMA_REGISTRY_URL``
set: every process registers its schemas over the registry's REST API and frames records
with the ids the registry hands out. The registry is confluent-kafka's own
mock client (``mock://``) behind the two REST calls EchoArb and a consumer use, and the
consumer is librdkafka (confluent-kafka), not aiokafka: nothing on the reading side is
EchoArb's code.
"""

from __future__ import annotations

import json
import re
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from echoarb.kafka.embedded import EmbeddedBroker
from echoarb.pairs import load_pairs
from echoarb.services.replay import run_replay
from echoarb.settings import Settings
from echoarb.wire.codec import SPREAD_EVENT, load_codecs
from echoarb.wire.records import spread_record_to_json

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "config" / "recordings" / "sample.jsonl"
PAIRS = ROOT / "config" / "market_pairs.json"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _registry_handler(registry: SchemaRegistryClient) -> type[BaseHTTPRequestHandler]:
    """The Schema Registry REST calls in use, answered by ``registry``."""

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            match = re.fullmatch(r"/subjects/([^/]+)/versions", self.path)
            if not match:
                self._reply(404, {"error_code": 404, "message": f"no route {self.path}"})
                return
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            schema_id = registry.register_schema(match[1], Schema(body["schema"], "AVRO"))
            self._reply(200, {"id": schema_id})

        def do_GET(self) -> None:
            match = re.fullmatch(r"/schemas/ids/(\d+)", self.path)
            try:
                if not match:
                    raise SchemaRegistryError(404, 40400, f"no route {self.path}")
                schema = registry.get_schema(int(match[1]))
            except SchemaRegistryError as exc:
                self._reply(404, {"error_code": exc.error_code, "message": exc.error_message})
                return
            self._reply(200, {"schema": schema.schema_str})

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test log for the pipeline

    return Handler


@pytest.fixture
def registry() -> Iterator[tuple[str, SchemaRegistryClient]]:
    client = SchemaRegistryClient.new_client({"url": "mock://echoarb-test"})  # the in-memory mock
    server = ThreadingHTTPServer(("127.0.0.1", 0), _registry_handler(client))
    thread = threading.Thread(target=server.serve_forever, name="schema-registry", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", client
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _settings(data_dir: Path, registry_url: str) -> Settings:
    run = uuid.uuid4().hex[:8]
    return Settings(
        data_dir=data_dir,
        clickhouse_database=f"cf_{run}",
        topic_ticks_prefix=f"cf-{run}.ticks.",
        topic_spreads=f"cf-{run}.spreads",
        topic_spread_windows=f"cf-{run}.spread-windows",
        topic_dead_letter=f"cf-{run}.dead-letter",
        topic_control=f"cf-{run}.control",
        partitions=4,
        pairs_file=PAIRS,
        schema_registry_url=registry_url,
    )


def _consume_all(bootstrap: str, topic: str, partitions: int, expected: int) -> list[bytes]:
    """Every record of ``topic`` read with librdkafka (assigned partitions: no group needed)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"confluent-{uuid.uuid4().hex[:6]}",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 10,  # the embedded broker holds a fetch for its full max wait
        }
    )
    values: list[bytes] = []
    try:
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        deadline = time.monotonic() + 60
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None:
                if len(values) >= expected and time.monotonic() - quiet_since > 2:
                    break  # everything expected arrived, and nothing more for 2 s
                continue
            assert message.error() is None, message.error()
            value = message.value()
            assert isinstance(value, bytes)
            values.append(value)
            quiet_since = time.monotonic()
    finally:
        consumer.close()
    return values


def _plain(value: Any) -> Any:
    """confluent-kafka applies Avro logical types (timestamp-millis -> datetime); EchoArb keeps ints."""
    if isinstance(value, datetime):
        return (value - EPOCH) // timedelta(milliseconds=1)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


async def test_confluent_avro_deserializer_reads_the_same_spreads(
    broker: EmbeddedBroker, chdb_data_dir: Path, tmp_path: Path, registry: tuple[str, SchemaRegistryClient]
) -> None:
    url, client = registry
    settings = _settings(chdb_data_dir, url)
    out = tmp_path / "spreads.jsonl"
    report = await run_replay(
        settings,
        load_pairs(PAIRS),
        SAMPLE,
        out,
        bootstrap=broker.bootstrap,
        embedded_broker=True,
        timeout=120,
    )
    replayed = [json.loads(line) for line in out.read_text().splitlines()]
    assert report.spreads == len(replayed) > 0
    assert any(e["executable"] for e in replayed)  # the known opportunity is among them

    registered = client.get_latest_version(SPREAD_EVENT)
    values = _consume_all(broker.bootstrap, settings.topic_spreads, settings.partitions, len(replayed))
    assert {struct.unpack(">bI", v[:5]) for v in values} == {(0, registered.schema_id)}

    deserialize = AvroDeserializer(client)
    ours = load_codecs(url).spread_event
    context = SerializationContext(settings.topic_spreads, MessageField.VALUE)
    theirs = []
    for value in values:
        record = _plain(deserialize(value, context))
        assert record == ours.decode(value)  # field for field, the same record as EchoArb's decoder
        theirs.append(spread_record_to_json(record))

    def key(event: dict[str, Any]) -> str:
        return json.dumps(event, sort_keys=True)

    # Every spread event the replay reported, and nothing else (duplicates only identical ones).
    assert {key(e) for e in theirs} == {key(e) for e in replayed}
