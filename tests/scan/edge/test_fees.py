"""Fee models (docs/edge.md "Fees"): the 2026 rules, the per-fill-cent option, Polymarket's exponent."""

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from echoarb.scan.edge.fees import BASIS, CENT, FeeModel, FeePolicy, ceil_to, fee_model

PER_FILL_CENT = FeePolicy("per_fill_cent")
DIRECT_MEMBER = FeePolicy("order", BASIS)
EXAMPLE = [(D(10), D("0.48")), (D(10), D("0.49")), (D(10), D("0.50"))]


def test_kalshi_edge_md_example_order_rule() -> None:
    """docs/edge.md: YES asks 0.48, 0.49, 0.50 x10 each, all taken, cent account."""
    m = fee_model("kalshi", D("0.07"))
    assert m == FeeModel(D("0.07"), BASIS, 1, CENT)
    assert [m.fill_fee(q, p) for q, p in EXAMPLE] == [D("0.1748"), D("0.1750"), D("0.1750")]
    # outlay ceil_cent(14.70 + 0.5248) = 15.23
    assert m.leg_fees(D("14.70"), D("0.5248")) == D("0.53")
    assert m.order_fees(EXAMPLE) == D("0.53")


def test_kalshi_edge_md_example_per_fill_cent() -> None:
    m = fee_model("kalshi", D("0.07"), policy=PER_FILL_CENT)
    assert m == FeeModel(D("0.07"), CENT)
    assert [m.fill_fee(q, p) for q, p in EXAMPLE] == [D("0.18")] * 3
    assert m.order_fees(EXAMPLE) == D("0.54")


def test_kalshi_direct_member_precision() -> None:
    m = fee_model("kalshi", D("0.07"), policy=DIRECT_MEMBER)
    assert m.order_fees(EXAMPLE) == D("0.5248")  # already on the $0.0001 grid
    assert m.order_fees([(D(80), D("0.48"))]) == D("1.3978")  # 1.39776 up to the basis point


def test_kalshi_worked_example_leg() -> None:
    """The binary worked example's Kalshi leg: 80 at 0.48 and 40 at 0.50."""
    fills = [(D(80), D("0.48")), (D(40), D("0.50"))]
    m = fee_model("kalshi", D("0.07"))
    assert [m.fill_fee(q, p) for q, p in fills] == [D("1.3978"), D("0.7000")]
    assert m.order_fees(fills) == D("2.10")  # ceil_cent(58.40 + 2.0978) - 58.40
    assert fee_model("kalshi", D("0.07"), policy=PER_FILL_CENT).order_fees(fills) == D("2.10")  # 1.40 + 0.70


def test_kalshi_per_order_rounding_refunds_overpaid_cents() -> None:
    # Two one-contract fills at 0.30: 0.0147 each; per fill to the cent 0.02 + 0.02,
    # as one order ceil_cent(0.60 + 0.0294) - 0.60 = 0.03.
    fills = [(D(1), D("0.30")), (D(1), D("0.30"))]
    assert fee_model("kalshi", D("0.07")).order_fees(fills) == D("0.03")
    assert fee_model("kalshi", D("0.07"), policy=PER_FILL_CENT).order_fees(fills) == D("0.04")


def test_kalshi_sub_cent_notional_is_rounded_on_a_cent_account() -> None:
    # A deci-cent price: the balance must come back to the cent even without a trade fee.
    fills = [(D(1), D("0.455"))]
    assert fee_model("kalshi", D(0)).order_fees(fills) == D("0.005")
    assert fee_model("kalshi", D(0), policy=DIRECT_MEMBER).order_fees(fills) == 0


def test_polymarket_rounds_up_to_the_basis_point_per_fill() -> None:
    m = fee_model("polymarket", D("0.04"))
    assert m == FeeModel(D("0.04"), BASIS, 1, None)
    assert m.fill_fee(D(120), D("0.47")) == D("1.1957")  # 1.19568
    assert m.fill_fee(D(80), D("0.47")) == D("0.7972")  # 0.79712
    assert m.order_fees([(D(80), D("0.47")), (D(40), D("0.47"))]) == D("1.1958")  # 0.7972 + 0.3986


def test_polymarket_exponent() -> None:
    m = fee_model("polymarket", D("0.25"), 2)
    # 100 * 0.25 * (0.5 * 0.5) ** 2 = 1.5625 exactly; 10 at 0.3: 10 * 0.25 * 0.21**2 = 0.11025 -> 0.1103
    assert m.fill_fee(D(100), D("0.5")) == D("1.5625")
    assert m.fill_fee(D(10), D("0.3")) == D("0.1103")
    assert m.marginal(D("0.3")) == D("0.011025")  # the walk's criterion uses the same exponent
    assert fee_model("polymarket", D("0.25")).marginal(D("0.3")) == D("0.0525")


