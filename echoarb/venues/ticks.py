"""Tick sizes: which prices an instrument accepts orders at.

Venues change an instrument's tick (Kalshi ``price_level_structure_updated`` with its
``price_ranges``, Polymarket ``tick_size_change`` near the price extremes). A book level at a
price off the tick cannot be real, so a parser rejects the update that would create it and
treats the book as out of sync. Only new or growing levels are checked: a level that existed
before a tick change can still shrink or vanish.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

_ZERO = Decimal(0)
_ONE = Decimal(1)
_CENT = Decimal("0.01")
_DECI_CENT = Decimal("0.001")


@dataclass(frozen=True, slots=True)
class Band:
    """Prices ``start <= p <= end`` on multiples of ``step`` counted from ``start``."""

    start: Decimal
    end: Decimal
    step: Decimal

    def holds(self, price: Decimal) -> bool:
        return self.start <= price <= self.end


@dataclass(frozen=True, slots=True)
class TickRule:
    """The bands of one instrument, tried in order; ``name`` says where the rule came from."""

    name: str
    bands: tuple[Band, ...]

    def allows(self, price: Decimal) -> bool:
        for band in self.bands:
            if band.holds(price):
                return (price - band.start) % band.step == _ZERO
        return False

    def step_at(self, price: Decimal) -> Decimal | None:
        for band in self.bands:
            if band.holds(price):
                return band.step
        return None

    def describe(self, price: Decimal) -> str:
        step = self.step_at(price)
        where = f"tick {step}" if step is not None else "no price band"
        return f"price {price} is off the tick ({where} of {self.name})"


def uniform(step: Decimal, name: str | None = None) -> TickRule:
    """One tick over the whole range (Polymarket ``tick_size``, Kalshi ``linear_cent``)."""
    return TickRule(name or f"tick {step}", (Band(_ZERO, _ONE, step),))


# Kalshi's documented structures; the ``center_*`` ones come with ``price_ranges``.
KALSHI_STRUCTURES: dict[str, TickRule] = {
    "linear_cent": uniform(_CENT, "linear_cent"),
    "deci_cent": uniform(_DECI_CENT, "deci_cent"),
    "tapered_deci_cent": TickRule(
        "tapered_deci_cent",
        (
            Band(_ZERO, Decimal("0.10"), _DECI_CENT),
            Band(Decimal("0.10"), Decimal("0.90"), _CENT),
            Band(Decimal("0.90"), _ONE, _DECI_CENT),
        ),
    ),
}


def from_bands(name: str, bands: list[tuple[Decimal, Decimal, Decimal]]) -> TickRule:
    """A rule from ``(start, end, step)`` triples (Kalshi ``price_ranges``); steps must be > 0."""
    out = []
    for start, end, step in bands:
        if step <= _ZERO or end < start:
            raise ValueError(f"bad price band {start}..{end} step {step}")
        out.append(Band(start, end, step))
    if not out:
        raise ValueError("no price bands")
    return TickRule(name, tuple(out))
