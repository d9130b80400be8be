"""Fee models: per-fill rounding up to the venue quantum, unrounded marginal fee for the walk."""

from decimal import Decimal as D

import pytest

from echoarb.scan.edge.fees import FeeModel, fee_model


def test_kalshi_rounds_up_to_the_cent() -> None:
    m = fee_model("kalshi", D("0.07"))
    assert m == FeeModel(D("0.07"), D("0.01"))
    assert m.fee(D(80), D("0.48")) == D("1.40")  # 1.39776
    assert m.fee(D(40), D("0.50")) == D("0.70")  # exact: not bumped
    assert m.fee(D(1), D("0.50")) == D("0.02")  # 0.0175
    assert m.fee(D(100), D("0.50")) == D("1.75")  # exact


def test_polymarket_rounds_up_to_the_basis_point() -> None:
    m = fee_model("polymarket", D("0.04"))
    assert m.quantum == D("0.0001")
    assert m.fee(D(120), D("0.47")) == D("1.1957")  # 1.19568
    assert m.fee(D(80), D("0.47")) == D("0.7972")  # 0.79712


def test_rounding_is_per_fill() -> None:
    m = fee_model("kalshi", D("0.07"))
    one_fill = m.fee(D(2), D("0.30"))  # 0.0294 -> 0.03
    two_fills = m.fee(D(1), D("0.30")) + m.fee(D(1), D("0.30"))  # 0.0147 -> 0.02 twice
    assert (one_fill, two_fills) == (D("0.03"), D("0.04"))


def test_zero_rate_and_manifold_are_free() -> None:
    assert fee_model("polymarket", D(0)).fee(D(1000), D("0.5")) == 0
    manifold = fee_model("manifold", D("0.07"))  # rate ignored: play money
    assert manifold.rate == 0
    assert manifold.fee(D(1000), D("0.5")) == 0
    assert manifold.marginal(D("0.5")) == 0


def test_marginal_is_unrounded() -> None:
    assert fee_model("kalshi", D("0.07")).marginal(D("0.48")) == D("0.017472")
    assert fee_model("polymarket", D("0.04")).marginal(D("0.47")) == D("0.009964")


def test_bad_venue_or_rate() -> None:
    with pytest.raises(ValueError, match="unknown venue"):
        fee_model("betfair", D(0))
    with pytest.raises(ValueError, match="negative"):
        fee_model("kalshi", D("-0.01"))
