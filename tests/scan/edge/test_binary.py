# mypy: disable-error-code="comparison-overlap"
# (int literals compare equal to Decimals; keeps expectations readable)
"""Binary cross-venue opportunities, pinned by hand-computed cases (docs/edge.md)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

from echoarb.model import Ladder, Level, Opportunity, Tick, Venue
from echoarb.scan.edge.binary import evaluate_binary
from echoarb.scan.edge.fees import FeePolicy

AGE = 30_000


def ladder(*levels: tuple[str, int]) -> Ladder:
    return tuple(Level(D(p), D(s)) for p, s in levels)


def tick(venue: Venue, yes: Ladder, no: Ladder, rate: str = "0", ts: int = 1_000, **kw: object) -> Tick:
    return Tick("p", venue, yes, no, ts, ts, D(rate), **kw)  # type: ignore[arg-type]


def worked_example() -> dict[str, Tick]:
    # Kalshi YES bids 0.41x50, 0.40x100 and NO bids 0.52x80, 0.50x200, as asks:
    kalshi = tick("kalshi", ladder(("0.48", 80), ("0.50", 200)), ladder(("0.59", 50), ("0.60", 100)), "0.07")
    poly = tick("polymarket", ladder(("0.55", 300)), ladder(("0.47", 120), ("0.49", 500)), "0.04")
    return {"polymarket": poly, "kalshi": kalshi}


def run(ticks: dict[str, Tick], min_edge: str = "0", **kw: object) -> list[Opportunity]:
    return evaluate_binary("p", ticks, min_edge=D(min_edge), max_quote_age_ms=AGE, **kw)  # type: ignore[arg-type]


def test_worked_example() -> None:
    forward, reverse = run(worked_example())
    assert forward.key == "p|binary|kalshi:yes,polymarket:no"
    assert forward.size == 120
    assert forward.cost == D("114.80")
    # Kalshi ceil_cent(58.40 + 1.3978 + 0.7000) - 58.40 = 2.10; Polymarket one fill of 120 at 0.47:
    # 1.1957 (two fills would be 0.7972 + 0.3986).
    assert forward.fees == D("3.2957")
    assert forward.net_profit == D("1.9043")
    assert forward.net_edge == D("0.015869")
    assert forward.gross_edge == D("0.05")
    assert forward.executable
    assert (forward.quote_age_ms, forward.event_ts) == (0, 1_000)
    yes, no = forward.legs
    assert (yes.venue, yes.side, yes.best_price, yes.avg_price, yes.size) == (
        "kalshi",
        "yes",
        D("0.48"),
        D("0.486667"),  # 58.40 / 120
        D(120),
    )
    assert (no.venue, no.side, no.best_price, no.avg_price, no.size) == (
        "polymarket",
        "no",
        D("0.47"),
        D("0.47"),
        120,
    )

    assert reverse.key == "p|binary|polymarket:yes,kalshi:no"
    assert reverse.gross_edge == D("-0.14")  # 1 - (0.55 + 0.59)
    assert (reverse.size, reverse.cost, reverse.fees, reverse.net_profit, reverse.net_edge) == (0, 0, 0, 0, 0)
    assert not reverse.executable
    assert [leg.avg_price for leg in reverse.legs] == [None, None]
    assert [leg.best_price for leg in reverse.legs] == [D("0.55"), D("0.59")]


def test_kalshi_fees_are_rounded_per_order() -> None:
    # Step 1: 0.30 + 0.60 + 0.0147 < 1, step 2: 0.31 + 0.60 + 0.014973 < 1, then Kalshi is empty.
    ticks = {
        "kalshi": tick("kalshi", ladder(("0.30", 1), ("0.31", 1)), (), "0.07"),
        "polymarket": tick("polymarket", (), ladder(("0.60", 5))),
    }
    opp = run(ticks)[0]
    assert (opp.size, opp.cost) == (2, D("1.81"))
    # Trade fees 0.0147 + 0.0150 (0.014973 up to $0.0001); outlay ceil_cent(0.61 + 0.0297) = 0.64.
    assert opp.fees == D("0.03")
    assert opp.net_profit == D("0.16")
    assert opp.net_edge == D("0.08")
    assert opp.legs[1].avg_price == D("0.6")

    # The conservative rule: 0.0147 -> 0.02 and 0.014973 -> 0.02 on their own.
    opp = run(ticks, fee_policy=FeePolicy("per_fill_cent"))[0]
    assert (opp.size, opp.cost, opp.fees, opp.net_profit) == (2, D("1.81"), D("0.04"), D("0.15"))
    assert opp.net_edge == D("0.075")
    # A direct member's account keeps $0.0001: the trade fees alone.
    opp = run(ticks, fee_policy=FeePolicy("order", D("0.0001")))[0]
    assert (opp.fees, opp.net_profit) == (D("0.0297"), D("0.1603"))


def test_worked_example_under_every_kalshi_rule() -> None:
    """docs/edge.md: the Kalshi leg costs 2.10 in fees under either rule (1.40 + 0.70 per fill)."""
    for policy in (FeePolicy(), FeePolicy("per_fill_cent")):
        forward = run(worked_example(), fee_policy=policy)[0]
        assert (forward.fees, forward.net_profit) == (D("3.2957"), D("1.9043")), policy
    forward = run(worked_example(), fee_policy=FeePolicy("order", D("0.0001")))[0]
    assert (forward.fees, forward.net_profit) == (D("3.2935"), D("1.9065"))  # 2.0978 + 1.1957


def test_polymarket_fee_exponent() -> None:
    """``fee_exponent`` 2: fees and the walk's marginal cost use (p * (1 - p)) ** 2."""
    ticks = {
        "kalshi": tick("kalshi", ladder(("0.40", 10)), (), "0"),
        "polymarket": tick("polymarket", (), ladder(("0.50", 10), ("0.58", 10)), "0.25"),
    }
    # Exponent 1: step 1 costs 0.40 + 0.50 + 0.25 * 0.25 = 0.9625 < 1, 10 contracts; fee 0.625.
    opp = run(ticks)[0]
    assert (opp.size, opp.cost, opp.fees) == (10, D("9.00"), D("0.625"))
    # Exponent 2: 0.25 * 0.0625 = 0.015625 per contract, 10 contracts: 0.15625 -> 0.1563.
    opp = run(ticks, fee_exponents={"polymarket": 2})[0]
    assert (opp.size, opp.cost, opp.fees, opp.net_profit) == (10, D("9.00"), D("0.1563"), D("0.8437"))
    # The marginal cost criterion too: at 0.58, p * (1 - p) = 0.2436; with exponent 1 one more
    # contract costs 0.40 + 0.58 + 0.0609 >= 1 (stop), with exponent 2 0.40 + 0.58 + 0.0148352 < 1.
    ticks["kalshi"] = tick("kalshi", ladder(("0.40", 20)), (), "0")
    assert run(ticks)[0].size == 10
    opp = run(ticks, fee_exponents={"polymarket": 2})[0]
    assert opp.size == 20
    assert opp.fees == D("0.1563") + D("0.1484")  # 10 * 0.25 * 0.05934096 = 0.148352 -> 0.1484


