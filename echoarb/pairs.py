"""Loading and validating ``config/market_pairs.json`` (format: docs/edge.md).

Errors name the pair and the key that is wrong, because a user editing a list of fifty
pairs needs to know which one to fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from echoarb.model import VENUES, Venue


class PairsConfigError(ValueError):
    """The pairs file is unreadable or invalid; the message says where."""


@dataclass(frozen=True, slots=True)
class VenueRef:
    """How one venue lists one market (or one outcome) of a pair."""

    venue: Venue
    instrument: str  # kalshi ticker, polymarket YES token id, manifold slug
    no_instrument: str | None = None  # polymarket NO token id
    invert: bool = False
    fee_rate: Decimal | None = None
    fee_exponent: int = 1  # polymarket: the market's fee exponent (docs/edge.md, "Fees")


@dataclass(frozen=True, slots=True)
class Outcome:
    name: str
    venues: tuple[VenueRef, ...]


@dataclass(frozen=True, slots=True)
class MarketPair:
    id: str
    description: str
    type: str  # "binary" | "categorical"
    venues: tuple[VenueRef, ...]  # binary pairs
    outcomes: tuple[Outcome, ...] = ()  # categorical pairs
    exhaustive: bool = False

    def refs(self) -> Iterator[tuple[str, VenueRef]]:
        """Every (outcome name, venue ref); outcome is "" for binary pairs."""
        for ref in self.venues:
            yield "", ref
        for outcome in self.outcomes:
            for ref in outcome.venues:
                yield outcome.name, ref

    @property
    def venue_names(self) -> frozenset[str]:
        return frozenset(ref.venue for _, ref in self.refs())


@dataclass(frozen=True, slots=True)
class PairsConfig:
    pairs: tuple[MarketPair, ...]

    def by_id(self) -> dict[str, MarketPair]:
        return {pair.id: pair for pair in self.pairs}

    def to_json(self) -> dict[str, Any]:
        """Back to the file format (used to hand the config to worker processes)."""
        return {"pairs": [_pair_to_json(pair) for pair in self.pairs]}


_VENUE_KEYS: dict[str, dict[str, str]] = {
    # venue -> {json key: meaning}
    "kalshi": {"ticker": "instrument", "invert": "invert", "fee_rate": "fee_rate"},
    "polymarket": {
        "token_id": "instrument",
        "no_token_id": "no_instrument",
        "invert": "invert",
        "fee_rate": "fee_rate",
        "fee_exponent": "fee_exponent",
    },
    "manifold": {"slug": "instrument", "invert": "invert"},
}
MAX_FEE_EXPONENT = 8  # the same bound as echoarb.scan.edge.fees.MAX_EXPONENT (core: no import of scan)
_REQUIRED = {"kalshi": "ticker", "polymarket": "token_id", "manifold": "slug"}
_PAIR_KEYS = {"id", "description", "type", "exhaustive", "outcomes", *VENUES}
_OUTCOME_KEYS = {"name", *VENUES}


def load_pairs(path: Path | str) -> PairsConfig:
    """Read and validate a pairs file."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PairsConfigError(f"{path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise PairsConfigError(f"{path}: not valid JSON: {exc}") from None
    except UnicodeDecodeError as exc:
        raise PairsConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:  # a directory, no permission, ...
        raise PairsConfigError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    try:
        return parse_pairs(raw)
    except PairsConfigError as exc:
        raise PairsConfigError(f"{path}: {exc}") from None


def parse_pairs(raw: object) -> PairsConfig:
    if not isinstance(raw, dict) or not isinstance(raw.get("pairs"), list):
        raise PairsConfigError('expected an object {"pairs": [...]}')
    unknown = set(raw) - {"pairs"}
    if unknown:
        raise PairsConfigError(f"unknown top-level key {sorted(unknown)[0]!r}")
    pairs: list[MarketPair] = []
    seen: set[str] = set()
    for index, item in enumerate(raw["pairs"]):
        pair = _parse_pair(item, index)
        if pair.id in seen:
            raise PairsConfigError(f"pair {pair.id!r}: duplicate id")
        seen.add(pair.id)
        pairs.append(pair)
    if not pairs:
        raise PairsConfigError("no pairs configured")
    return PairsConfig(tuple(pairs))


def _parse_pair(item: object, index: int) -> MarketPair:
    if not isinstance(item, dict):
        raise PairsConfigError(f"pair #{index}: expected an object")
    pair_id = item.get("id")
    if not isinstance(pair_id, str) or not pair_id.strip():
        raise PairsConfigError(f"pair #{index}: key 'id' must be a non-empty string")
    where = f"pair {pair_id!r}"
    unknown = set(item) - _PAIR_KEYS
    if unknown:
        raise PairsConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    description = item.get("description", "")
    if not isinstance(description, str):
        raise PairsConfigError(f"{where}: key 'description' must be a string")
    kind = item.get("type", "binary")
    if kind == "binary":
        if "outcomes" in item or "exhaustive" in item:
            key = "outcomes" if "outcomes" in item else "exhaustive"
            raise PairsConfigError(f'{where}: key {key!r} is only valid with "type": "categorical"')
        refs = _parse_venues(item, where)
        if len(refs) < 2:
            raise PairsConfigError(f"{where}: needs at least two venues of {list(VENUES)}")
        return MarketPair(pair_id, description, "binary", refs)
    if kind != "categorical":
        raise PairsConfigError(f"{where}: key 'type' must be 'binary' or 'categorical', got {kind!r}")
    exhaustive = item.get("exhaustive", False)
    if not isinstance(exhaustive, bool):
        raise PairsConfigError(f"{where}: key 'exhaustive' must be true or false")
    outcomes_raw = item.get("outcomes")
    if not isinstance(outcomes_raw, list) or len(outcomes_raw) < 2:
        raise PairsConfigError(f"{where}: key 'outcomes' must be a list of at least two outcomes")
    if any(venue in item for venue in VENUES):
        raise PairsConfigError(f"{where}: venues of a categorical pair go inside each outcome")
    outcomes: list[Outcome] = []
    for o_index, o_raw in enumerate(outcomes_raw):
        if not isinstance(o_raw, dict) or not isinstance(o_raw.get("name"), str):
            raise PairsConfigError(f"{where}: outcome #{o_index} needs a string 'name'")
        o_where = f"{where} outcome {o_raw['name']!r}"
        unknown = set(o_raw) - _OUTCOME_KEYS
        if unknown:
            raise PairsConfigError(f"{o_where}: unknown key {sorted(unknown)[0]!r}")
        refs = _parse_venues(o_raw, o_where)
        if not refs:
            raise PairsConfigError(f"{o_where}: needs at least one venue")
        outcomes.append(Outcome(o_raw["name"], refs))
    return MarketPair(pair_id, description, "categorical", (), tuple(outcomes), exhaustive)


def _parse_venues(item: dict[str, Any], where: str) -> tuple[VenueRef, ...]:
    refs: list[VenueRef] = []
    for venue in VENUES:
        if venue not in item:
            continue
        spec = item[venue]
        if not isinstance(spec, dict):
            raise PairsConfigError(f"{where}: key {venue!r} must be an object")
        allowed = _VENUE_KEYS[venue]
        unknown = set(spec) - set(allowed)
        if unknown:
            raise PairsConfigError(f"{where}: unknown key {venue}.{sorted(unknown)[0]}")
        required = _REQUIRED[venue]
        if not isinstance(spec.get(required), str) or not spec[required].strip():
            raise PairsConfigError(f"{where}: key {venue}.{required} must be a non-empty string")
        no_instrument = spec.get("no_token_id")
        if no_instrument is not None and (not isinstance(no_instrument, str) or not no_instrument):
            raise PairsConfigError(f"{where}: key {venue}.no_token_id must be a non-empty string")
        invert = spec.get("invert", False)
        if not isinstance(invert, bool):
            raise PairsConfigError(f"{where}: key {venue}.invert must be true or false")
        fee_rate = None
        if "fee_rate" in spec:
            try:
                fee_rate = Decimal(str(spec["fee_rate"]))
            except InvalidOperation:
                fee_rate = None
            if fee_rate is None or not (0 <= fee_rate < 1) or isinstance(spec["fee_rate"], bool):
                raise PairsConfigError(f"{where}: key {venue}.fee_rate must be a number in [0, 1)")
        fee_exponent = _whole(spec.get("fee_exponent", 1))
        if fee_exponent is None or not 1 <= fee_exponent <= MAX_FEE_EXPONENT:
            raise PairsConfigError(
                f"{where}: key {venue}.fee_exponent must be a whole number from 1 to {MAX_FEE_EXPONENT}"
            )
        refs.append(VenueRef(venue, spec[required], no_instrument, invert, fee_rate, fee_exponent))
    return tuple(refs)


def _whole(value: object) -> int | None:
    """A whole number given as a JSON number or a decimal string ("2", 2, 2.0), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    if not number.is_finite() or number != number.to_integral_value():
        return None
    return int(number)


def _pair_to_json(pair: MarketPair) -> dict[str, Any]:
    def ref_json(ref: VenueRef) -> dict[str, Any]:
        key = _REQUIRED[ref.venue]
        out: dict[str, Any] = {key: ref.instrument}
        if ref.no_instrument:
            out["no_token_id"] = ref.no_instrument
        if ref.invert:
            out["invert"] = True
        if ref.fee_rate is not None:
            out["fee_rate"] = str(ref.fee_rate)
        if ref.fee_exponent != 1:
            out["fee_exponent"] = ref.fee_exponent
        return out

    out: dict[str, Any] = {"id": pair.id, "description": pair.description}
    if pair.type == "categorical":
        out["type"] = "categorical"
        out["exhaustive"] = pair.exhaustive
        out["outcomes"] = [
            {"name": o.name, **{ref.venue: ref_json(ref) for ref in o.venues}} for o in pair.outcomes
        ]
    else:
        out.update({ref.venue: ref_json(ref) for ref in pair.venues})
    return out
