"""One simulated order against one book: immediate-or-cancel, walking the asks up to a limit.

Every order is a buy. Selling contracts back (an unwind) is modelled as buying the opposite
side of the same market on the same venue: on Kalshi and Polymarket selling YES at ``b``
and buying NO at ``1 - b`` meet the same resting orders and cost the same fee
(``p * (1 - p)`` is symmetric), and YES plus NO of one market pays exactly $1 at
resolution, so the position is closed either way. One code path then fills and prices
everything, and fees always come from the engine's own fee module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from echoarb.model import ZERO, Level, Side, Tick
from echoarb.pairs import MarketPair
from echoarb.scan.edge.fees import DEFAULT_POLICY, FeeModel, FeePolicy, fee_model
from echoarb.scan.scanner import fee_exponents

Purpose = Literal["entry", "hedge", "unwind", "mark"]


@dataclass(frozen=True, slots=True)
class Order:
    """Buy ``qty`` of ``side`` (of ``outcome``) on ``venue`` at event time ``ts``, at most ``limit``.

    ``limit`` None is a market order (it takes whatever the book holds). ``purpose`` says why
    it was sent; a ``mark`` order is hypothetical (the value of a position left open).
    """

    venue: str
    side: Side
    outcome: str
    qty: Decimal
    limit: Decimal | None
    ts: int
    purpose: Purpose = "entry"


@dataclass(frozen=True, slots=True)
class OrderFill:
    """What an order got: ``levels`` taken (price, quantity), their notional and the fees.

    ``reason`` says why it filled short ("" when it filled in full).
    """

    order: Order
    levels: tuple[Level, ...]
    filled: Decimal
    notional: Decimal
    fees: Decimal
    reason: str = ""

    @property
    def outlay(self) -> Decimal:
        """Dollars paid: notional plus fees."""
        return self.notional + self.fees

    @property
    def complete(self) -> bool:
        return self.filled == self.order.qty


class Fees:
    """The fee model of an order's market, exactly as the scanner prices it: the quote's rate,
    the pair's Polymarket fee exponent and the account's Kalshi rounding (``ScanParams.fees``)."""

    def __init__(
        self, pairs: Mapping[str, MarketPair] | None = None, policy: FeePolicy = DEFAULT_POLICY
    ) -> None:
        self.policy = policy
        self._exponents = {pid: fee_exponents(pair) for pid, pair in (pairs or {}).items()}

    def model(self, tick: Tick) -> FeeModel:
        exponent = self._exponents.get(tick.pair_id, {}).get((tick.outcome, tick.venue), 1)
        return fee_model(tick.venue, tick.fee_rate, exponent, self.policy)

    def order_fees(self, tick: Tick, levels: tuple[Level, ...]) -> Decimal:
        """The venue's taker fees for one order that took ``levels`` (one fill per level)."""
        if not levels:
            return ZERO
        return self.model(tick).order_fees((level.size, level.price) for level in levels)


DEFAULT_FEES = Fees()


def _refusal(tick: Tick | None) -> str:
    """Why the venue would not fill any order on this quote ("" when it would)."""
    if tick is None:
        return "no quote yet"
    if tick.status != "open":
        return f"market {tick.status}"
    if not tick.in_sync:
        return "book out of sync"
    if not tick.real_money or tick.venue == "manifold":
        return "play money"
    return ""


def execute(
    order: Order,
    tick: Tick | None,
    consumed: dict[Decimal, Decimal] | None = None,
    fees: Fees = DEFAULT_FEES,
) -> OrderFill:
    """Fill ``order`` against the quote ``tick`` (the book at ``order.ts``), immediate-or-cancel.

    ``consumed`` (price -> contracts) is what earlier orders of the same trade already took
    from this very quote; it is not offered again, and this order's take is added to it.
    """
    refused = _refusal(tick)
    if refused or tick is None:
        return OrderFill(order, (), ZERO, ZERO, ZERO, refused)
    ladder = tick.yes_asks if order.side == "yes" else tick.no_asks
    left = order.qty
    taken: list[Level] = []
    notional = ZERO
    limit = order.limit
    at_limit = False
    for level in ladder:
        if left <= 0:
            break
        if level.size <= 0:
            continue
        if limit is not None and level.price > limit:
            at_limit = True
            break
        size = level.size - consumed.get(level.price, ZERO) if consumed is not None else level.size
        if size <= 0:
            continue
        q = min(left, size)
        if consumed is not None:
            consumed[level.price] = consumed.get(level.price, ZERO) + q
        taken.append(Level(level.price, q))
        notional += q * level.price
        left -= q
    levels = tuple(taken)
    filled = order.qty - left
    if left <= 0:
        reason = ""
    elif not ladder:
        reason = "no asks"
    elif at_limit:
        reason = "limit reached"
    else:
        reason = "book exhausted"
    return OrderFill(order, levels, filled, notional, fees.order_fees(tick, levels), reason)
