"""Venue taker fees: ``rate * q * p * (1 - p)`` rounded up to the venue's quantum.

Rounding up (per fill) keeps the engine conservative: a reported edge must survive the
venue's own fee arithmetic, which never charges less than this.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from functools import lru_cache

from echoarb.model import ONE, ZERO

CENT = Decimal("0.01")
BASIS = Decimal("0.0001")

_QUANTUM: dict[str, Decimal] = {"kalshi": CENT, "polymarket": BASIS, "manifold": CENT}


@dataclass(frozen=True, slots=True)
class FeeModel:
    """One venue's taker fee for one market: ``rate`` and the rounding ``quantum``."""

    rate: Decimal
    quantum: Decimal

    def fee(self, qty: Decimal, price: Decimal) -> Decimal:
        """Fee in dollars for one fill of ``qty`` contracts at ``price``, rounded up to the quantum."""
        if not self.rate or not qty:
            return ZERO
        return (self.rate * qty * price * (ONE - price)).quantize(self.quantum, rounding=ROUND_CEILING)

    def marginal(self, price: Decimal) -> Decimal:
        """Unrounded fee per contract at ``price``: the walk's per-step cost, before per-fill rounding."""
        if not self.rate:
            return ZERO
        return self.rate * price * (ONE - price)


@lru_cache(maxsize=1024)
def fee_model(venue: str, rate: Decimal) -> FeeModel:
    """The fee model of ``venue`` at taker ``rate`` (cached: called on every tick).

    Manifold is play money, so its rate is forced to 0 whatever is passed.
    """
    try:
        quantum = _QUANTUM[venue]
    except KeyError:
        raise ValueError(f"unknown venue {venue!r}") from None
    if venue == "manifold":
        rate = ZERO
    elif rate < 0:
        raise ValueError(f"{venue}: negative fee rate {rate}")
    return FeeModel(rate, quantum)
