"""One immediate-or-cancel order against one quote: limits, depth, refusals, fees."""

from __future__ import annotations

from decimal import Decimal as D

from echoarb.backtest.fills import Fees, Order, execute
from echoarb.model import Level, Tick
from echoarb.pairs import parse_pairs
from echoarb.scan.edge.fees import FeePolicy

LADDER = (Level(D("0.47"), D("120")), Level(D("0.49"), D("500")), Level(D("0.52"), D("10")))
POLY = Tick("p", "polymarket", (), LADDER, 1, 1, D("0.04"))
KALSHI = Tick("p", "kalshi", LADDER, (), 1, 1, D("0.07"))


def test_limit_stops_the_walk() -> None:
    fill = execute(Order("polymarket", "no", "", D(200), D("0.49"), 5), POLY)
    # 120 x 0.47 + 80 x 0.49 = 56.40 + 39.20; fees ceil_0.0001(0.04 x 120 x 0.2491 = 1.19568)
    # + ceil_0.0001(0.04 x 80 x 0.2499 = 0.79968) = 1.1957 + 0.7997.
    assert [(lv.price, lv.size) for lv in fill.levels] == [(D("0.47"), D(120)), (D("0.49"), D(80))]
    assert (fill.filled, fill.notional, fill.fees, fill.outlay) == (
        D(200),
        D("95.60"),
        D("1.9954"),
        D("97.5954"),
    )
    assert fill.complete and fill.reason == ""
    short = execute(Order("polymarket", "no", "", D(200), D("0.48"), 5), POLY)
    assert (short.filled, short.reason) == (D(120), "limit reached")


def test_market_order_takes_the_whole_book_and_no_more() -> None:
    order = Order("kalshi", "yes", "", D(1000), None, 5)
    fill = execute(order, KALSHI)
    assert (fill.filled, fill.notional, fill.reason) == (D(630), D("306.60"), "book exhausted")
    # Kalshi, per order (the default): trade fees ceil_0.0001(0.07 x 120 x 0.2491 = 2.09244) +
    # ceil_0.0001(0.07 x 500 x 0.2499 = 8.7465) + ceil_0.0001(0.07 x 10 x 0.2496 = 0.17472) =
    # 2.0925 + 8.7465 + 0.1748 = 11.0138; outlay ceil_cent(306.60 + 11.0138) = 317.62: fees 11.02.
    assert fill.fees == D("11.02")
    # Each fill rounded to the cent on its own: 2.10 + 8.75 + 0.18.
    per_fill = execute(order, KALSHI, fees=Fees(policy=FeePolicy("per_fill_cent")))
    assert per_fill.fees == D("11.03")
    # A $0.0001 account pays the trade fees alone.
    basis = execute(order, KALSHI, fees=Fees(policy=FeePolicy("order", D("0.0001"))))
    assert basis.fees == D("11.0138")


def test_polymarket_fee_exponent_comes_from_the_pair() -> None:
    pairs = parse_pairs(
        {
            "pairs": [
                {"id": "p", "kalshi": {"ticker": "K"}, "polymarket": {"token_id": "1", "fee_exponent": 2}}
            ]
        }
    )
    fill = execute(Order("polymarket", "no", "", D(100), None, 5), POLY, fees=Fees(pairs.by_id()))
    # ceil_0.0001(100 x 0.04 x (0.47 x 0.53) ** 2 = 0.24820324) = 0.2483
    assert fill.fees == D("0.2483")


def test_consumed_liquidity_is_not_offered_twice() -> None:
    consumed: dict[D, D] = {}
    first = execute(Order("polymarket", "no", "", D(100), None, 5), POLY, consumed)
    second = execute(Order("polymarket", "no", "", D(100), None, 6), POLY, consumed)
    assert [(lv.price, lv.size) for lv in first.levels] == [(D("0.47"), D(100))]
    assert [(lv.price, lv.size) for lv in second.levels] == [(D("0.47"), D(20)), (D("0.49"), D(80))]
    assert consumed == {D("0.47"): D(120), D("0.49"): D(80)}


def test_refusals() -> None:
    order = Order("polymarket", "no", "", D(10), None, 5)
    assert execute(order, None).reason == "no quote yet"
    assert execute(order, Tick("p", "polymarket", (), LADDER, 1, 1, D(0), status="settled")).reason == (
        "market settled"
    )
    empty = execute(Order("polymarket", "yes", "", D(10), None, 5), POLY)
    assert (empty.filled, empty.reason) == (D(0), "no asks")
    manifold = Tick("p", "manifold", LADDER, LADDER, 1, 1, D(0), real_money=False)
    assert execute(Order("manifold", "yes", "", D(10), None, 5), manifold).reason == "play money"
