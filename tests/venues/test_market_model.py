"""The simulators' moving markets: deterministic, in range, and crossed now and then (not always)."""

from __future__ import annotations

import itertools

from echoarb.pairs import load_pairs
from echoarb.resources import EXAMPLE_PAIRS
from echoarb.venues.market_model import MarketModel

PAIRS = load_pairs(EXAMPLE_PAIRS)
KALSHI = "FED-25MAR-T4.75"
POLY_YES = next(v for v in PAIRS.by_id()["fed-rate-march"].venues if v.venue == "polymarket").instrument


def crossed(model: MarketModel, t: float) -> bool:
    """Buying YES on one venue and NO on the other costs under $0.97 (room for fees)."""
    kb, ka = model.book("kalshi", KALSHI, t)  # type: ignore[misc]
    pb, pa = model.book("polymarket", POLY_YES, t)  # type: ignore[misc]
    yes_k_no_p = min(ka) + (100 - max(pb))
    yes_p_no_k = min(pa) + (100 - max(kb))
    return min(yes_k_no_p, yes_p_no_k) <= 96


def test_same_seed_same_prices_in_every_process() -> None:
    a, b = MarketModel(PAIRS, seed=3), MarketModel(PAIRS, seed=3)
    times = [1_767_225_600 + i * 0.7 for i in range(500)]
    assert [a.mid("kalshi", KALSHI, t) for t in times] == [b.mid("kalshi", KALSHI, t) for t in times]
    assert [a.mid("kalshi", KALSHI, t) for t in times] != [
        MarketModel(PAIRS, seed=4).mid("kalshi", KALSHI, t) for t in times
    ]


def test_markets_cross_now_and_then() -> None:
    model = MarketModel(PAIRS, seed=7, cross_every_s=15, cross_for_s=5)
    times = [1_767_225_600 + i * 0.5 for i in range(2400)]  # 20 minutes
    flags = [crossed(model, t) for t in times]
    share = sum(flags) / len(flags)
    assert 0.05 < share < 0.45, share
    # Crossings come in bursts of seconds, with calm in between.
    starts = sum(1 for before, now in itertools.pairwise(flags) if now and not before)
    assert starts >= 20
    for t in times:
        mid = model.mid("polymarket", POLY_YES, t)
        assert mid is not None and 4 <= mid <= 96
    assert model.mid("kalshi", "NOT-CONFIGURED", times[0]) is None


def test_complement_instruments_mirror_the_pair() -> None:
    model = MarketModel(PAIRS, seed=7)
    pres = PAIRS.by_id()["pres-2028-dem"]
    poly = next(v for v in pres.venues if v.venue == "polymarket")
    assert poly.invert and poly.no_instrument
    t = 1_767_225_600.0
    yes_token = model.mid("polymarket", poly.instrument, t)
    no_token = model.mid("polymarket", poly.no_instrument, t)
    assert yes_token is not None and no_token is not None and abs(yes_token + no_token - 100) <= 1
