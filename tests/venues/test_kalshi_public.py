"""Kalshi public-only mode (no API key) against the Kalshi simulator over loopback sockets.

Without a key the connector opens an unsigned WebSocket and subscribes the public channels
only (``ticker``, ``market_lifecycle_v2``). There is no order book depth, so Kalshi quotes are
the ticker's best bid and ask, marked out of sync: the spread engine shows them as signals and
never as executable opportunities.
"""

from __future__ import annotations

import asyncio
import json
import logging
from decimal import Decimal
from pathlib import Path

import pytest
import websockets
from pydantic import SecretStr

from echoarb.ingest.live import (
    build_connectors,
    check_kalshi_credentials,
    kalshi_public_only,
)
from echoarb.model import Level, Tick
from echoarb.scan.edge.binary import evaluate_binary
from echoarb.settings import Settings
from echoarb.venues.connector import ConnectorFatalError
from echoarb.venues.kalshi.auth import KalshiKeyError, load_public_key
from echoarb.venues.kalshi.client import KalshiConnector
from echoarb.venues.kalshi.protocol import TOP_OF_BOOK_SIZE
from echoarb.venues.kalshi.simulator import KalshiSimulator
from echoarb.venues.simulator import parse_scenario
from tests.venues.live_helpers import FAST, keypair, pairs, pipeline, stop, until

FED = "FED-25MAR-T4.75"


def _tickers() -> list[str]:
    from echoarb.ingest.normalise import Normaliser

    return Normaliser(pairs()).instruments("kalshi")


async def _sim(tmp_path: Path, *, allow_public: bool = True) -> KalshiSimulator:
    _, public = keypair(tmp_path)
    sim = KalshiSimulator(
        load_public_key(public), [parse_scenario("stream")], interval=0.005, allow_public=allow_public
    )
    return await sim.start()


async def test_public_only_subscribes_public_channels_and_quotes_top_of_book(tmp_path: Path) -> None:
    pipe, publisher = pipeline()
    sim = await _sim(tmp_path)
    connector = KalshiConnector(sim.url(), None, "", _tickers(), pipe.on_frame, FAST)
    tasks = [asyncio.create_task(connector.run()), asyncio.create_task(pipe.run())]
    try:
        await until(
            lambda: len([t for t in publisher.ticks if t.venue == "kalshi"]) > 20, what="Kalshi ticks"
        )
    finally:
        await stop(*tasks)
        await sim.stop()
    assert connector.public_only and sim.rejected == []
    request = sim.sessions[0].ws.request
    assert request is not None and request.headers.get("KALSHI-ACCESS-KEY") is None  # unsigned upgrade
    channels = [c["params"]["channels"] for c in sim.commands if c.get("cmd") == "subscribe"]
    assert channels == [["ticker"], ["market_lifecycle_v2"]]
    ticker_sub = next(c for c in sim.commands if c["params"]["channels"] == ["ticker"])
    assert ticker_sub["params"]["market_tickers"] == sorted(_tickers())
    ticks = [t for t in publisher.ticks if t.venue == "kalshi"]
    assert {t.pair_id for t in ticks} >= {"fed-rate-march", "us-recession-2026"}
    for tick in ticks:
        assert tick.in_sync is False  # no order book held: never executable
        assert len(tick.yes_asks) <= 1 and len(tick.no_asks) <= 1
        assert all(level.size == TOP_OF_BOOK_SIZE for level in (*tick.yes_asks, *tick.no_asks))
    # The simulator's book for FED: the last quote shows its best ask (1 - best NO bid).
    book = sim.books[FED]
    last = [t for t in ticks if t.pair_id == "fed-rate-march"][-1]
    assert last.yes_asks[0].price == Decimal(100 - max(book.no)) / 100
    assert pipe.stats.parse_errors == 0
    assert pipe.handler.ignored.get(("kalshi", "ticker"), 0) == 0  # every ticker became a quote


