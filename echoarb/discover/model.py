"""The normalised listing: one :class:`ListingEntry` per venue market, whatever the venue.

Every field a person or the matcher needs to judge whether two markets are the same
contract is here: ids, the question, the times (open, close, expected resolution: three
different things, see docs/discovery.md), the outcome structure, the rules and resolution
source, liquidity, and the fee parameters the pairs file needs. Values stay JSON-simple
(strings for decimals, epoch ms for times) so the cache is a plain JSON file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

Kind = Literal["binary", "categorical", "ranged"]
Direction = Literal["above", "below", "between"]
Venue = Literal["kalshi", "polymarket", "manifold"]
VENUE_NAMES: tuple[Venue, ...] = ("kalshi", "polymarket", "manifold")


@dataclass(frozen=True, slots=True)
class OutcomeRef:
    """One outcome of a market and the instrument that trades it on the venue."""

    name: str  # "Yes", "No", a candidate's name, an answer's text
    instrument: str  # Kalshi ticker, Polymarket token id, Manifold answer id (or slug)


@dataclass(frozen=True, slots=True)
class ListingEntry:
    venue: Venue
    id: str  # Kalshi ticker, Polymarket conditionId, Manifold contract id
    question: str
    slug: str = ""  # Polymarket market slug, Manifold slug
    event: str = ""  # Kalshi event ticker, Polymarket event slug
    series: str = ""  # Kalshi series ticker, Polymarket series slug
    subtitle: str = ""  # Kalshi yes_sub_title, Polymarket groupItemTitle
    outcomes: tuple[OutcomeRef, ...] = ()  # binary: (Yes, No) in that order
    kind: Kind = "binary"
    threshold: str | None = None  # ranged: the strike (decimal text), e.g. "4.75", "100000"
    cap: str | None = None  # ranged "between": the upper strike
    direction: Direction | None = None
    open_ms: int | None = None
    close_ms: int | None = None  # trading stops
    resolve_ms: int | None = None  # expected determination: when capital comes back
    rules: str = ""
    resolution_source: str = ""
    volume: float | None = None
    liquidity: float | None = None
    status: str = "open"
    fees: dict[str, str] = field(default_factory=dict)  # venue fee parameters, as text
    neg_risk: bool = False  # Polymarket negRisk event member
    neg_risk_augmented: bool = False  # Polymarket event with placeholder outcomes
    placeholder: bool = False  # Polymarket negRiskOther / placeholder outcome
    play_money: bool = False  # Manifold MANA: a signal, never executable
    url: str = ""

    @property
    def key(self) -> str:
        return f"{self.venue}:{self.id}"

    @property
    def yes(self) -> OutcomeRef | None:
        return self.outcomes[0] if self.kind != "categorical" and self.outcomes else None

    @property
    def no(self) -> OutcomeRef | None:
        return self.outcomes[1] if self.kind != "categorical" and len(self.outcomes) > 1 else None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["outcomes"] = [[o.name, o.instrument] for o in self.outcomes]
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ListingEntry:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        values["outcomes"] = tuple(OutcomeRef(str(n), str(i)) for n, i in raw.get("outcomes", ()))
        values["fees"] = {str(k): str(v) for k, v in dict(raw.get("fees", {})).items()}
        return cls(**values)