def test_min_edge_cuts_the_walk() -> None:
    opp = run(worked_example(), "0.01")[0]  # step 2 costs 0.997464 >= 0.99
    # Kalshi ceil_cent(38.40 + 1.3978) - 38.40 = 1.40, Polymarket ceil_0.0001(0.79712).
    assert (opp.size, opp.cost, opp.fees) == (80, D("76.00"), D("2.1972"))
    assert opp.net_profit == D("1.8028")
    assert opp.net_edge == D("0.022535")
    assert opp.executable

    opp = run(worked_example(), "0.03")[0]  # step 1 costs 0.977436 >= 0.97
    assert (opp.size, opp.net_profit, opp.executable) == (0, 0, False)
    assert opp.gross_edge == D("0.05")  # the top of book is still reported


def test_cost_equal_to_limit_is_not_taken() -> None:
    ticks = {
        "kalshi": tick("kalshi", (), ladder(("0.60", 10)), "0.07"),
        "polymarket": tick("polymarket", ladder(("0.40", 10)), ()),
    }
    opp = run(ticks, fee_rates={"kalshi": D(0)})[1]  # fee_rates overrides Tick.fee_rate
    assert opp.key == "p|binary|polymarket:yes,kalshi:no"
    assert (opp.gross_edge, opp.size, opp.executable) == (0, 0, False)
    # With Kalshi's fee it is further away still; without any fee and one tick cheaper it is taken.
    ticks["polymarket"] = tick("polymarket", ladder(("0.39", 10)), ())
    opp = run(ticks, fee_rates={"kalshi": D(0)})[1]
    assert (opp.size, opp.cost, opp.fees, opp.net_profit) == (10, D("9.90"), 0, D("0.10"))


def test_uncrossed_books_have_no_edge() -> None:
    # Ladders are used as given (orientation/invert is the normaliser's job): no crossing, no edge.
    ticks = {
        "kalshi": tick("kalshi", ladder(("0.52", 100)), ladder(("0.50", 100)), "0.07"),
        "polymarket": tick("polymarket", ladder(("0.51", 100)), ladder(("0.49", 100)), "0.04"),
    }
    a, b = run(ticks)
    assert (a.gross_edge, a.size, a.executable) == (D("-0.01"), 0, False)
    assert (b.gross_edge, b.size, b.executable) == (D("-0.01"), 0, False)


