"""``echoarb discover --check``: re-validate configured pairs against fresh venue answers.

Each configured instrument is looked up by id, whatever its status, so a pair whose market
closed, resolved or vanished says so instead of just missing from an open-markets listing:
Kalshi ``GET /markets?tickers=..`` (100 a request), Gamma ``GET /markets?clob_token_ids=..``
(20 a request), Manifold ``GET /slug/{slug}``. Problems found: not listed any more (token id
or ticker unknown), closed / halted / resolved, close time already past, a Polymarket
``no_token_id`` that is not the market's other token, a negRisk-augmented event, and rules
text changed since the pair was accepted (against ``DATA_DIR/discover/accepted.json``).
"""

from __future__ import annotations

import json
import time
from abc import ABC
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from echoarb.discover import kalshi, manifold, polymarket
from echoarb.discover.model import ListingEntry
from echoarb.discover.output import rules_fingerprint
from echoarb.discover.protocol import Listing, Request
from echoarb.pairs import PairsConfig
from echoarb.venues.parsing import FrameError


class Lookup(Listing, ABC):
    """Look-ups of given ids; entries keep whatever status the venue reports."""

    def __init__(self, ids: list[str]) -> None:
        super().__init__(page_size=1, max_pages=10_000)
        self.ids = sorted(set(ids))
        self.by_instrument: dict[str, ListingEntry] = {}

    def _keep(self, entry: ListingEntry, *instruments: str) -> None:
        self._add(entry)
        for instrument in instruments:
            self.by_instrument[instrument] = entry


class KalshiCheck(Lookup):
    venue = "kalshi"

    def start(self) -> list[Request]:
        return [
            Request("/markets", (("tickers", ",".join(self.ids[i : i + 100])),))
            for i in range(0, len(self.ids), 100)
        ]

    def feed(self, request: Request, body: Any) -> list[Request]:
        markets = body.get("markets") if isinstance(body, dict) else None
        if not isinstance(markets, list):
            self.errors.append("kalshi /markets: missing field 'markets'")
            return []
        for raw in markets:
            try:
                entry = kalshi.parse_market(raw)
            except FrameError as exc:
                self.errors.append(f"kalshi market: {exc}")
                continue
            self._keep(entry, entry.id)
        self.pages += 1
        return []


class PolymarketCheck(Lookup):
    venue = "polymarket"

    def start(self) -> list[Request]:
        return [
            Request("/markets", tuple(("clob_token_ids", i) for i in self.ids[n : n + 20]))
            for n in range(0, len(self.ids), 20)
        ]

    def feed(self, request: Request, body: Any) -> list[Request]:
        if not isinstance(body, list):
            self.errors.append("polymarket /markets: body is not a JSON list")
            return []
        for raw in body:
            try:
                entry = polymarket.parse_market(raw)
            except FrameError as exc:
                self.errors.append(f"polymarket market: {exc}")
                continue
            events = raw.get("events") if isinstance(raw, dict) else None
            first = events[0] if isinstance(events, list) and events else None
            if isinstance(first, dict) and first.get("negRiskAugmented") is True:
                entry = _replace(entry, neg_risk_augmented=True, event=str(first.get("slug") or ""))
            self._keep(entry, *(o.instrument for o in entry.outcomes))
        self.pages += 1
        return []


class ManifoldCheck(Lookup):
    venue = "manifold"

    def start(self) -> list[Request]:
        return [Request(f"/slug/{slug}") for slug in self.ids]

    def not_found(self, request: Request) -> bool:
        return True

    def feed(self, request: Request, body: Any) -> list[Request]:
        try:
            entry = manifold.parse_market(body)
        except FrameError as exc:
            self.errors.append(f"manifold {request.path}: {exc}")
            return []
        self._keep(entry, entry.slug)
        self.pages += 1
        return []


def _replace(entry: ListingEntry, **changes: Any) -> ListingEntry:
    import dataclasses

    return dataclasses.replace(entry, **changes)


def lookups(config: PairsConfig) -> dict[str, Lookup]:
    ids: dict[str, list[str]] = {"kalshi": [], "polymarket": [], "manifold": []}
    for pair in config.pairs:
        for _, ref in pair.refs():
            ids[ref.venue].append(ref.instrument)
    builders: dict[str, type[Lookup]] = {
        "kalshi": KalshiCheck,
        "polymarket": PolymarketCheck,
        "manifold": ManifoldCheck,
    }
    return {venue: builders[venue](found) for venue, found in ids.items() if found}


@dataclass(frozen=True, slots=True)
class Problem:
    pair: str
    venue: str
    instrument: str
    problem: str

    def line(self) -> str:
        return f"{self.pair}: {self.venue} {self.instrument}: {self.problem}"


def check(
    config: PairsConfig,
    found: dict[str, dict[str, ListingEntry]],
    *,
    unreachable: set[str] = frozenset(),  # type: ignore[assignment]
    baseline_path: Path | None = None,
    now_ms: int | None = None,
) -> list[Problem]:
    """Problems of every configured instrument; ``found``: venue -> instrument -> entry."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    baseline: dict[str, Any] = {}
    if baseline_path is not None:
        try:
            baseline = json.loads(baseline_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            baseline = {}
    problems = []
    for pair in config.pairs:
        for _, ref in pair.refs():
            if ref.venue in unreachable:
                problems.append(
                    Problem(
                        pair.id,
                        ref.venue,
                        ref.instrument,
                        "not checked (venue unreachable or not in --venues)",
                    )
                )
                continue
            entry = found.get(ref.venue, {}).get(ref.instrument)
            for text in _problems(ref.venue, ref.instrument, ref.no_instrument, entry, now):
                problems.append(Problem(pair.id, ref.venue, ref.instrument, text))
            known = baseline.get(pair.id, {}).get(ref.venue)
            if (
                entry is not None
                and isinstance(known, dict)
                and known.get("rules_sha") != rules_fingerprint(entry)
            ):
                problems.append(
                    Problem(
                        pair.id, ref.venue, ref.instrument, "rules text changed since the pair was accepted"
                    )
                )
    return problems


def _problems(
    venue: str, instrument: str, no_instrument: str | None, entry: ListingEntry | None, now: int
) -> list[str]:
    if entry is None:
        what = {"kalshi": "ticker", "polymarket": "token id", "manifold": "slug"}[venue]
        return [f"{what} no longer listed"]
    out = []
    if entry.status != "open":
        out.append(f"market is {entry.status}")
    elif entry.close_ms is not None and entry.close_ms <= now:
        out.append("trading closed (close time passed)")
    if venue == "polymarket":
        tokens = [o.instrument for o in entry.outcomes]
        if no_instrument is not None and no_instrument not in tokens:
            out.append("no_token_id is not a token of this market any more")
        if entry.neg_risk_augmented:
            out.append("market belongs to a negRisk-augmented event (placeholder outcomes)")
    return out