def test_zero_rate_and_manifold_are_free() -> None:
    assert fee_model("polymarket", D(0)).fill_fee(D(1000), D("0.5")) == 0
    manifold = fee_model("manifold", D("0.07"))  # rate ignored: play money
    assert manifold.rate == 0
    assert manifold.order_fees([(D(1000), D("0.5"))]) == 0
    assert manifold.marginal(D("0.5")) == 0


def test_marginal_is_unrounded() -> None:
    assert fee_model("kalshi", D("0.07")).marginal(D("0.48")) == D("0.017472")
    assert fee_model("polymarket", D("0.04")).marginal(D("0.47")) == D("0.009964")


def test_ceil_to() -> None:
    assert ceil_to(D("1.39776"), BASIS) == D("1.3978")
    assert ceil_to(D("0.70"), CENT) == D("0.70")
    assert ceil_to(D("0.7000001"), CENT) == D("0.71")


def test_bad_venue_rate_exponent_or_policy() -> None:
    with pytest.raises(ValueError, match="unknown venue"):
        fee_model("betfair", D(0))
    with pytest.raises(ValueError, match="negative"):
        fee_model("kalshi", D("-0.01"))
    with pytest.raises(ValueError, match="whole number"):
        fee_model("polymarket", D("0.04"), 0)
    with pytest.raises(ValueError, match="Polymarket markets only"):
        fee_model("kalshi", D("0.07"), 2)
    with pytest.raises(ValueError, match="precision"):
        FeePolicy("order", D("0.001"))
    with pytest.raises(ValueError, match="rounding"):
        FeePolicy("per_fill", CENT)  # type: ignore[arg-type]


# Kalshi fills as the venue has them: whole contracts at cent prices (or deci-cent prices on
# a $0.0001 account), so the notional is on the account's precision grid.
def _fills(grid: int) -> st.SearchStrategy[list[tuple[D, D]]]:
    price = st.integers(1, grid - 1).map(lambda n: D(n) / grid)
    qty = st.integers(1, 5_000).map(D)
    return st.lists(st.tuples(qty, price), min_size=1, max_size=12)


RATES = st.sampled_from([D(0), D("0.0175"), D("0.035"), D("0.07"), D("0.1")])


@settings(max_examples=400, deadline=None)
@given(fills=_fills(100), rate=RATES)
def test_order_rule_never_exceeds_per_fill_cent_on_a_cent_account(fills: list[tuple[D, D]], rate: D) -> None:
    new = fee_model("kalshi", rate).order_fees(fills)
    old = fee_model("kalshi", rate, policy=PER_FILL_CENT).order_fees(fills)
    assert 0 <= new <= old
    exact = sum((rate * q * p * (1 - p) for q, p in fills), D(0))
    assert new >= exact  # never below the unrounded fee


@settings(max_examples=400, deadline=None)
@given(fills=_fills(1000), rate=RATES)
def test_order_rule_never_exceeds_per_fill_cent_on_a_direct_account(
    fills: list[tuple[D, D]], rate: D
) -> None:
    new = fee_model("kalshi", rate, policy=DIRECT_MEMBER).order_fees(fills)
    old = fee_model("kalshi", rate, policy=PER_FILL_CENT).order_fees(fills)
    assert 0 <= new <= old


@settings(max_examples=300, deadline=None)
@given(
    fills=st.lists(
        st.tuples(
            st.decimals(D("0.01"), D(10_000), places=2),
            st.integers(1, 999).map(lambda n: D(n) / 1000),
        ),
        min_size=1,
        max_size=12,
    ),
    rate=RATES,
    exponent=st.integers(1, 4),
    venue=st.sampled_from(["kalshi", "polymarket", "manifold"]),
    policy=st.sampled_from([FeePolicy(), PER_FILL_CENT, DIRECT_MEMBER]),
)
def test_fees_are_never_negative(
    fills: list[tuple[D, D]], rate: D, exponent: int, venue: str, policy: FeePolicy
) -> None:
    model = fee_model(venue, rate, exponent if venue == "polymarket" else 1, policy)
    assert model.order_fees(fills) >= 0
    assert all(model.fill_fee(q, p) >= 0 and model.marginal(p) >= 0 for q, p in fills)