async def test_order_book_needs_authentication(tmp_path: Path) -> None:
    """What the venue answers an unsigned ``orderbook_delta`` subscription: error code 9."""
    sim = await _sim(tmp_path)
    try:
        async with websockets.connect(sim.url(), proxy=None) as ws:
            params = {"channels": ["orderbook_delta"], "market_tickers": [FED]}
            await ws.send(json.dumps({"id": 1, "cmd": "subscribe", "params": params}))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
    finally:
        await sim.stop()
    assert reply == {"id": 1, "type": "error", "msg": {"code": 9, "msg": "Authentication required"}}
    pipe, _ = pipeline()
    outcome = pipe.handler.handle("kalshi", json.dumps(reply), 1)
    assert outcome.errors == ["kalshi error: venue replied code 9: Authentication required"]


async def test_refused_unsigned_connection_is_a_clear_fatal_error(tmp_path: Path) -> None:
    pipe, _ = pipeline()
    sim = await _sim(tmp_path, allow_public=False)
    try:
        connector = KalshiConnector(sim.url(), None, "", [FED], pipe.on_frame, FAST)
        with pytest.raises(ConnectorFatalError, match=r"HTTP 401.*public-only mode.*KALSHI_API_KEY"):
            await asyncio.wait_for(connector.run(), 10)
    finally:
        await sim.stop()
    assert sim.rejected == ["missing KALSHI-ACCESS-* headers"]


def _settings(**kwargs: object) -> Settings:
    return Settings(_env_file=None, kafka_bootstrap="x", **kwargs)  # type: ignore[arg-type]


def test_no_key_at_all_is_public_only_half_a_key_is_an_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    none = _settings()
    assert kalshi_public_only(none)
    check_kalshi_credentials(none)  # not an error
    caplog.set_level(logging.WARNING, logger="echoarb.ingest")
    pipe, _ = pipeline()
    (connector,) = build_connectors(none, pipe.handler, pipe, ["kalshi"])
    assert isinstance(connector, KalshiConnector) and connector.public_only
    assert connector.handshake_headers() == {}
    notice = [r.getMessage() for r in caplog.records if "public-only mode" in r.getMessage()]
    assert len(notice) == 1 and "never executable" in notice[0]
    half = _settings(kalshi_api_key=SecretStr("key-1"))
    assert not kalshi_public_only(half)
    with pytest.raises(KalshiKeyError, match="KALSHI_PRIVATE_KEY_PATH is not set"):
        check_kalshi_credentials(half)
    private, _ = keypair(tmp_path)
    other_half = _settings(kalshi_private_key_path=private)
    with pytest.raises(KalshiKeyError, match="KALSHI_API_KEY"):
        check_kalshi_credentials(other_half)


def _tick(venue: str, yes: str, no: str, *, in_sync: bool, size: str = "100") -> Tick:
    return Tick(
        pair_id="p",
        venue=venue,  # type: ignore[arg-type]
        yes_asks=(Level(Decimal(yes), Decimal(size)),),
        no_asks=(Level(Decimal(no), Decimal(size)),),
        event_ts=1_000,
        recv_ts=1_000,
        fee_rate=Decimal(0),
        in_sync=in_sync,
    )


def test_a_top_of_book_kalshi_leg_is_a_signal_never_executable() -> None:
    """A crossed spread with a public-only Kalshi quote is found, sized 1, and not executable."""
    kalshi = _tick("kalshi", "0.40", "0.62", in_sync=False, size=str(TOP_OF_BOOK_SIZE))
    poly = _tick("polymarket", "0.65", "0.45", in_sync=True)
    opps = evaluate_binary(
        "p", {"kalshi": kalshi, "polymarket": poly}, min_edge=Decimal(0), max_quote_age_ms=60_000
    )
    crossed = [o for o in opps if o.gross_edge is not None and o.gross_edge > 0]
    assert crossed and all(not o.executable for o in crossed)
    assert all(o.size <= TOP_OF_BOOK_SIZE for o in crossed)
    # The same quotes with a real book on Kalshi are executable: the flag is what differs.
    booked = _tick("kalshi", "0.40", "0.62", in_sync=True, size=str(TOP_OF_BOOK_SIZE))
    opps = evaluate_binary(
        "p", {"kalshi": booked, "polymarket": poly}, min_edge=Decimal(0), max_quote_age_ms=60_000
    )
    assert any(o.executable for o in opps if o.gross_edge is not None and o.gross_edge > 0)
