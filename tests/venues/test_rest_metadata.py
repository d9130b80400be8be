"""REST market metadata and Polymarket REST resyncs against the simulators' real HTTP side.

Every request crosses a loopback socket to the venue simulator, which answers in the venue's
REST shapes (Kalshi ``/trade-api/v2/markets/{ticker}``, Gamma ``/markets?clob_token_ids=``,
CLOB ``/book?token_id=``); the bodies go through the same pipeline as WebSocket frames.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from pathlib import Path

import pytest

from echoarb.ingest.normalise import Normaliser
from echoarb.resilience.backoff import Backoff
from echoarb.resilience.ratelimit import TokenBucket
from echoarb.venues.connector import FrameSink
from echoarb.venues.kalshi.auth import load_public_key
from echoarb.venues.kalshi.client import metadata_requests as kalshi_requests
from echoarb.venues.kalshi.simulator import KalshiSimulator
from echoarb.venues.polymarket.client import PolymarketConnector
from echoarb.venues.polymarket.client import metadata_requests as gamma_requests
from echoarb.venues.polymarket.simulator import PolymarketSimulator
from echoarb.venues.rest import MetadataPoller, RestClient, RestRequest
from echoarb.venues.simulator import parse_scenario
from tests.venues.live_helpers import FAST, keypair, metric, pairs, pipeline, stop, until

FED = "FED-25MAR-T4.75"


def _instruments(venue: str) -> list[str]:
    return Normaliser(pairs()).instruments(venue)


def _bucket() -> TokenBucket:
    return TokenBucket(1000.0, 100.0)


def _poller(
    client: RestClient, requests: list[RestRequest], sink: FrameSink, refresh_s: float = 0.0
) -> MetadataPoller:
    return MetadataPoller(client, requests, sink, refresh_s=refresh_s, backoff=Backoff(0.01, 0.05))


async def _kalshi_sim(tmp_path: Path) -> KalshiSimulator:
    _, public = keypair(tmp_path)
    return await KalshiSimulator(load_public_key(public), [parse_scenario("stream")], interval=0.005).start()


async def test_kalshi_metadata_sets_close_time_status_and_tick(tmp_path: Path) -> None:
    pipe, _ = pipeline()
    sim = await _kalshi_sim(tmp_path)
    try:
        sim.market_overrides[FED] = {"status": "inactive"}  # paused by the venue
        client = RestClient("kalshi", sim.http_url + "/trade-api/v2", bucket=_bucket())
        tickers = _instruments("kalshi")
        poller = _poller(client, kalshi_requests(tickers), pipe.on_frame)
        await asyncio.wait_for(poller.run(), 10)  # start-up only: one round, then it returns
    finally:
        await sim.stop()
    assert sorted(sim.rest_requests) == sorted(f"/trade-api/v2/markets/{t}" for t in tickers)
    assert client.failures == 0 and poller.rounds == 1 and poller.delivered == len(tickers)
    kalshi = pipe.handler._kalshi
    _, close_s = sim.times(FED)
    assert kalshi.close_ms(FED) == close_s * 1000
    assert kalshi.market_status(FED) == "halted"
    other = next(t for t in tickers if t != FED)
    assert kalshi.market_status(other) == "open"
    rule = kalshi.tick_rule(FED)
    assert rule is not None and rule.allows(Decimal("0.41")) and not rule.allows(Decimal("0.415"))
    assert pipe.stats.parse_errors == 0


async def test_kalshi_metadata_refreshes_periodically_and_follows_changes(tmp_path: Path) -> None:
    pipe, _ = pipeline()
    sim = await _kalshi_sim(tmp_path)
    client = RestClient("kalshi", sim.http_url + "/trade-api/v2", bucket=_bucket())
    poller = _poller(client, kalshi_requests([FED]), pipe.on_frame, refresh_s=0.02)
    task = asyncio.create_task(poller.run())
    try:
        await until(lambda: poller.rounds >= 1, what="the start-up round")
        assert pipe.handler._kalshi.market_status(FED) == "open"
        sim.market_overrides[FED] = {"status": "closed"}
        await until(lambda: pipe.handler._kalshi.market_status(FED) == "closed", what="the venue's close")
        assert poller.rounds >= 2
    finally:
        await stop(task)
        await sim.stop()


async def test_rest_failure_is_one_line_and_a_counter_and_the_feed_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from echoarb.venues.kalshi.auth import load_private_key
    from echoarb.venues.kalshi.client import KalshiConnector

    private, public = keypair(tmp_path)
    pipe, publisher = pipeline()
    sim = await KalshiSimulator(load_public_key(public), [parse_scenario("stream")], interval=0.005).start()
    sim.rest_fail_status = 503
    before = metric("echoarb_venue_rest_failures_total", venue="kalshi", endpoint="markets")
    client = RestClient("kalshi", sim.http_url + "/trade-api/v2", bucket=_bucket())
    poller = _poller(client, kalshi_requests([FED]), pipe.on_frame, refresh_s=10.0)
    connector = KalshiConnector(sim.url(), load_private_key(private), "key", [FED], pipe.on_frame, FAST)
    caplog.set_level(logging.WARNING, logger="echoarb.rest")
    tasks = [asyncio.create_task(t) for t in (poller.run(), connector.run(), pipe.run())]
    try:
        await until(lambda: client.failures >= 3, what="retried failures (backoff, not the 10 s period)")
        count = len(publisher.ticks)
        await until(lambda: len(publisher.ticks) > count + 5, what="ticks while REST is down")
        sim.rest_fail_status = None
        await until(lambda: poller.delivered >= 1, what="the retry after the outage")
    finally:
        await stop(*tasks)
        await sim.stop()
    assert metric("echoarb_venue_rest_failures_total", venue="kalshi", endpoint="markets") - before >= 3
    lines = [r.getMessage() for r in caplog.records if r.name == "echoarb.rest"]
    assert len(lines) == client.failures  # one line per failure, no traceback
    assert all("HTTP 503" in line and "the feed continues" in line for line in lines)
    assert all(r.exc_info is None for r in caplog.records)
    assert pipe.handler._kalshi.close_ms(FED) == sim.times(FED)[1] * 1000


async def test_refused_connection_is_counted_not_raised() -> None:
    pipe, _ = pipeline()
    client = RestClient("polymarket", "http://127.0.0.1:1", bucket=_bucket(), timeout=2.0)
    poller = _poller(client, gamma_requests(_instruments("polymarket")), pipe.on_frame)
    assert await poller.refresh() is False
    assert client.failures == len(poller.requests) and poller.delivered == 0
    assert client.last_error is not None and "Connect" in client.last_error
    await client.close()


async def test_gamma_metadata_sets_closed_accepting_orders_and_tick() -> None:
    ids = _instruments("polymarket")
    yes, no = ids[0], ids[1]
    pipe, _ = pipeline()
    async with PolymarketSimulator([parse_scenario("stream")], markets=[[yes, no]]) as sim:
        sim.market_overrides[yes] = {"acceptingOrders": False, "orderPriceMinTickSize": 0.001}
        client = RestClient("polymarket", sim.http_url, bucket=_bucket())
        poller = _poller(client, gamma_requests(ids), pipe.on_frame)
        await asyncio.wait_for(poller.run(), 10)
    assert len(sim.rest_requests) == 1 and sim.rest_requests[0].startswith("/markets?clob_token_ids=")
    assert all(i in sim.rest_requests[0] for i in ids) and f"limit={len(ids)}" in sim.rest_requests[0]
    poly = pipe.handler.parsers["polymarket"]
    tokens = poly._tokens  # type: ignore[attr-defined]
    assert tokens[yes].status == "halted" and tokens[no].status == "halted"  # one market, both tokens
    assert all(tokens[i].status == "open" for i in ids[2:])
    rule = poly.tick_rule(yes)  # type: ignore[attr-defined]
    assert rule is not None and rule.allows(Decimal("0.515"))
    assert pipe.stats.parse_errors == 0 and client.failures == 0


def _corrupt(sim: PolymarketSimulator, asset: str) -> None:
    """Change the venue's book behind the client's back: its next best bid/ask disagrees."""
    bids, asks = sim._book(asset)
    best_ask = min(asks) if asks else 99
    new = max(bids) + 1 if bids else best_ask - 1
    if new < best_ask:
        bids[new] = 777
    else:
        asks[best_ask - 1 if best_ask - 1 > max(bids or {1: 0}) else best_ask] = 777


async def test_polymarket_out_of_sync_book_is_resynced_from_rest_book() -> None:
    ids = _instruments("polymarket")
    pipe, _ = pipeline()
    async with PolymarketSimulator([parse_scenario("stream")], interval=0.005) as sim:
        clob = RestClient("polymarket", sim.http_url, bucket=_bucket())
        connector = PolymarketConnector(sim.url(), ids, pipe.on_frame, FAST, clob=clob)
        tasks = [asyncio.create_task(connector.run()), asyncio.create_task(pipe.run())]
        try:
            await until(lambda: sim.sent > 20, what="a streaming feed")
            for asset in ids:
                _corrupt(sim, asset)
            await until(lambda: connector.rest_resyncs >= 1, timeout=10, what="a REST resync")
            poly = pipe.handler.parsers["polymarket"]
            resynced = [p.split("=", 1)[1] for p in sim.rest_requests if p.startswith("/book?")]
            await until(
                lambda: all(poly._tokens[a].in_sync for a in resynced),  # type: ignore[attr-defined]
                what="resynced books back in sync",
            )
        finally:
            await stop(*tasks)
            await clob.close()
    assert pipe.handler.desyncs.get(("polymarket", "best_mismatch"), 0) >= 1
    assert connector.resubscribe_fallbacks == 0
    assert not [c for c in sim.commands if c.get("operation") == "subscribe"]  # no resubscribe needed
    assert pipe.stats.parse_errors == 0


async def test_polymarket_rest_book_failure_falls_back_to_resubscribe(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ids = _instruments("polymarket")
    pipe, _ = pipeline()
    caplog.set_level(logging.WARNING)
    async with PolymarketSimulator([parse_scenario("stream")], interval=0.005) as sim:
        sim.book_unknown.update(ids)  # the CLOB answers 404 for every token
        clob = RestClient("polymarket", sim.http_url, bucket=_bucket())
        connector = PolymarketConnector(sim.url(), ids, pipe.on_frame, FAST, clob=clob)
        tasks = [asyncio.create_task(connector.run()), asyncio.create_task(pipe.run())]
        try:
            await until(lambda: sim.sent > 20, what="a streaming feed")
            for asset in ids:
                _corrupt(sim, asset)
            await until(lambda: connector.resubscribe_fallbacks >= 1, timeout=20, what="a fallback")
            await until(
                lambda: any(c.get("operation") == "subscribe" for c in sim.commands), what="the resubscribe"
            )
            poly = pipe.handler.parsers["polymarket"]
            fell_back = next(c["assets_ids"] for c in sim.commands if c.get("operation") == "subscribe")
            await until(
                lambda: all(poly._tokens[a].in_sync for a in fell_back),  # type: ignore[attr-defined]
                what="the resubscribed snapshot",
            )
        finally:
            await stop(*tasks)
            await clob.close()
    assert connector.rest_resyncs == 0 and clob.failures >= 1
    messages = [r.getMessage() for r in caplog.records]
    assert any("HTTP 404" in m and "/book?token_id=" in m for m in messages)
    assert any("resubscribing instead" in m for m in messages)
