"""``echoarb serve`` against the real broker: REST, docs, health, metrics and the WebSocket feed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiokafka import AIOKafkaProducer

from echoarb.kafka import client_config
from echoarb.kafka.embedded import EmbeddedBroker
from echoarb.serve.app import ServeService
from echoarb.serve.source import SpreadSource
from echoarb.serve.state import SpreadState
from echoarb.settings import Settings
from echoarb.wire.codec import load_codecs
from tests.serve.helpers import spread_record

CODECS = load_codecs()


def run_settings(tmp_path: Any) -> Settings:
    run = uuid.uuid4().hex[:8]
    return Settings(
        topic_spreads=f"spreads-{run}",
        topic_ticks_prefix=f"ticks-{run}.",
        topic_spread_windows=f"windows-{run}",
        topic_dead_letter=f"dl-{run}",
        topic_control=f"control-{run}",
        partitions=2,
        data_dir=tmp_path,
    )


class Running:
    def __init__(self, service: ServeService, producer: AIOKafkaProducer, settings: Settings) -> None:
        self.service = service
        self.producer = producer
        self.settings = settings
        self.base = f"http://127.0.0.1:{service.port}"

    async def send(self, record: dict[str, Any]) -> None:
        await self.producer.send_and_wait(
            self.settings.topic_spreads, CODECS.spread_event.encode(record), key=record["pair_id"].encode()
        )

    async def wait_events(self, count: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while self.service.state.events < count:
                await asyncio.sleep(0.02)


@pytest.fixture
async def served(broker: EmbeddedBroker, tmp_path: Any) -> AsyncIterator[Running]:
    settings = run_settings(tmp_path)
    await client_config.ensure_topics(broker.bootstrap, settings)
    source = SpreadSource(
        settings,
        broker.bootstrap,
        CODECS,
        SpreadState({"fed-rate-march", "btc-100k-june"}),
        consumer_kwargs=client_config.consumer(True),
        from_beginning=True,
    )
    service = ServeService(source, port=0, max_queue=100)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, **client_config.producer(True))
    await producer.start()
    await service.start()
    try:
        yield Running(service, producer, settings)
    finally:
        await service.stop()
        await producer.stop()


async def test_rest_endpoints_filters_docs_health_and_metrics(served: Running) -> None:
    await served.send(spread_record("fed-rate-march", yes_price="0.40", no_price="0.50"))
    await served.send(
        spread_record(
            "fed-rate-march",
            yes="polymarket",
            no="kalshi",
            executable=False,
            yes_price="0.55",
            no_price="0.50",
            fees="0",
        )
    )
    await served.send(spread_record("btc-100k-june", yes_price="0.30", no_price="0.60"))
    await served.wait_events(3)
    async with aiohttp.ClientSession(served.base) as http:
        async with http.get("/health") as r:
            assert r.status == 200 and (await r.json())["spread_events"] == 3
        async with http.get("/api/spreads") as r:
            body = await r.json()
        assert body["count"] == 3
        assert [s["pair_id"] for s in body["spreads"]] == [
            "btc-100k-june",
            "fed-rate-march",
            "fed-rate-march",
        ]
        async with http.get("/api/spreads", params={"executable": "true", "min_edge": "0.05"}) as r:
            assert [s["pair_id"] for s in (await r.json())["spreads"]] == ["btc-100k-june", "fed-rate-march"]
        async with http.get("/api/spreads?pair=fed-rate-march&executable=false") as r:
            only = (await r.json())["spreads"]
        assert len(only) == 1 and only[0]["legs"][0]["venue"] == "polymarket"
        async with http.get("/api/spreads?min_edge=abc") as r:
            assert r.status == 400 and "min_edge" in (await r.json())["error"]
        async with http.get("/api/pairs/fed-rate-march") as r:
            pair = await r.json()
        assert (
            r.status == 200 and len(pair["opportunities"]) == 2 and pair["last_event"]["executable"] is False
        )
        async with http.get("/api/pairs/no-such-pair") as r:
            assert r.status == 404 and "no-such-pair" in (await r.json())["error"]
        async with http.get("/metrics") as r:
            text = await r.text()
        assert 'echoarb_spread_events_total{pair="fed-rate-march"} 2.0' in text
        assert 'echoarb_executable_opportunities{pair="fed-rate-march"} 1.0' in text
        assert "echoarb_message_latency_seconds_count 3.0" in text
        async with http.get("/openapi.json") as r:
            doc = await r.json()
        routed = {
            res.canonical
            for res in served.service.app.router.resources()
            if not res.canonical.startswith(("/static", "/docs"))
            and res.canonical not in ("/", "/openapi.json")
        }
        assert set(doc["paths"]) == {p.replace("{pair_id}", "{pair_id}") for p in routed}
        async with http.get("/docs") as r:
            assert r.status == 200 and "swagger-ui-bundle.js" in await r.text()
        async with http.get("/docs/static/swagger-ui-bundle.js") as r:
            assert r.status == 200
        async with http.get("/") as r:
            assert r.status == 200 and "board.js" in await r.text()


async def test_websocket_snapshot_then_live_events_with_filters(served: Running) -> None:
    await served.send(spread_record("fed-rate-march", yes_price="0.40", no_price="0.50"))
    await served.send(spread_record("btc-100k-june", executable=False, yes_price="0.50", no_price="0.50"))
    await served.wait_events(2)
    async with aiohttp.ClientSession(served.base) as http:
        everything = await http.ws_connect("/ws/spreads")
        executable = await http.ws_connect("/ws/spreads?executable=true&pair=btc-100k-june")
        snap = await everything.receive_json(timeout=5)
        assert snap["type"] == "snapshot" and len(snap["data"]) == 2
        snap2 = await executable.receive_json(timeout=5)
        assert snap2["data"] == []
        live = spread_record("btc-100k-june", yes_price="0.30", no_price="0.60")
        await served.send(live)
        got = await everything.receive_json(timeout=5)
        assert got["type"] == "spread" and got["data"]["id"] == live["id"]
        got2 = await executable.receive_json(timeout=5)
        assert got2["data"]["id"] == live["id"] and got2["data"]["net_profit"] == "8.5"
        await served.send(spread_record("fed-rate-march"))  # filtered out for the second client
        await everything.receive_json(timeout=5)
        with pytest.raises(asyncio.TimeoutError):
            await executable.receive_json(timeout=0.5)


async def test_bad_filter_on_websocket_is_400(served: Running) -> None:
    async with aiohttp.ClientSession(served.base) as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await http.ws_connect("/ws/spreads?executable=perhaps")
        assert info.value.status == 400
