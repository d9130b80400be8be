"""Binary cross-venue opportunities: buy YES on venue A and NO on venue B, for every A != B."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from echoarb.model import Opportunity, Tick
from echoarb.scan.edge.fees import DEFAULT_POLICY, FeePolicy, fee_model
from echoarb.scan.edge.walk import PricedLadder, WalkResult, build_opportunity, walk

WalkCache = dict[tuple[str, str], tuple[Tick, Tick, Decimal, WalkResult]]
"""Per pair: (YES venue, NO venue) -> (the two quotes, min_edge, their walk)."""


def evaluate_binary(
    pair_id: str,
    ticks: Mapping[str, Tick],
    *,
    min_edge: Decimal,
    max_quote_age_ms: int,
    fee_rates: Mapping[str, Decimal] | None = None,
    fee_exponents: Mapping[str, int] | None = None,
    fee_policy: FeePolicy = DEFAULT_POLICY,
    walks: WalkCache | None = None,
) -> list[Opportunity]:
    """One Opportunity per ordered venue pair (A, B), A != B, ordered by (A, B) venue names.

    ``ticks`` maps venue -> latest Tick of that venue for the pair (already in the pair's
    orientation). A venue's fee rate is ``fee_rates[venue]`` when given, else ``Tick.fee_rate``
    (Manifold is always 0). ``fee_exponents[venue]`` is a Polymarket market's fee exponent
    (default 1, from the pair's config); ``fee_policy`` is the account's Kalshi rounding.
    Ages are measured against the newest event time of all ``ticks``.

    ``walks`` (kept by the caller per pair) reuses the walk of a direction whose two quotes
    are the very same objects as last time: a tick changes only the directions it is a leg
    of, and a walk depends on nothing but its two ladders and ``min_edge``. Only valid
    without ``fee_rates`` (fees then come from the quotes themselves), and with the same
    ``fee_exponents`` and ``fee_policy`` on every call that shares the cache.
    """
    if fee_rates:
        walks = None
    if len(ticks) < 2:
        return []
    venues = sorted(ticks)
    newest_ts = max(t.event_ts for t in ticks.values())
    books: dict[str, tuple[Tick, PricedLadder, PricedLadder]] = {}
    for venue in venues:
        tick = ticks[venue]
        rate = fee_rates.get(venue, tick.fee_rate) if fee_rates else tick.fee_rate
        exponent = fee_exponents.get(venue, 1) if fee_exponents else 1
        model = fee_model(tick.venue, rate, exponent, fee_policy)
        books[venue] = (tick, PricedLadder(tick.yes_asks, model), PricedLadder(tick.no_asks, model))

    out: list[Opportunity] = []
    for a in venues:
        tick_a, yes_a, _ = books[a]
        for b in venues:
            if a == b:
                continue
            tick_b, _, no_b = books[b]
            cached = walks.get((a, b)) if walks is not None else None
            if cached is not None and cached[0] is tick_a and cached[1] is tick_b and cached[2] == min_edge:
                result = cached[3]
            else:
                result = walk((yes_a, no_b), min_edge)
                if walks is not None:
                    walks[(a, b)] = (tick_a, tick_b, min_edge, result)
            out.append(
                build_opportunity(
                    pair_id,
                    "binary",
                    ((tick_a, "yes", yes_a, ""), (tick_b, "no", no_b, "")),
                    result,
                    newest_ts=newest_ts,
                    max_quote_age_ms=max_quote_age_ms,
                )
            )
    return out