def test_depth_exhausted_books_partial_other_leg() -> None:
    ticks = {
        "kalshi": tick("kalshi", ladder(("0.40", 10)), (), "0.07"),
        "polymarket": tick("polymarket", (), ladder(("0.50", 25))),
    }
    opp = run(ticks)[0]
    # Kalshi trade fee 0.1680; outlay ceil_cent(4.00 + 0.168) = 4.17.
    assert (opp.size, opp.cost, opp.fees, opp.net_profit) == (10, D("9.00"), D("0.17"), D("0.83"))


def test_manifold_leg_never_executable() -> None:
    for real_money in (True, False):  # even if a producer mislabels it
        ticks = {
            "kalshi": tick("kalshi", ladder(("0.40", 10)), (), "0.07"),
            "manifold": tick("manifold", (), ladder(("0.50", 1000)), "0.07", real_money=real_money),
        }
        opp = run(ticks)[0]
        assert opp.key == "p|binary|kalshi:yes,manifold:no"
        assert opp.fees == D("0.17")  # Manifold charges nothing whatever the tick says
        assert opp.net_profit > 0
        assert not opp.executable


def test_stale_leg_not_executable() -> None:
    ticks = worked_example()
    ticks["kalshi"] = replace(ticks["kalshi"], event_ts=1_000 - AGE)
    opp = run(ticks)[0]
    assert (opp.quote_age_ms, opp.event_ts, opp.executable) == (AGE, 1_000, True)  # age == max is fresh

    ticks["kalshi"] = replace(ticks["kalshi"], event_ts=1_000 - AGE - 1)
    opp = run(ticks)[0]
    assert (opp.quote_age_ms, opp.executable) == (AGE + 1, False)
    assert opp.net_profit == D("1.9043")  # still reported, just not executable


def test_age_is_against_the_newest_tick_of_the_pair() -> None:
    ticks = worked_example()
    ticks["manifold"] = tick("manifold", ladder(("0.9", 1)), ladder(("0.9", 1)), ts=1_000 + AGE + 1)
    opps = run(ticks)
    forward = next(o for o in opps if o.key == "p|binary|kalshi:yes,polymarket:no")
    assert (forward.quote_age_ms, forward.event_ts, forward.executable) == (AGE + 1, 1_000 + AGE + 1, False)


def test_halted_closed_settled_or_out_of_sync_not_executable() -> None:
    for venue in ("kalshi", "polymarket"):
        for change in ({"status": "halted"}, {"status": "closed"}, {"status": "settled"}, {"in_sync": False}):
            ticks = worked_example()
            ticks[venue] = replace(ticks[venue], **change)
            opp = run(ticks)[0]
            assert opp.net_profit == D("1.9043")
            assert not opp.executable, (venue, change)


def test_empty_book() -> None:
    ticks = worked_example()
    ticks["kalshi"] = replace(ticks["kalshi"], yes_asks=())
    forward, reverse = run(ticks)
    assert forward.gross_edge is None
    assert (forward.size, forward.cost, forward.fees, forward.net_profit, forward.executable) == (
        0,
        0,
        0,
        0,
        False,
    )
    assert forward.legs[0].best_price is None and forward.legs[0].avg_price is None
    assert forward.legs[1].best_price == D("0.47")
    assert reverse.gross_edge == D("-0.14")
    assert run({"kalshi": ticks["kalshi"]}) == []  # one venue: nothing to pair


def test_three_venues_give_six_directions_in_name_order() -> None:
    ticks = worked_example()
    ticks["manifold"] = tick("manifold", ladder(("0.45", 100)), ladder(("0.50", 100)))
    keys = [o.key for o in run(ticks)]
    assert keys == [
        "p|binary|kalshi:yes,manifold:no",
        "p|binary|kalshi:yes,polymarket:no",
        "p|binary|manifold:yes,kalshi:no",
        "p|binary|manifold:yes,polymarket:no",
        "p|binary|polymarket:yes,kalshi:no",
        "p|binary|polymarket:yes,manifold:no",
    ]
    by_key = {o.key: o for o in run(ticks)}
    # Sharing ladders between directions must not change any result.
    assert by_key["p|binary|kalshi:yes,polymarket:no"] == run(worked_example())[0]
    # Manifold YES 0.45 x100 + Polymarket NO 0.47: 0.929964 < 1, Manifold's book ends after 100.
    m = by_key["p|binary|manifold:yes,polymarket:no"]
    assert (m.size, m.cost, m.fees, m.executable) == (100, D("92.00"), D("0.9964"), False)  # 0.9964 exact


def test_results_are_deterministic_and_decimal() -> None:
    a = run(worked_example())
    b = run(dict(reversed(list(worked_example().items()))))
    assert a == b
    for opp in a:
        for value in (opp.size, opp.cost, opp.fees, opp.net_profit, opp.net_edge):
            assert isinstance(value, D)
