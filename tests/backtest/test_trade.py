"""Taking one opportunity against books that change between the signal and the fills.

Every figure is computed by hand (in the comments) from the worked example of docs/edge.md:
Kalshi YES asks 0.48 x80, 0.50 x200 (rate 0.07); Polymarket NO asks 0.47 x120, 0.49 x500
(rate 0.04); size 120, net profit 1.9043, limits 0.50 (Kalshi) and 0.47 (Polymarket).
Kalshi fees here are the same under the per-fill cent rule and the per-order rule.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from echoarb.backtest.books import BookTimeline
from echoarb.backtest.latency import LatencyModel
from echoarb.backtest.scan import leg_limits
from echoarb.backtest.trade import Signal, Strategy, Trade, simulate
from echoarb.model import Level, MarketStatus, Tick
from echoarb.scan.edge.binary import evaluate_binary
from echoarb.scan.edge.categorical import evaluate_basket

T0 = 1_000  # the signal's merge time
LATENCY = LatencyModel.parse("kalshi=150ms,polymarket=300ms").draw


def ladder(*levels: tuple[str, str]) -> tuple[Level, ...]:
    return tuple(Level(D(p), D(s)) for p, s in levels)


def kalshi(ts: int, yes: tuple[Level, ...], no: tuple[Level, ...], status: MarketStatus = "open") -> Tick:
    return Tick("fed", "kalshi", yes, no, ts, ts, D("0.07"), status=status)


def poly(ts: int, yes: tuple[Level, ...], no: tuple[Level, ...], in_sync: bool = True) -> Tick:
    return Tick("fed", "polymarket", yes, no, ts, ts, D("0.04"), in_sync=in_sync)


K_YES = ladder(("0.48", "80"), ("0.50", "200"))
K_NO = ladder(("0.59", "50"), ("0.60", "100"))
P_YES = ladder(("0.55", "300"))
P_NO = ladder(("0.47", "120"), ("0.49", "500"))
K0 = kalshi(T0, K_YES, K_NO)
P0 = poly(T0, P_YES, P_NO)


def signal() -> Signal:
    quotes = {"kalshi": K0, "polymarket": P0}
    opps = evaluate_binary("fed", quotes, min_edge=D(0), max_quote_age_ms=30_000)
    opp = next(o for o in opps if o.executable)
    assert (opp.size, opp.net_profit) == (D(120), D("1.9043"))
    return Signal("s1", opp, leg_limits(opp, quotes), T0)


def books(*ticks: Tick) -> BookTimeline:
    timeline = BookTimeline()
    for tick in (K0, P0, *ticks):
        timeline.add(tick)
    return timeline


def run(timeline: BookTimeline, strategy: Strategy, end_ts: int = 5_000) -> Trade:
    return simulate(signal(), timeline, LATENCY, strategy, end_ts)


def fills(trade: Trade) -> list[tuple[str, str, str, D, D, D, str]]:
    return [
        (f.order.purpose, f.order.venue, f.order.side, f.filled, f.notional, f.fees, f.reason)
        for f in trade.orders
    ]


def test_limits_are_the_worst_levels_walked() -> None:
    assert signal().limits == (D("0.50"), D("0.47"))


def test_unchanged_books_realise_the_reported_profit() -> None:
    trade = run(books(), Strategy())
    assert trade.latencies == (150, 300)
    # Kalshi 80 x 0.48 + 40 x 0.50 = 58.40, fees 1.40 + 0.70; Polymarket 120 x 0.47 = 56.40, fee
    # ceil_0.0001(0.04 * 120 * 0.47 * 0.53) = 1.1957.
    assert fills(trade) == [
        ("entry", "kalshi", "yes", D(120), D("58.40"), D("2.10"), ""),
        ("entry", "polymarket", "no", D(120), D("56.40"), D("1.1957"), ""),
    ]
    assert [f.order.ts for f in trade.orders] == [T0 + 150, T0 + 300]
    assert (trade.outlay, trade.sets, trade.pnl) == (D("118.0957"), D(120), D("1.9043"))
    assert trade.fully_filled and not trade.one_legged


# Between the signal and the Polymarket fill (T0 + 300) its 0.47 level shrinks to 50; Kalshi's
# NO asks improve to 0.56 x100 before the unwind meets them (T0 + 450).
P1 = poly(T0 + 200, P_YES, ladder(("0.47", "50"), ("0.49", "500")))
K1 = kalshi(T0 + 100, K_YES, ladder(("0.56", "100"), ("0.60", "100")))
K_END = kalshi(T0 + 2_000, K_YES, ladder(("0.58", "30"), ("0.62", "100")))
# Entry: Kalshi 120 for 58.40 + 2.10; Polymarket 50 x 0.47 = 23.50, fee
# ceil_0.0001(0.04 * 50 * 0.2491) = 0.4982 (0.49 is above the 0.47 limit).
ENTRY = [
    ("entry", "kalshi", "yes", D(120), D("58.40"), D("2.10"), ""),
    ("entry", "polymarket", "no", D(50), D("23.50"), D("0.4982"), "limit reached"),
]


def test_short_second_leg_unwound_at_market() -> None:
    trade = run(books(K1, P1, K_END), Strategy(policy="unwind"))
    # The excess 70 Kalshi YES is closed by buying 70 Kalshi NO at T0 + 300 + 150 on K1:
    # 70 x 0.56 = 39.20, fee ceil_cent(0.07 * 70 * 0.56 * 0.44 = 1.20736) = 1.21.
    assert fills(trade) == [*ENTRY, ("unwind", "kalshi", "no", D(70), D("39.20"), D("1.21"), "")]
    assert trade.orders[-1].order.ts == T0 + 450
    # outlay 58.40 + 2.10 + 23.50 + 0.4982 + 39.20 + 1.21 = 124.9082; 50 sets + 70 boxes pay 120.
    assert (trade.outlay, trade.sets, trade.unwound, trade.residual) == (
        D("124.9082"),
        D(50),
        D(70),
        (D(0), D(0)),
    )
    assert trade.pnl == D("-4.9082")
    assert trade.one_legged and not trade.fully_filled


def test_short_second_leg_hedged_at_market_without_retaking_its_own_fill() -> None:
    trade = run(books(K1, P1, K_END), Strategy(policy="hedge"))
    # The hedge meets P1 again at T0 + 600: the entry took its 50 at 0.47, so 70 x 0.49 = 34.30,
    # fee ceil_0.0001(0.04 * 70 * 0.49 * 0.51 = 0.69972) = 0.6998.
    assert fills(trade) == [*ENTRY, ("hedge", "polymarket", "no", D(70), D("34.30"), D("0.6998"), "")]
    assert trade.orders[-1].order.ts == T0 + 600
    # outlay 58.40 + 2.10 + 23.50 + 0.4982 + 34.30 + 0.6998 = 119.4980; 120 sets.
    assert (trade.outlay, trade.sets, trade.pnl) == (D("119.4980"), D(120), D("0.5020"))


def test_short_second_leg_held_and_marked_at_the_end() -> None:
    trade = run(books(K1, P1, K_END), Strategy(policy="hold"), end_ts=5_000)
    assert fills(trade) == ENTRY
    # 70 Kalshi YES left; marked by a market unwind on the last book: 30 x 0.58 + 40 x 0.62 =
    # 42.20, fees ceil_cent(0.51156) + ceil_cent(0.65968) = 0.52 + 0.66; value 70 - 43.38 = 26.62.
    assert trade.residual == (D(70), D(0))
    assert [(m.filled, m.notional, m.fees) for m in trade.marks] == [(D(70), D("42.20"), D("1.18"))]
    assert trade.mark == D("26.62")
    # 50 sets + 26.62 - (58.40 + 2.10 + 23.50 + 0.4982)
    assert (trade.outlay, trade.pnl) == (D("84.4982"), D("-7.8782"))


def test_sequential_second_leg_sized_to_the_first_fill() -> None:
    trade = run(books(K1, P1, K_END), Strategy(leg_order="polymarket-first"))
    # Polymarket first at T0 + 300 gets 50; Kalshi is sent for 50 and meets K1 at T0 + 450:
    # 50 x 0.48 = 24.00, fee ceil_cent(0.07 * 50 * 0.48 * 0.52 = 0.8736) = 0.88.
    assert fills(trade) == [
        ("entry", "polymarket", "no", D(50), D("23.50"), D("0.4982"), "limit reached"),
        ("entry", "kalshi", "yes", D(50), D("24.00"), D("0.88"), ""),
    ]
    assert [f.order.ts for f in trade.orders] == [T0 + 300, T0 + 450]
    assert (trade.sets, trade.pnl) == (D(50), D("1.1218"))  # 50 - 48.8782
    assert not trade.one_legged and not trade.fully_filled


def test_fastest_first_goes_by_the_drawn_latencies() -> None:
    trade = run(books(K1, P1), Strategy(leg_order="fastest-first"))
    entries = [(f.order.venue, f.order.ts, f.filled) for f in trade.orders if f.order.purpose == "entry"]
    # Kalshi (150 ms) first gets 120; Polymarket is then sent for 120 and gets 50 (one-legged).
    assert entries == [("kalshi", T0 + 150, D(120)), ("polymarket", T0 + 450, D(50))]
    assert trade.one_legged
    slow = run(books(K1, P1), Strategy(leg_order="slowest-first"))
    assert [f.order.venue for f in slow.orders] == ["polymarket", "kalshi"]


@pytest.mark.parametrize(
    ("update", "reason"),
    [
        (kalshi(T0 + 100, K_YES, K_NO, status="closed"), "market closed"),
        (kalshi(T0 + 100, K_YES, K_NO, status="halted"), "market halted"),
    ],
)
def test_first_leg_refused_sends_no_second_leg(update: Tick, reason: str) -> None:
    trade = run(books(update), Strategy(leg_order="kalshi-first"))
    assert fills(trade) == [("entry", "kalshi", "yes", D(0), D(0), D(0), reason)]
    assert (trade.pnl, trade.outlay, trade.filled_any) == (D(0), D(0), False)


def test_book_out_of_sync_fills_nothing_and_the_other_leg_is_unwound() -> None:
    stale = poly(T0 + 200, P_YES, P_NO, in_sync=False)
    trade = run(books(stale), Strategy())
    assert fills(trade)[1] == ("entry", "polymarket", "no", D(0), D(0), D(0), "book out of sync")
    # All 120 Kalshi YES unwound on Kalshi's NO asks (K0) at T0 + 450: 50 x 0.59 + 70 x 0.60 = 71.50,
    # fees ceil_cent(0.07 * 50 * 0.2419 = 0.84665) + ceil_cent(0.07 * 70 * 0.24 = 1.176) = 0.85 + 1.18.
    assert fills(trade)[2] == ("unwind", "kalshi", "no", D(120), D("71.50"), D("2.03"), "")
    assert trade.pnl == D(120) - (D("58.40") + D("2.10") + D("71.50") + D("2.03"))


def test_categorical_basket_leg_short_is_unwound_on_the_other_outcomes() -> None:
    """Three outcomes on Polymarket (fee rate 0): YES A 0.30 x100, B 0.30 x100, C 0.30 x50 + 0.35 x100.

    The walk takes 50 baskets at 0.90, then 50 at 0.95: size 100, cost 92.50, net 7.50; limits
    0.30, 0.30, 0.35. Before the orders arrive C's asks are 0.30 x50 only.
    """

    def tick(outcome: str, ts: int, yes: tuple[Level, ...], no: tuple[Level, ...]) -> Tick:
        return Tick("cat", "polymarket", yes, no, ts, ts, D(0), outcome=outcome)

    a = tick("A", T0, ladder(("0.30", "100")), ladder(("0.75", "100")))
    b = tick("B", T0, ladder(("0.30", "100")), ladder(("0.72", "100")))
    c = tick("C", T0, ladder(("0.30", "50"), ("0.35", "100")), ladder(("0.66", "100")))
    quotes = {"A": {"polymarket": a}, "B": {"polymarket": b}, "C": {"polymarket": c}}
    opp = evaluate_basket("cat", quotes, exhaustive=True, min_edge=D(0), max_quote_age_ms=30_000)
    assert opp is not None and (opp.size, opp.cost, opp.net_profit) == (D(100), D("92.50"), D("7.50"))
    limits = leg_limits(opp, {"polymarket|A": a, "polymarket|B": b, "polymarket|C": c})
    assert limits == (D("0.30"), D("0.30"), D("0.35"))
    timeline = BookTimeline()
    for t in (a, b, c, tick("C", T0 + 100, ladder(("0.30", "50")), ladder(("0.66", "100")))):
        timeline.add(t)
    trade = simulate(Signal("b1", opp, limits, T0), timeline, LATENCY, Strategy(policy="unwind"), 5_000)
    # Entries at T0 + 300: A 100 x 0.30, B 100 x 0.30, C 50 x 0.30; unwinds at T0 + 600 buy
    # NO of A and of B, 50 each: 50 x 0.75 = 37.50 and 50 x 0.72 = 36.00.
    assert [(f.order.purpose, f.order.outcome, f.order.side, f.filled, f.notional) for f in trade.orders] == [
        ("entry", "A", "yes", D(100), D("30.00")),
        ("entry", "B", "yes", D(100), D("30.00")),
        ("entry", "C", "yes", D(50), D("15.00")),
        ("unwind", "A", "no", D(50), D("37.50")),
        ("unwind", "B", "no", D(50), D("36.00")),
    ]
    # 50 baskets + 100 unwound pairs pay 150; outlay 148.50.
    assert (trade.sets, trade.unwound, trade.outlay, trade.pnl) == (D(50), D(100), D("148.50"), D("1.50"))
