"""Venue taker fees as each venue charges them in 2026 (docs/edge.md, "Fees").

This is the one place fee arithmetic lives: the edge engine's depth walk uses it, and so
may anything else that needs a venue's exact fee for a set of fills (a backtester, a
what-if tool). All of it is exact ``Decimal`` arithmetic.

Public API:

- :func:`fee_model` gives the :class:`FeeModel` of one venue's market (taker rate,
  Polymarket exponent) under an account's :class:`FeePolicy` (Kalshi rounding rule and
  account precision, from ``Settings``).
- :meth:`FeeModel.order_fees` is the fee of one order: its fills (one per price level
  taken) as ``(quantity, price)`` pairs.
- :meth:`FeeModel.fill_fee` and :meth:`FeeModel.leg_fees` are the two halves of
  ``order_fees``, for callers that accumulate fills themselves (the walk does).
- :meth:`FeeModel.marginal` is the unrounded fee of one more contract at a price: the walk's
  criterion for taking a step.
- :func:`ceil_to` rounds up to a quantum.

The rules:

- **Kalshi**, ``order`` rounding (the default): each fill's trade fee is
  ``ceil_to(r * q * p * (1 - p), 0.0001)``; a rounding fee keeps the account balance at its
  precision and a per-order accumulator refunds whole overpaid cents, so the order's outlay
  is ``ceil_to(sum(q * p + trade fee), precision)`` and its fees are the outlay minus
  ``sum(q * p)``.
- **Kalshi**, ``per_fill_cent`` rounding (the conservative rule of earlier releases): each
  fill's fee is ``ceil_to(r * q * p * (1 - p), 0.01)``; the order's fees are their sum. It
  never charges less than the ``order`` rule when the notional ``sum(q * p)`` is a whole
  multiple of the account precision (whole contracts at cent prices, or at any price on a
  $0.0001 account); a sub-cent notional on a cent account is rounded up by the venue, which
  only the ``order`` rule knows.
- **Polymarket**: each fill pays ``ceil_to(q * rate * (p * (1 - p)) ** exponent, 0.0001)``;
  the order pays their sum. ``exponent`` is a whole number (1 unless the market says
  otherwise), so the arithmetic stays exact.
- **Manifold**: nothing (play money).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from functools import lru_cache
from typing import Literal, get_args

from echoarb.model import ONE, ZERO

CENT = Decimal("0.01")
BASIS = Decimal("0.0001")

KalshiRounding = Literal["order", "per_fill_cent"]
"""``order``: the 2026 rule (trade fee per fill to $0.0001, outlay per order to the account
precision). ``per_fill_cent``: each fill's fee rounded up to the cent on its own."""
KALSHI_ROUNDINGS: tuple[KalshiRounding, ...] = get_args(KalshiRounding)

ACCOUNT_PRECISIONS = (CENT, BASIS)
"""Kalshi account balance precisions: $0.01 for most accounts, $0.0001 for direct members."""

MAX_EXPONENT = 8


def ceil_to(value: Decimal, quantum: Decimal) -> Decimal:
    """``value`` rounded up (towards +infinity) to a whole multiple of ``quantum``."""
    return value.quantize(quantum, rounding=ROUND_CEILING)


@dataclass(frozen=True, slots=True)
class FeePolicy:
    """The account's side of the fee rules: how Kalshi rounds (``Settings`` fields
    ``KALSHI_FEE_ROUNDING`` and ``KALSHI_ACCOUNT_PRECISION``)."""

    kalshi_rounding: KalshiRounding = "order"
    kalshi_precision: Decimal = CENT

    def __post_init__(self) -> None:
        if self.kalshi_rounding not in KALSHI_ROUNDINGS:
            raise ValueError(
                f"Kalshi fee rounding must be one of {KALSHI_ROUNDINGS}, not {self.kalshi_rounding!r}"
            )
        if self.kalshi_precision not in ACCOUNT_PRECISIONS:
            raise ValueError(f"Kalshi account precision must be 0.01 or 0.0001, not {self.kalshi_precision}")


DEFAULT_POLICY = FeePolicy()


@dataclass(frozen=True, slots=True)
class FeeModel:
    """One venue market's taker fee under one account policy. Build it with :func:`fee_model`.

    ``fill_quantum`` is what each fill's fee is rounded up to; ``order_precision``, when set
    (Kalshi's ``order`` rule), is what the order's outlay (notional plus fees) is rounded up to.
    """

    rate: Decimal
    fill_quantum: Decimal
    exponent: int = 1
    order_precision: Decimal | None = None

    def fill_fee(self, qty: Decimal, price: Decimal) -> Decimal:
        """Fee of one fill of ``qty`` contracts at ``price``, rounded up to ``fill_quantum``."""
        if not self.rate or not qty:
            return ZERO
        if self.exponent == 1:
            raw = self.rate * qty * price * (ONE - price)
        else:
            raw = qty * self.rate * (price * (ONE - price)) ** self.exponent
        return ceil_to(raw, self.fill_quantum)

    def leg_fees(self, notional: Decimal, fill_fees: Decimal) -> Decimal:
        """Fees of one order from its notional ``sum(q * p)`` and the sum of its :meth:`fill_fee`."""
        precision = self.order_precision
        if precision is None:
            return fill_fees
        return ceil_to(notional + fill_fees, precision) - notional

    def order_fees(self, fills: Iterable[tuple[Decimal, Decimal]]) -> Decimal:
        """Fees of one order whose fills are ``(quantity, price)`` pairs, one per price level."""
        notional = fees = ZERO
        for qty, price in fills:
            notional += qty * price
            fees += self.fill_fee(qty, price)
        return self.leg_fees(notional, fees)

    def marginal(self, price: Decimal) -> Decimal:
        """Unrounded fee per contract at ``price``: the walk's per-step cost, before any rounding."""
        if not self.rate:
            return ZERO
        if self.exponent == 1:
            return self.rate * price * (ONE - price)
        return self.rate * (price * (ONE - price)) ** self.exponent


@lru_cache(maxsize=4096)
def fee_model(venue: str, rate: Decimal, exponent: int = 1, policy: FeePolicy = DEFAULT_POLICY) -> FeeModel:
    """The fee model of ``venue`` at taker ``rate`` (cached: called on every tick).

    ``exponent`` is Polymarket's per-market fee exponent (whole, 1 to 8; 1 elsewhere).
    ``policy`` matters for Kalshi only. Manifold is play money: its rate is 0 whatever is passed.
    """
    if venue not in ("kalshi", "polymarket", "manifold"):
        raise ValueError(f"unknown venue {venue!r}")
    if rate < 0:
        raise ValueError(f"{venue}: negative fee rate {rate}")
    if isinstance(exponent, bool) or not isinstance(exponent, int) or not 1 <= exponent <= MAX_EXPONENT:
        raise ValueError(
            f"{venue}: fee exponent must be a whole number from 1 to {MAX_EXPONENT}, not {exponent!r}"
        )
    if venue == "manifold":
        return FeeModel(ZERO, CENT)
    if venue == "polymarket":
        return FeeModel(rate, BASIS, exponent)
    if exponent != 1:
        raise ValueError("kalshi: a fee exponent applies to Polymarket markets only")
    if policy.kalshi_rounding == "per_fill_cent":
        return FeeModel(rate, CENT)
    return FeeModel(rate, BASIS, 1, policy.kalshi_precision)
