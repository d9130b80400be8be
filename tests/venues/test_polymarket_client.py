"""The real Polymarket connector against the Polymarket simulator over loopback sockets."""

from __future__ import annotations

import asyncio

from echoarb.venues.polymarket.client import PolymarketConnector, polymarket_connectors, shard
from echoarb.venues.polymarket.simulator import PolymarketSimulator
from echoarb.venues.simulator import parse_scenario
from tests.venues.live_helpers import FAST, metric, pairs, pipeline, stop, until


def _ids() -> list[str]:
    from echoarb.ingest.normalise import Normaliser

    return Normaliser(pairs()).instruments("polymarket")


def _sim(*scenarios: str) -> PolymarketSimulator:
    return PolymarketSimulator([parse_scenario(s) for s in scenarios], interval=0.005)


async def test_subscribes_all_tokens_pings_and_streams_ticks() -> None:
    pipe, publisher = pipeline()
    async with _sim("stream") as sim:
        connector = PolymarketConnector(sim.url(), _ids(), pipe.on_frame, FAST)
        tasks = [asyncio.create_task(connector.run()), asyncio.create_task(pipe.run())]
        try:
            await until(lambda: len(publisher.ticks) >= 30 and sim.pings >= 2, what="ticks and pings")
        finally:
            await stop(*tasks)
    assert sim.commands[0] == {"assets_ids": sorted(_ids()), "type": "market", "custom_feature_enabled": True}
    assert len(sim.commands[0]["assets_ids"]) == 5  # YES and NO tokens of every pair
    assert {t.pair_id for t in publisher.ticks} >= {"fed-rate-march", "pres-2028-dem", "btc-100k-june"}
    assert pipe.stats.parse_errors == 0  # PONG, array frames and all price_change formats parse
    # The venue's best bid/ask (per change and best_bid_ask) always agreed with the local books.
    assert pipe.handler.desyncs == {}
    assert pipe.handler.ignored[("polymarket", "best_bid_ask")] > 0


async def test_disconnect_reconnects_and_resubscribes() -> None:
    pipe, publisher = pipeline()
    async with _sim("updates:3,disconnect", "stream") as sim:
        connector = PolymarketConnector(sim.url(), _ids(), pipe.on_frame, FAST)
        tasks = [asyncio.create_task(connector.run()), asyncio.create_task(pipe.run())]
        try:
            await until(lambda: connector.sessions == 2, what="a second session")
            count = len(publisher.ticks)
            await until(lambda: len(publisher.ticks) > count + 5, what="ticks after the reconnect")
        finally:
            await stop(*tasks)
    subscribes = [c for c in sim.commands if c.get("type") == "market"]
    assert len(subscribes) == 2 and sim.connections == 2


async def test_silent_stall_times_out_and_reconnects() -> None:
    pipe, _ = pipeline()
    async with _sim("updates:2,stall", "stream") as sim:
        connector = PolymarketConnector(sim.url(), _ids(), pipe.on_frame, FAST)
        task = asyncio.create_task(connector.run())
        try:
            await until(
                lambda: connector.heartbeat_timeouts == 1 and connector.sessions == 2, what="reconnect"
            )
        finally:
            await stop(task)


async def test_malformed_frames_are_counted_and_the_stream_goes_on() -> None:
    pipe, publisher = pipeline()
    before = metric("echoarb_parse_errors_total", venue="polymarket", reason="invalid_json")
    async with _sim("updates:2,malformed,stream") as sim:
        connector = PolymarketConnector(sim.url(), _ids(), pipe.on_frame, FAST)
        tasks = [asyncio.create_task(connector.run()), asyncio.create_task(pipe.run())]
        try:
            await until(lambda: pipe.stats.parse_errors == 1, what="a parse error")
            count = len(publisher.ticks)
            await until(lambda: len(publisher.ticks) > count + 5, what="ticks after the malformed frame")
        finally:
            await stop(*tasks)
    assert metric("echoarb_parse_errors_total", venue="polymarket", reason="invalid_json") == before + 1
    assert connector.sessions == 1


def test_shards_split_the_assets_in_groups() -> None:
    ids = [f"a{i:02d}" for i in range(7)] + ["a00"]
    assert shard(ids, 3) == [["a00", "a01", "a02"], ["a03", "a04", "a05"], ["a06"]]
    assert shard([], 3) == []


async def test_each_shard_has_its_own_connection_and_reconnects_alone() -> None:
    pipe, publisher = pipeline()
    async with _sim("updates:3,disconnect", "stream") as sim:
        connectors = polymarket_connectors(sim.url(), _ids(), pipe.on_frame, FAST, max_assets=2)
        assert [len(c.asset_ids) for c in connectors] == [2, 2, 1]
        tasks = [asyncio.create_task(c.run()) for c in connectors] + [asyncio.create_task(pipe.run())]
        try:
            await until(lambda: sum(c.sessions for c in connectors) == 4, what="one shard reconnecting")
            await until(
                lambda: {t.pair_id for t in publisher.ticks} >= {"fed-rate-march", "pres-2028-dem"},
                what="ticks from every shard",
            )
        finally:
            await stop(*tasks)
    assert sorted(c.sessions for c in connectors) == [1, 1, 2]  # the others never noticed
    subscribes = [c["assets_ids"] for c in sim.commands if c.get("type") == "market"]
    assert sorted(a for ids in subscribes[:3] for a in ids) == sorted(_ids())
