"""End to end: ``IngestService`` with all three connectors against the simulators, into the real broker."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from echoarb.ingest.frames import FrameHandler
from echoarb.ingest.live import IngestService
from echoarb.kafka import client_config
from echoarb.kafka.embedded import EmbeddedBroker
from echoarb.kafka.processes import free_port
from echoarb.settings import Settings
from echoarb.venues.kalshi.auth import generate_keypair, load_public_key
from echoarb.venues.kalshi.simulator import KalshiSimulator
from echoarb.venues.manifold.simulator import ManifoldSimulator
from echoarb.venues.polymarket.simulator import PolymarketSimulator
from echoarb.venues.recording import read_recording
from echoarb.venues.simulator import parse_scenario
from echoarb.wire.codec import load_codecs
from tests.venues.live_helpers import metric, pairs, until


def _settings(tmp_path: Path, private: Path, **urls: str) -> Settings:
    return Settings(
        kafka_bootstrap="x",  # unused: IngestService gets the bootstrap explicitly
        topic_ticks_prefix=f"ticks-{uuid.uuid4().hex[:8]}.",
        topic_dead_letter=f"dl-{uuid.uuid4().hex[:8]}",
        partitions=2,
        kalshi_api_key="key-1",
        kalshi_private_key_path=private,
        ingest_heartbeat_ms=50,
        reconnect_backoff_base_s=0.02,
        reconnect_backoff_cap_s=0.1,
        data_dir=tmp_path,
        **{"kalshi_api_url": "", "polymarket_gamma_url": "", "polymarket_clob_url": "", **urls},  # type: ignore[arg-type]
    )


async def _read_batches(
    bootstrap: str, settings: Settings
) -> tuple[dict[str, list[dict[str, Any]]], dict[tuple[str, int], list[dict[str, Any]]]]:
    """Every tick batch decoded, by venue and by (topic, partition) stream."""
    codec = load_codecs().tick_batch
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, **client_config.consumer(True))
    await consumer.start()
    out: dict[str, list[dict[str, Any]]] = {}
    streams: dict[tuple[str, int], list[dict[str, Any]]] = {}
    try:
        tps = [
            TopicPartition(settings.tick_topic(v), p)
            for v in ("kalshi", "polymarket", "manifold")
            for p in range(2)
        ]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, 0)
        idle = 0
        while idle < 3:
            batches = await consumer.getmany(timeout_ms=200, max_records=10_000)
            idle = 0 if batches else idle + 1
            for tp, records in batches.items():
                decoded = [codec.decode(r.value) for r in records]
                out.setdefault(tp.topic.rsplit(".", 1)[1], []).extend(decoded)
                streams.setdefault((tp.topic, tp.partition), []).extend(decoded)
    finally:
        await consumer.stop()
    return out, streams


async def _run_for(service: IngestService, predicate: Any, what: str) -> None:
    task = asyncio.create_task(service.run())
    try:
        await until(lambda: predicate() or task.done(), timeout=15, what=what)
        if task.done():
            task.result()
    finally:
        service.stop()
        await asyncio.wait_for(task, 15)


async def test_ingest_publishes_decodable_tick_batches_for_every_venue(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    private, public = generate_keypair(tmp_path / "keys")
    kalshi = await KalshiSimulator(
        load_public_key(public), [parse_scenario("updates:40,malformed,stream")], interval=0.005
    ).start()
    poly = await PolymarketSimulator([parse_scenario("stream")], interval=0.005).start()
    mani = await ManifoldSimulator([parse_scenario("stream")], interval=0.01).start()
    record = tmp_path / "live.jsonl"
    try:
        settings = _settings(
            tmp_path,
            private,
            kalshi_ws_url=kalshi.url(),
            polymarket_ws_url=poly.url(),
            manifold_ws_url=mani.url(),
            manifold_api_url=mani.api_url,
            kalshi_api_url=kalshi.http_url + "/trade-api/v2",
            polymarket_gamma_url=poly.http_url,
            polymarket_clob_url=poly.http_url,
        )
        service = IngestService(
            settings, pairs(), bootstrap=broker.bootstrap, embedded_broker=True, record=record
        )
        assert [p.venue for p in service.pollers] == ["kalshi", "polymarket"]
        assert service.venues == ["kalshi", "polymarket", "manifold"]
        stats = service.pipeline.stats
        await _run_for(
            service,
            lambda: (
                stats.ticks > 150
                and stats.parse_errors >= 1
                and all(c.frames > 10 for c in service.connectors)
                and all(p.rounds >= 1 for p in service.pollers)
            ),
            "ticks from every venue",
        )
        metadata = service.health()[1]["metadata"]
    finally:
        for sim in (kalshi, poly, mani):
            await sim.stop()
    batches, streams = await _read_batches(broker.bootstrap, settings)
    assert set(batches) == {"kalshi", "polymarket", "manifold"}
    ticks: Counter[str] = Counter()
    for venue, records in batches.items():
        for batch in records:
            assert batch["venue"] == venue and batch["producer_id"] == service.run_id
            assert all(t["pair_id"] for t in batch["ticks"])
            ticks[venue] += len(batch["ticks"])
    assert sum(ticks.values()) == stats.ticks == service.publisher.ticks_sent  # nothing lost on the way
    assert all(ticks[v] > 0 for v in ("kalshi", "polymarket", "manifold"))
    # Live streams never end; watermarks only move forward per (venue, partition) stream.
    assert not any(b["end_of_stream"] for records in batches.values() for b in records)
    for stream in streams.values():
        marks = [b["watermark"] for b in stream]
        assert marks == sorted(marks) and marks[0] > 0
    # The recording replays byte for byte through the same parsers into the same ticks.
    frames = list(read_recording(record))
    assert len(frames) == stats.frames
    assert any(f.source == "rest" and f.path == "/slug/will-fed-cut-rates-march" for f in frames)
    # Market metadata was read over REST at start-up, recorded, and is replayed like any frame.
    assert any(f.venue == "kalshi" and f.path == "/markets/FED-25MAR-T4.75" for f in frames)
    assert any(
        f.venue == "polymarket" and (f.path or "").startswith("/markets?clob_token_ids=") for f in frames
    )
    assert metadata["kalshi"]["failures"] == 0 and metadata["kalshi"]["rounds"] >= 1
    assert metadata["polymarket"]["failures"] == 0
    handler = FrameHandler(pairs())
    replayed = sum(
        len(handler.handle(f.venue, f.frame, f.recv_ts, source=f.source, path=f.path).ticks) for f in frames
    )
    assert replayed == stats.ticks
    assert metric("echoarb_messages_received_total", venue="manifold") > 0
    assert metric("echoarb_ingest_latency_seconds_count") > 0


async def test_one_venue_down_the_others_still_publish(broker: EmbeddedBroker, tmp_path: Path) -> None:
    private, public = generate_keypair(tmp_path / "keys")
    kalshi = await KalshiSimulator(
        load_public_key(public), [parse_scenario("stream")], interval=0.005
    ).start()
    mani = await ManifoldSimulator([parse_scenario("stream")], interval=0.01).start()
    dead = f"ws://127.0.0.1:{free_port()}/ws/market"  # Polymarket is unreachable
    try:
        settings = _settings(
            tmp_path,
            private,
            kalshi_ws_url=kalshi.url(),
            polymarket_ws_url=dead,
            manifold_ws_url=mani.url(),
            manifold_api_url=mani.api_url,
        )
        service = IngestService(settings, pairs(), bootstrap=broker.bootstrap, embedded_broker=True)
        poly = service.connector("polymarket")
        await _run_for(
            service,
            lambda: (
                poly.reconnects >= 3
                and service.connector("kalshi").frames > 20
                and service.connector("manifold").frames > 10
            ),
            "kalshi and manifold frames while polymarket is down",
        )
    finally:
        await kalshi.stop()
        await mani.stop()
    batches, _ = await _read_batches(broker.bootstrap, settings)
    assert sum(len(b["ticks"]) for b in batches.get("kalshi", [])) > 0
    assert sum(len(b["ticks"]) for b in batches.get("manifold", [])) > 0
    assert sum(len(b["ticks"]) for b in batches.get("polymarket", [])) == 0
    assert "Connect call failed" in (poly.last_error or "")


async def test_kalshi_without_a_key_publishes_public_only_top_of_book_ticks(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    """No key at all: the service starts, Kalshi runs public-only, its ticks are never in sync."""
    _, public = generate_keypair(tmp_path / "keys")
    kalshi = await KalshiSimulator(
        load_public_key(public), [parse_scenario("stream")], interval=0.005
    ).start()
    try:
        settings = _settings(
            tmp_path,
            tmp_path / "unused.pem",
            kalshi_ws_url=kalshi.url(),
            kalshi_api_url=kalshi.http_url + "/trade-api/v2",
        ).model_copy(update={"kalshi_api_key": None, "kalshi_private_key_path": None})
        service = IngestService(
            settings, pairs(), bootstrap=broker.bootstrap, embedded_broker=True, venues=["kalshi"]
        )
        connector = service.connector("kalshi")
        assert getattr(connector, "public_only", False)
        await _run_for(
            service,
            lambda: service.pipeline.stats.ticks > 20 and all(p.rounds >= 1 for p in service.pollers),
            "public-only Kalshi ticks",
        )
    finally:
        await kalshi.stop()
    assert kalshi.rejected == []
    assert [c["params"]["channels"] for c in kalshi.commands if c.get("cmd") == "subscribe"] == [
        ["ticker"],
        ["market_lifecycle_v2"],
    ]
    batches, _ = await _read_batches(broker.bootstrap, settings)
    ticks = [t for b in batches["kalshi"] for t in b["ticks"]]
    assert ticks and all(t["in_sync"] is False for t in ticks)
    assert all(len(t["yes_asks"]) <= 1 and len(t["no_asks"]) <= 1 for t in ticks)
