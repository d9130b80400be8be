# mypy: disable-error-code="comparison-overlap"
# (int literals compare equal to Decimals; keeps expectations readable)
"""Categorical baskets: YES on every outcome at its cheapest venue, hand-computed."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

from echoarb.model import Ladder, Level, Opportunity, Tick, Venue
from echoarb.scan.edge.categorical import evaluate_basket

AGE = 30_000


def ladder(*levels: tuple[str, int]) -> Ladder:
    return tuple(Level(D(p), D(s)) for p, s in levels)


def tick(venue: Venue, outcome: str, yes: Ladder, rate: str = "0", ts: int = 1_000, **kw: object) -> Tick:
    return Tick("c", venue, yes, (), ts, ts, D(rate), outcome, **kw)  # type: ignore[arg-type]


def book() -> dict[str, dict[str, Tick]]:
    return {
        "C": {"polymarket": tick("polymarket", "C", ladder(("0.33", 40), ("0.34", 100)))},
        "A": {
            # all-in top: Kalshi 0.30 + 0.0147 vs Polymarket 0.29 -> Polymarket
            "kalshi": tick("kalshi", "A", ladder(("0.30", 100)), "0.07"),
            "polymarket": tick("polymarket", "A", ladder(("0.29", 50), ("0.35", 100))),
        },
        "B": {"kalshi": tick("kalshi", "B", ladder(("0.30", 100)), "0.07")},
    }


def run(
    ticks: dict[str, dict[str, Tick]], min_edge: str = "0", exhaustive: bool = True
) -> Opportunity | None:
    return evaluate_basket("c", ticks, exhaustive=exhaustive, min_edge=D(min_edge), max_quote_age_ms=AGE)


def test_basket_walk() -> None:
    # Step 1: 0.29 + 0.3147 + 0.33 = 0.9347, take 40 (C's level ends).
    # Step 2: 0.29 + 0.3147 + 0.34 = 0.9447, take 10 (A's level ends).
    # Step 3: 0.35 + 0.3147 + 0.34 = 1.0047, stop.
    opp = run(book())
    assert opp is not None
    assert opp.key == "c|categorical_basket|polymarket:yes:A,kalshi:yes:B,polymarket:yes:C"
    assert opp.size == 50
    assert opp.cost == D("46.10")  # 14.50 + 15.00 + 13.20 + 3.40
    assert opp.fees == D("0.74")  # Kalshi B: ceil(0.735)
    assert opp.net_profit == D("3.16")
    assert opp.net_edge == D("0.0632")
    assert opp.gross_edge == D("0.08")
    assert opp.executable
    assert [(leg.best_price, leg.avg_price, leg.size) for leg in opp.legs] == [
        (D("0.29"), D("0.29"), 50),
        (D("0.30"), D("0.30"), 50),
        (D("0.33"), D("0.332"), 50),
    ]


def test_min_edge_cuts_the_basket() -> None:
    opp = run(book(), "0.06")  # limit 0.94: only step 1
    assert opp is not None
    assert (opp.size, opp.cost, opp.fees) == (40, D("36.80"), D("0.59"))  # ceil(0.588)
    opp = run(book(), "0.07")  # limit 0.93: nothing
    assert opp is not None
    assert (opp.size, opp.net_profit, opp.executable, opp.gross_edge) == (0, 0, False, D("0.08"))


def test_never_for_non_exhaustive_or_unquoted_outcome() -> None:
    assert run(book(), exhaustive=False) is None
    ticks = book()
    ticks["B"] = {}
    assert run(ticks) is None
    ticks["B"] = {"kalshi": tick("kalshi", "B", ())}
    assert run(ticks) is None
    assert run({}) is None


def test_basket_leg_not_executable() -> None:
    ticks = book()
    ticks["B"]["kalshi"] = replace(ticks["B"]["kalshi"], status="halted")
    opp = run(ticks)
    assert opp is not None and opp.net_profit == D("3.16") and not opp.executable

    ticks = book()
    ticks["A"]["kalshi"] = replace(ticks["A"]["kalshi"], event_ts=1_000 + AGE + 1)  # not chosen, but newest
    opp = run(ticks)
    assert opp is not None and opp.quote_age_ms == AGE + 1 and not opp.executable

    ticks = book()
    ticks["C"]["manifold"] = tick("manifold", "C", ladder(("0.20", 1000)))
    opp = run(ticks)
    assert opp is not None and opp.legs[2].venue == "manifold"
    assert opp.net_profit > 0 and not opp.executable


def test_uncrossed_basket() -> None:
    ticks = {
        "A": {"kalshi": tick("kalshi", "A", ladder(("0.50", 10)))},
        "B": {"kalshi": tick("kalshi", "B", ladder(("0.51", 10)))},
    }
    opp = run(ticks)
    assert opp is not None
    assert (opp.gross_edge, opp.size, opp.executable) == (D("-0.01"), 0, False)
