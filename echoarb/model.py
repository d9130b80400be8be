"""Typed values that flow through EchoArb: instrument quotes, pair quotes (ticks), spreads.

All money and sizes are exact :class:`~decimal.Decimal`; times are epoch milliseconds.
Values are frozen so that they can be shared between stages without copies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

Venue = Literal["kalshi", "polymarket", "manifold"]
VENUES: tuple[Venue, ...] = ("kalshi", "polymarket", "manifold")
Side = Literal["yes", "no"]
MarketStatus = Literal["open", "halted", "closed", "settled"]
SpreadKind = Literal["binary", "categorical_basket"]

ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class Level:
    """One price level: ``size`` contracts offered at ``price`` dollars."""

    price: Decimal
    size: Decimal


Ladder = tuple[Level, ...]
"""Ask ladder: levels sorted by ascending price (best first), sizes > 0."""


@dataclass(frozen=True, slots=True)
class InstrumentQuote:
    """What a venue parser knows about one instrument after a frame.

    An instrument is a Kalshi market ticker, a Polymarket token (asset id) or a
    Manifold contract (keyed by slug). ``buy_yes`` are the asks to buy the instrument,
    ``buy_no`` the asks to buy its complement (for a Kalshi ticker ``1 - YES bid``, for
    a Polymarket token ``1 - token bid``, for Manifold ``1 - probability``).
    ``close_ts`` is when the market stops accepting orders (epoch ms, 0 = not known): Kalshi
    sends nothing at that moment, so the parser announces the close itself (see
    ``KalshiProtocol.expire``) with a ``closed`` quote stamped at that time.
    """

    venue: Venue
    instrument: str
    buy_yes: Ladder
    buy_no: Ladder
    event_ts: int
    recv_ts: int
    status: MarketStatus = "open"
    in_sync: bool = True
    close_ts: int = 0


@dataclass(frozen=True, slots=True)
class Tick:
    """The normalised quote of one venue for one market pair: the unit on ``ticks.*``.

    ``yes_asks``/``no_asks`` are in the pair's orientation (``invert`` already applied).
    ``outcome`` names the outcome of a categorical pair, ``""`` for a binary pair.
    ``seq`` orders ticks within one venue's stream (assigned by the producer).
    """

    pair_id: str
    venue: Venue
    yes_asks: Ladder
    no_asks: Ladder
    event_ts: int
    recv_ts: int
    fee_rate: Decimal
    outcome: str = ""
    status: MarketStatus = "open"
    in_sync: bool = True
    real_money: bool = True
    seq: int = 0


@dataclass(frozen=True, slots=True)
class Leg:
    """One side of an opportunity: buy ``side`` on ``venue``."""

    venue: Venue
    side: Side
    best_price: Decimal | None
    avg_price: Decimal | None
    size: Decimal
    outcome: str = ""


@dataclass(frozen=True, slots=True)
class Opportunity:
    """The result of the edge engine for one (pair, kind, legs) key, see docs/edge.md."""

    pair_id: str
    kind: SpreadKind
    legs: tuple[Leg, ...]
    gross_edge: Decimal | None
    size: Decimal
    cost: Decimal
    fees: Decimal
    net_profit: Decimal
    net_edge: Decimal
    executable: bool
    quote_age_ms: int
    event_ts: int

    @property
    def key(self) -> str:
        """Identity of the opportunity across updates: pair, kind and legs' venue/side."""
        legs = ",".join(
            f"{leg.venue}:{leg.side}{':' + leg.outcome if leg.outcome else ''}" for leg in self.legs
        )
        return f"{self.pair_id}|{self.kind}|{legs}"


@dataclass(frozen=True, slots=True)
class SpreadEvent:
    """An :class:`Opportunity` as published on the ``spreads`` topic."""

    id: str
    opportunity: Opportunity
    computed_at: int = field(compare=False)


# Window statistics: produced by scan/windows.py, carried by wire/records.py.
@dataclass(slots=True)
class WindowAgg:
    events: int = 0
    max_net_edge: Decimal | None = None
    best_size: Decimal = Decimal(0)
    executable_ms: int = 0

    def to_json(self) -> list[Any]:
        edge = None if self.max_net_edge is None else str(self.max_net_edge)
        return [self.events, edge, str(self.best_size), self.executable_ms]

    @classmethod
    def from_json(cls, raw: list[Any]) -> WindowAgg:
        return cls(raw[0], None if raw[1] is None else Decimal(raw[1]), Decimal(raw[2]), raw[3])


@dataclass(frozen=True, slots=True)
class ClosedWindow:
    pair_id: str
    window: str  # "tumbling" | "hopping"
    start: int
    end: int
    agg: WindowAgg
