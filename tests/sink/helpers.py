"""Records for sink tests, and a way to store them through the sink's real write path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiokafka import TopicPartition

from echoarb.sink.batches import Batch
from echoarb.sink.routes import Route, routes
from echoarb.wire.codec import load_codecs

if TYPE_CHECKING:
    from echoarb.sink.writer import ClickHouseWriter

MAX_MICROS = 10**18 - 1
CODECS = load_codecs()
ROUTES = routes(CODECS)


def spread_event(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": "ev-1",
        "pair_id": "fed-cut-2025-12",
        "kind": "binary",
        "legs": [
            {
                "venue": "kalshi",
                "side": "yes",
                "outcome": "",
                "best_price_micros": 410_000,
                "avg_price_micros": 412_345,
                "size_micros": 25_000_000,
            },
            {
                "venue": "polymarket",
                "side": "no",
                "outcome": "",
                "best_price_micros": None,
                "avg_price_micros": None,
                "size_micros": 0,
            },
        ],
        "gross_edge_micros": 40_001,
        "size_micros": 25_000_000,
        "cost_micros": 23_987_654,
        "fees_micros": 123_457,
        "net_profit_micros": 888_889,
        "net_edge_micros": -1,
        "executable": True,
        "quote_age_ms": 1_234,
        "event_ts": 1_733_000_000_123,
        "computed_at": 1_733_000_000_456,
    }
    record.update(overrides)
    return record


def window(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "pair_id": "fed-cut-2025-12",
        "window": "hopping",
        "window_start": 1_733_000_040_000,
        "window_end": 1_733_000_340_000,
        "events": 17,
        "max_net_edge_micros": 35_001,
        "best_size_micros": 12_000_001,
        "executable_ms": 4_321,
        "emitted_at": 1_733_000_341_999,
    }
    record.update(overrides)
    return record


@dataclass
class FakeRecord:
    offset: int
    value: bytes
    timestamp: int = 0


def fake_records(route: Route, records: list[dict[str, Any]], first: int = 100) -> list[FakeRecord]:
    """``records`` encoded as the producers encode them, at offsets from ``first``."""
    return [FakeRecord(first + i, route.codec.encode(r), 1_000 + i) for i, r in enumerate(records)]


def batch_of(route: Route, records: list[FakeRecord], topic: str = "t", partition: int = 0) -> Batch:
    """A batch of ``records`` as the buffers cut it (all live)."""
    rows = [1 if route.count is None else route.count(r.value) for r in records]
    return Batch(TopicPartition(topic, partition), route.table, list(records), rows)


def items(route: Route, records: list[dict[str, Any]], first: int = 100) -> Batch:
    """A batch of ``records`` encoded as the producers encode them, from offset ``first``."""
    return batch_of(route, fake_records(route, records, first))


def store(
    writer: ClickHouseWriter,
    table: str,
    records: list[dict[str, Any]],
    topic: str,
    partition: int = 0,
    first: int = 0,
    token: str | None = None,
) -> int:
    """Store ``records`` the way the sink does (Avro into the staging table, the view converts)."""
    route = ROUTES[table]
    batch = items(route, records, first)
    return writer.store(route, topic, partition, batch, token or f"{topic}-{partition}-{first}")
