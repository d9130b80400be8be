"""The depth walk of docs/edge.md over N ask ladders, and turning its result into an Opportunity.

Binary pairs walk two ladders (YES on A, NO on B); categorical baskets walk one YES ladder
per outcome. Each step buys the same quantity on every ladder, so every leg ends with the
same size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from echoarb.model import ONE, ZERO, Ladder, Leg, Opportunity, Side, SpreadKind, Tick
from echoarb.scan.edge.fees import FeeModel

PRICE_QUANTUM = Decimal("0.000001")
"""Quantum of derived ratios (average fill price, net edge): keeps results comparable across ticks."""


class PricedLadder:
    """An ask ladder with its fee model; caches each level's all-in unit cost once computed.

    One instance is shared by every direction that uses the ladder in a call, so a level's
    marginal fee is computed at most once per call, and only for levels the walk reaches.
    """

    __slots__ = ("_units", "levels", "model")

    def __init__(self, levels: Ladder, model: FeeModel) -> None:
        self.levels = levels
        self.model = model
        self._units: list[Decimal] = []

    def unit(self, j: int) -> Decimal:
        """Price plus marginal fee per contract at level ``j``."""
        units = self._units
        while len(units) <= j:
            price = self.levels[len(units)].price
            units.append(price + self.model.marginal(price))
        return units[j]

    @property
    def best(self) -> Decimal | None:
        return self.levels[0].price if self.levels else None


@dataclass(frozen=True, slots=True)
class Fill:
    """What one leg took: ``size`` contracts for ``notional`` dollars plus ``fees``."""

    size: Decimal
    notional: Decimal
    fees: Decimal
    avg_price: Decimal | None


@dataclass(frozen=True, slots=True)
class WalkResult:
    """Totals of a walk; ``fills`` are per ladder, in the order given."""

    size: Decimal
    cost: Decimal
    fees: Decimal
    fills: tuple[Fill, ...]


_NO_FILL = Fill(ZERO, ZERO, ZERO, None)
_EMPTY: dict[int, WalkResult] = {}


def _next_level(levels: Ladder, j: int) -> int:
    """First level at or after ``j`` with a positive size (defends against malformed ladders)."""
    while j < len(levels) and levels[j].size <= 0:
        j += 1
    return j


def first_unit(levels: Ladder, model: FeeModel) -> Decimal | None:
    """Unit cost (price plus marginal fee) of the first level a walk takes; None if none.

    The same arithmetic as ``PricedLadder.unit`` on the level ``walk`` starts from, so a
    caller can tell exactly when ``walk`` would return at its "not crossed" check.
    """
    j = _next_level(levels, 0)
    if j >= len(levels):
        return None
    price = levels[j].price
    return price + model.marginal(price)


def walk(ladders: Sequence[PricedLadder], min_edge: Decimal) -> WalkResult:
    """Walk all ladders from the top while one more contract of every leg costs ``< 1 - min_edge``.

    Fees are charged per ladder as one order: one fill per level on the total quantity taken
    there (``FeeModel.fill_fee``), then the order's rounding (``FeeModel.leg_fees``).
    """
    return walk_reach(ladders, min_edge)[0]


def walk_reach(ladders: Sequence[PricedLadder], min_edge: Decimal) -> tuple[WalkResult, tuple[int, ...]]:
    """:func:`walk`, and how far it read each ladder: the result depends on nothing else.

    ``reach[i]`` is the number of levels of ladder ``i`` read from the top; ``len + 1`` when
    the walk ran off its end (then a longer ladder would change the result). A caller that
    sees the same levels up to each reach again (``same_levels``) may keep the result.
    """
    n = len(ladders)
    empty = _EMPTY.get(n) or _EMPTY.setdefault(n, WalkResult(ZERO, ZERO, ZERO, (_NO_FILL,) * n))
    if n == 0:
        return empty, ()
    idx: list[int] = []
    units: list[Decimal] = []
    unit = ZERO
    for lad in ladders:
        j = _next_level(lad.levels, 0)
        if j >= len(lad.levels):
            return empty, (*(k + 1 for k in idx), j + 1, *(0,) * (n - len(idx) - 1))
        idx.append(j)
        u = lad.unit(j)
        units.append(u)
        unit += u
    limit = ONE - min_edge
    if unit >= limit:  # the common case: books not crossed, nothing else allocated
        return empty, tuple(k + 1 for k in idx)

    left = [lad.levels[j].size for j, lad in zip(idx, ladders, strict=True)]
    taken = [ZERO] * n
    notional = [ZERO] * n
    fees = [ZERO] * n
    size = ZERO
    exhausted = False
    while not exhausted and unit < limit:
        q = min(left)
        size += q
        for i in range(n):
            left[i] -= q
            taken[i] += q
        for i in range(n):
            if left[i] > 0:
                continue
            lad = ladders[i]
            price = lad.levels[idx[i]].price
            notional[i] += taken[i] * price
            fees[i] += lad.model.fill_fee(taken[i], price)
            taken[i] = ZERO
            j = idx[i] = _next_level(lad.levels, idx[i] + 1)
            if j >= len(lad.levels):
                exhausted = True  # finish booking the other legs' fills, then stop
                continue
            left[i] = lad.levels[j].size
            units[i] = lad.unit(j)
        unit = sum(units, ZERO)

    for i in range(n):  # partly taken levels
        if taken[i]:
            lad = ladders[i]
            price = lad.levels[idx[i]].price
            notional[i] += taken[i] * price
            fees[i] += lad.model.fill_fee(taken[i], price)
    for i in range(n):  # per-order rounding (Kalshi's account precision)
        fees[i] = ladders[i].model.leg_fees(notional[i], fees[i])

    fills = tuple(
        Fill(size, notional[i], fees[i], (notional[i] / size).quantize(PRICE_QUANTUM)) for i in range(n)
    )
    return WalkResult(size, sum(notional, ZERO), sum(fees, ZERO), fills), tuple(k + 1 for k in idx)


def same_levels(old: Ladder, new: Ladder, reach: int) -> bool:
    """Whether ``new`` has the very same first ``reach`` levels as ``old`` (see ``walk_reach``).

    "The same" is exact: equal values written the same way (0.5 and 0.50 are not the same
    here), because results carry the Decimals they were computed from.
    """
    if reach > len(old):
        if len(new) != len(old):
            return False
        reach = len(old)
    elif len(new) < reach:
        return False
    for k in range(reach):
        a = old[k]
        b = new[k]
        if a is not b:
            pa, pb, sa, sb = a.price, b.price, a.size, b.size
            # different values are written differently; equal ones may be too
            if pa != pb or sa != sb or str(pa) != str(pb) or str(sa) != str(sb):
                return False
    return True


def tradable(tick: Tick, newest_ts: int, max_quote_age_ms: int) -> bool:
    """Whether a leg on this quote could be executed now (everything but profitability)."""
    return (
        tick.real_money
        and tick.venue != "manifold"  # play money, whatever the producer says
        and tick.status == "open"
        and tick.in_sync
        and newest_ts - tick.event_ts <= max_quote_age_ms
    )


class Parts(NamedTuple):
    """The fields of an Opportunity that depend on the walk alone (not on time)."""

    legs: tuple[Leg, ...]
    gross_edge: Decimal | None
    size: Decimal
    cost: Decimal
    fees: Decimal
    net_profit: Decimal
    net_edge: Decimal


def opportunity_parts(
    legs: Sequence[tuple[Tick, Side, PricedLadder, str]],
    size: Decimal,
    cost: Decimal,
    fees: Decimal,
    fills: Sequence[tuple[Decimal | None, Decimal]],
) -> Parts:
    """The time-independent fields of docs/edge.md from a walk's totals and its fills'
    (average price, size), one per leg in the same order."""
    gross_edge: Decimal | None = ONE
    for _, _, lad, _ in legs:
        best = lad.best
        if best is None or gross_edge is None:
            gross_edge = None
        else:
            gross_edge -= best
    if size:
        net_profit = size - cost - fees
        net_edge = (net_profit / size).quantize(PRICE_QUANTUM)
    else:
        net_profit = net_edge = ZERO
    return Parts(
        tuple(
            Leg(tick.venue, side, lad.best, avg_price, fill_size, outcome)
            for (tick, side, lad, outcome), (avg_price, fill_size) in zip(legs, fills, strict=True)
        ),
        gross_edge,
        size,
        cost,
        fees,
        net_profit,
        net_edge,
    )


def build_opportunity(
    pair_id: str,
    kind: SpreadKind,
    legs: Sequence[tuple[Tick, Side, PricedLadder, str]],
    result: WalkResult,
    *,
    newest_ts: int,
    max_quote_age_ms: int,
) -> Opportunity:
    """Assemble the Opportunity fields of docs/edge.md from a walk over ``legs`` (same order).

    Each leg is (quote, side bought, the ladder walked, outcome name or "" for binary pairs).
    """
    parts = opportunity_parts(
        legs, result.size, result.cost, result.fees, [(f.avg_price, f.size) for f in result.fills]
    )
    executable = parts.net_profit > 0
    age = 0
    for tick, _, _, _ in legs:
        age = max(age, newest_ts - tick.event_ts)
        executable = executable and tradable(tick, newest_ts, max_quote_age_ms)
    return Opportunity(
        pair_id=pair_id,
        kind=kind,
        legs=parts.legs,
        gross_edge=parts.gross_edge,
        size=parts.size,
        cost=parts.cost,
        fees=parts.fees,
        net_profit=parts.net_profit,
        net_edge=parts.net_edge,
        executable=executable,
        quote_age_ms=age,
        event_ts=newest_ts,
    )
