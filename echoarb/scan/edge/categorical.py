"""Categorical baskets: buy YES of every outcome of an exhaustive set, each at its cheapest venue.

Exactly one outcome of an exhaustive set pays $1, so a basket costing less than $1 (fees
included) is an arbitrage. A non-exhaustive set has no such guarantee and is never evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from echoarb.model import Opportunity, Side, Tick
from echoarb.scan.edge.fees import DEFAULT_POLICY, FeePolicy, fee_model
from echoarb.scan.edge.walk import PricedLadder, build_opportunity, walk


def _cheapest(
    outcome: str,
    venues: Mapping[str, Tick],
    fee_rates: Mapping[str, Decimal] | None,
    fee_exponents: Mapping[tuple[str, str], int] | None,
    fee_policy: FeePolicy,
) -> tuple[Tick, PricedLadder] | None:
    """The venue whose best YES ask costs least all-in (price plus marginal fee); ties by venue name."""
    best: tuple[Decimal, str, Tick, PricedLadder] | None = None
    for venue in sorted(venues):
        tick = venues[venue]
        if not tick.yes_asks:
            continue
        rate = fee_rates.get(venue, tick.fee_rate) if fee_rates else tick.fee_rate
        exponent = fee_exponents.get((outcome, venue), 1) if fee_exponents else 1
        ladder = PricedLadder(tick.yes_asks, fee_model(tick.venue, rate, exponent, fee_policy))
        unit = ladder.unit(0)
        if best is None or unit < best[0]:
            best = (unit, venue, tick, ladder)
    return None if best is None else (best[2], best[3])


def evaluate_basket(
    pair_id: str,
    outcome_ticks: Mapping[str, Mapping[str, Tick]],
    *,
    exhaustive: bool,
    min_edge: Decimal,
    max_quote_age_ms: int,
    fee_rates: Mapping[str, Decimal] | None = None,
    fee_exponents: Mapping[tuple[str, str], int] | None = None,
    fee_policy: FeePolicy = DEFAULT_POLICY,
) -> Opportunity | None:
    """The basket opportunity of a categorical pair, or None when it cannot be formed.

    ``outcome_ticks`` maps outcome name -> venue -> latest Tick; it must name every outcome
    of the pair (an outcome with no venue quoting YES makes the basket undefined: None).
    Legs are ordered by outcome name; ages are against the newest event time of all ticks.
    Fee rates and policy as in :func:`~echoarb.scan.edge.binary.evaluate_binary`;
    ``fee_exponents`` is keyed by (outcome, venue).
    """
    if not exhaustive or not outcome_ticks:
        return None
    legs: list[tuple[Tick, Side, PricedLadder, str]] = []
    for outcome in sorted(outcome_ticks):
        chosen = _cheapest(outcome, outcome_ticks[outcome], fee_rates, fee_exponents, fee_policy)
        if chosen is None:
            return None
        legs.append((chosen[0], "yes", chosen[1], outcome))
    newest_ts = max(t.event_ts for venues in outcome_ticks.values() for t in venues.values())
    result = walk([lad for _, _, lad, _ in legs], min_edge)
    return build_opportunity(
        pair_id, "categorical_basket", legs, result, newest_ts=newest_ts, max_quote_age_ms=max_quote_age_ms
    )
