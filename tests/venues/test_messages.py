"""The venue message builders (used by the simulators and the sample generator) speak what the
parsers read: every builder's frame parses without an error into the book it describes."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from echoarb.model import InstrumentQuote, Level
from echoarb.venues.kalshi import messages as kalshi
from echoarb.venues.kalshi.protocol import KalshiProtocol
from echoarb.venues.manifold import messages as manifold
from echoarb.venues.manifold.protocol import ManifoldProtocol
from echoarb.venues.parsing import ParseResult
from echoarb.venues.polymarket import messages as polymarket
from echoarb.venues.polymarket.protocol import PolymarketProtocol

RECV = 1_767_225_600_000


def L(price: str, size: str) -> Level:
    return Level(D(price), D(size))


def quote(result: ParseResult) -> InstrumentQuote:
    assert result.errors == [] and result.resync == []
    assert len(result.quotes) == 1, result.quotes
    return result.quotes[0]


def test_number_formats() -> None:
    assert (kalshi.dollars(41), kalshi.dollars(5), kalshi.dollars(100)) == ("0.4100", "0.0500", "1.0000")
    assert (polymarket.price(50), polymarket.price(41), polymarket.price(5)) == ("0.5", "0.41", "0.05")
    assert (manifold.prob(4700), manifold.prob(1234)) == (0.47, 0.1234)


@pytest.mark.parametrize("fmt", ["legacy", "fixed", "both"])
def test_kalshi_snapshot_then_delta(fmt: kalshi.DeltaFormat) -> None:
    proto = KalshiProtocol()
    assert proto.receive(kalshi.subscribed(1, "orderbook_delta", 1), RECV).errors == []
    q = quote(proto.receive(kalshi.orderbook_snapshot(1, 1, "K-1", "m", {40: 100, 41: 50}, {52: 80}), RECV))
    assert q.buy_yes == (L("0.48", "80"),)  # YES ask = 1 - best NO bid
    assert q.buy_no == (L("0.59", "50"), L("0.60", "100"))
    delta = kalshi.orderbook_delta(1, 2, "K-1", "no", 52, -30, fmt=fmt, ts=RECV // 1000)
    assert quote(proto.receive(delta, RECV)).buy_yes == (L("0.48", "50"),)


def test_kalshi_ticker_and_mangled_delta() -> None:
    proto = KalshiProtocol()
    proto.receive(kalshi.orderbook_snapshot(1, 1, "K-1", "m", {40: 100}, {52: 80}), RECV)
    body = kalshi.ticker(
        2, 1, "K-1", price=45, yes_bid=40, yes_ask=48, volume=9, open_interest=3, ts=RECV // 1000
    )
    assert proto.receive(body, RECV).errors == []
    mangled = kalshi.orderbook_delta(1, 2, None, "yes", 30, 10, fmt="fixed", ts=RECV // 1000)
    assert proto.receive(mangled, RECV).errors  # no ticker: rejected with a reason
    assert proto.receive(kalshi.MALFORMED, RECV).errors


def test_polymarket_book_and_both_price_change_formats() -> None:
    proto = PolymarketProtocol()
    book = polymarket.book("0xm", "T1", {44: 100}, {55: 300, 57: 10}, RECV - 5, "h")
    q = quote(proto.receive(polymarket.frame([book], array=True), RECV))
    assert q.buy_yes == (L("0.55", "300"), L("0.57", "10")) and q.buy_no == (L("0.56", "100"),)
    entry = polymarket.price_change_entry("T1", 55, 0, "SELL", "h2", "0.44", "0.57")
    q = quote(proto.receive(polymarket.frame([polymarket.price_change("0xm", [entry], RECV - 4)]), RECV))
    assert q.buy_yes == (L("0.57", "10"),)
    legacy = polymarket.legacy_price_change("T1", "0xm", [(56, "SELL", 20)], RECV - 3, "h3")
    q = quote(proto.receive(polymarket.frame([legacy]), RECV))
    assert q.buy_yes == (L("0.56", "20"), L("0.57", "10"))
    trade = polymarket.last_trade_price("T1", "0xm", 56, "BUY", 5, RECV - 2)
    assert proto.receive(polymarket.frame([trade]), RECV).errors == []
    assert proto.receive(polymarket.PONG, RECV).errors == []
    assert proto.receive(polymarket.MALFORMED, RECV).errors


def test_manifold_market_then_bets() -> None:
    proto = ManifoldProtocol()
    body = manifold.market(
        "c1",
        "will-it",
        "Will it?",
        4700,
        pool={"YES": 1060.0, "NO": 940.0},
        close_time=RECV * 2,
        last_updated=RECV - 10,
    )
    q = quote(proto.receive(manifold.dumps(body), RECV, source="rest", path="/slug/will-it"))
    assert q.instrument == "will-it" and q.buy_yes[0].price == D("0.47")
    assert proto.receive(manifold.ack(1), RECV).errors == []
    bets = [manifold.bet("b1", "u1", "c1", RECV - 1, 10, "YES", 4700, 4750, shares=21.1)]
    q = quote(proto.receive(manifold.new_bets("c1", bets), RECV))
    assert q.buy_yes[0].price == D("0.475")
    q = quote(proto.receive(manifold.contract_update("c1", 4800, RECV), RECV))
    assert q.buy_yes[0].price == D("0.48")
    no_prob = [manifold.bet("b2", "u1", "c1", RECV, 10, "YES", 4800, None)]
    assert proto.receive(manifold.new_bets("c1", no_prob), RECV).errors
    assert proto.receive(manifold.MALFORMED, RECV).errors


def test_newer_message_types_parse() -> None:
    poly = PolymarketProtocol()
    poly.receive(
        polymarket.frame([polymarket.book("0xm", "T1", {44: 100}, {55: 300}, RECV, "h", tick_size="0.01")]),
        RECV,
    )
    flat = polymarket.flat_price_change("T1", "0xm", 54, 40, "SELL", RECV + 1, "h2")
    assert quote(poly.receive(polymarket.frame([flat]), RECV)).buy_yes[0] == L("0.54", "40")
    bba = polymarket.best_bid_ask("0xm", "T1", "0.44", "0.54", "0.1", RECV + 2)
    assert poly.receive(polymarket.frame([bba]), RECV).errors == []
    mani = ManifoldProtocol()
    body = manifold.market(
        "c1", "s", "Q?", 4700, pool={"YES": 1, "NO": 1}, close_time=RECV * 2, last_updated=RECV
    )
    mani.receive(manifold.dumps(body), RECV, source="rest", path="/slug/s")
    partial = manifold.contract_update("c1", None, RECV + 1, last_bet_time=RECV + 1)
    assert mani.receive(partial, RECV).errors == []
    kal = KalshiProtocol()
    created = kalshi.market_lifecycle(
        3,
        "K-1",
        "created",
        open_ts=RECV // 1000 - 60,
        close_ts=RECV // 1000 + 60,
        price_level_structure="linear_cent",
    )
    assert kal.receive(created, RECV).errors == []
