"""Kalshi listing (trade API v2, sans-I/O): ``GET /series`` then ``GET /markets`` by cursor.

``/markets?status=open&limit=N&mve_filter=exclude`` pages with an opaque ``cursor`` until
the body's ``cursor`` is empty. Multivariate (combo) markets are excluded: they are built
per user and never match another venue's contract. The series list gives what a market
body lacks: the fee schedule (``fee_type``, ``fee_multiplier``) and the settlement sources.
A market's series is the part of its event ticker before the first ``-`` (Kalshi's naming
rule: ``KXBTCD-26JUN30`` belongs to series ``KXBTCD``).

Times and numbers go through the venue parsers' strict helpers (``echoarb.venues.parsing``),
the same ones the live Kalshi protocol uses for REST market bodies.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from echoarb.discover.model import Direction, Kind, ListingEntry, OutcomeRef
from echoarb.discover.protocol import Listing, Request, decimal_text, number_field, time_field
from echoarb.venues.parsing import FrameError, require_str

# strike_type (docs.kalshi.com Market schema) -> direction of a ranged market's YES
_DIRECTIONS: dict[str, Direction] = {
    "greater": "above",
    "greater_or_equal": "above",
    "less": "below",
    "less_or_equal": "below",
    "between": "between",
}
_OPEN = {"open", "active", "initialized"}


class KalshiListing(Listing):
    venue = "kalshi"

    def __init__(self, *, page_size: int = 1000, max_pages: int = 200) -> None:
        super().__init__(page_size=min(page_size, 1000), max_pages=max_pages)
        self._series: dict[str, dict[str, Any]] = {}

    def start(self) -> list[Request]:
        return [Request("/series"), self._markets_request("")]

    def _markets_request(self, cursor: str) -> Request:
        params = [("status", "open"), ("limit", str(self.page_size)), ("mve_filter", "exclude")]
        if cursor:
            params.append(("cursor", cursor))
        return Request("/markets", tuple(params))

    def feed(self, request: Request, body: Any) -> list[Request]:
        if not isinstance(body, dict):
            self.errors.append(f"kalshi {request.path}: body is not a JSON object")
            return []
        if request.path == "/series":
            self._feed_series(body)
            return []
        markets = body.get("markets")
        if not isinstance(markets, list):
            self.errors.append("kalshi /markets: missing field 'markets'")
            return []
        for raw in markets:
            try:
                entry = parse_market(raw)
            except FrameError as exc:
                ticker = raw.get("ticker") if isinstance(raw, dict) else None
                self.errors.append(f"kalshi market {ticker or '?'}: {exc}")
                continue
            if entry.status in _OPEN:
                self._add(entry)
        cursor = body.get("cursor")
        if self._page_done(isinstance(cursor, str) and bool(cursor) and bool(markets)):
            return [self._markets_request(str(cursor))]
        return []

    def _feed_series(self, body: dict[str, Any]) -> None:
        series = body.get("series")
        if not isinstance(series, list):
            self.errors.append("kalshi /series: missing field 'series'")
            return
        for item in series:
            if isinstance(item, dict) and isinstance(item.get("ticker"), str):
                self._series[item["ticker"]] = item

    @property
    def entries(self) -> list[ListingEntry]:
        return [self._with_series(entry) for entry in self._entries.values()]

    def _with_series(self, entry: ListingEntry) -> ListingEntry:
        series = self._series.get(entry.series)
        if series is None:
            return entry
        fees = dict(entry.fees)
        for name in ("fee_type", "fee_multiplier"):
            if series.get(name) is not None:
                fees[name] = str(series[name])
        sources = series.get("settlement_sources")
        names = []
        if isinstance(sources, list):
            for source in sources:
                if isinstance(source, dict):
                    names.append(" ".join(str(source.get(k, "")) for k in ("name", "url")).strip())
        return dataclasses.replace(entry, fees=fees, resolution_source="; ".join(n for n in names if n))


def parse_market(raw: Any) -> ListingEntry:
    """One market of a ``/markets`` body as a listing entry; :class:`FrameError` if unusable."""
    if not isinstance(raw, dict):
        raise FrameError("market is not a JSON object")
    ticker = require_str(raw, "ticker")
    question = raw.get("title") or raw.get("subtitle")
    if not isinstance(question, str) or not question.strip():
        raise FrameError("missing field 'title'")
    event = raw.get("event_ticker") if isinstance(raw.get("event_ticker"), str) else ""
    kind: Kind = "binary"
    direction = _DIRECTIONS.get(str(raw.get("strike_type") or ""))
    threshold = cap = None
    if direction is not None:
        floor_strike, cap_strike = _strike(raw, "floor_strike"), _strike(raw, "cap_strike")
        if direction == "below":
            threshold = cap_strike
        else:
            threshold, cap = floor_strike, (cap_strike if direction == "between" else None)
        if threshold is not None:
            kind = "ranged"
        else:
            direction = None
    fees: dict[str, str] = {}
    if isinstance(raw.get("price_level_structure"), str):
        fees["price_level_structure"] = raw["price_level_structure"]
    texts = (raw.get("rules_primary"), raw.get("rules_secondary"))
    rules = "\n".join(text for text in texts if isinstance(text, str) and text)
    return ListingEntry(
        venue="kalshi",
        id=ticker,
        question=question.strip(),
        event=event or "",
        series=(event or ticker).split("-", 1)[0],
        subtitle=raw.get("yes_sub_title") or raw.get("subtitle") or "",
        outcomes=(OutcomeRef("Yes", ticker), OutcomeRef("No", ticker)),
        kind=kind,
        threshold=threshold,
        cap=cap,
        direction=direction,
        open_ms=time_field(raw, "open_time"),
        close_ms=time_field(raw, "close_time"),
        resolve_ms=time_field(raw, "expected_expiration_time") or time_field(raw, "latest_expiration_time"),
        rules=rules,
        volume=number_field(raw, "volume_fp", "volume"),
        liquidity=number_field(raw, "liquidity_dollars", "open_interest_fp", "open_interest"),
        status="open" if raw.get("status", "open") in _OPEN else str(raw.get("status")),
        fees=fees,
        url=f"https://kalshi.com/markets/{ticker}",
    )


def _strike(raw: dict[str, Any], name: str) -> str | None:
    value = raw.get(name)
    return None if value is None or value == "" else decimal_text(value, name)
