"""Polymarket listing (Gamma REST, sans-I/O): ``GET /events`` and ``GET /markets`` by offset.

Both endpoints page with ``limit``/``offset`` (``closed=false`` keeps open ones) until a page
comes back shorter than the limit. ``/events`` carries what a market body lacks: the event
slug, whether the event is negRisk, and ``negRiskAugmented`` (an event with placeholder
outcomes, whose YES asks sum below 1 by construction: discovery refuses it as a basket);
its nested markets are listed too, so a market only ``/markets`` returns (a new one, or one
past the event page budget) is not lost, and one seen on both counts once.

``clobTokenIds`` and ``outcomes`` are JSON lists encoded as strings inside the JSON body;
they are decoded by the same helper the live protocol uses (``gamma_list``). Fees come from
the market's ``feeSchedule`` (``rate``, ``exponent``; taker only); ``feesEnabled: false``
means no fee at all. ``takerBaseFee`` is a ceiling, not the rate, and is kept only as
information.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from echoarb.discover.model import ListingEntry, OutcomeRef
from echoarb.discover.protocol import Listing, Request, decimal_text, number_field, time_field
from echoarb.venues.parsing import FrameError, require_str
from echoarb.venues.polymarket.protocol import gamma_list


@dataclasses.dataclass(frozen=True, slots=True)
class _Event:
    slug: str
    series: str
    neg_risk: bool
    augmented: bool


class PolymarketListing(Listing):
    venue = "polymarket"

    def __init__(
        self, *, page_size: int = 500, max_pages: int = 200, events_page_size: int | None = None
    ) -> None:
        super().__init__(page_size=page_size, max_pages=max_pages)
        self.events_page_size = events_page_size or page_size
        self._events: dict[str, _Event] = {}  # conditionId -> its event
        self._pages_by_path: dict[str, int] = {}

    def start(self) -> list[Request]:
        return [self._request("/events", 0), self._request("/markets", 0)]

    def _request(self, path: str, offset: int) -> Request:
        size = self.events_page_size if path == "/events" else self.page_size
        params = (("closed", "false"), ("limit", str(size)), ("offset", str(offset)))
        return Request(path, params)

    def feed(self, request: Request, body: Any) -> list[Request]:
        if isinstance(body, dict) and isinstance(body.get("data"), list):
            body = body["data"]  # some Gamma deployments wrap pages as {"data": [...]}
        if not isinstance(body, list):
            self.errors.append(f"polymarket {request.path}: body is not a JSON list")
            return []
        for item in body:
            if request.path == "/events":
                self._feed_event(item)
            else:
                self._feed_market(item, None)
        pages = self._pages_by_path[request.path] = self._pages_by_path.get(request.path, 0) + 1
        more = len(body) >= (self.events_page_size if request.path == "/events" else self.page_size)
        self.pages += 1
        if more and pages >= self.max_pages:
            self.truncated = True
            return []
        if not more:
            return []
        offset = int(dict(request.params).get("offset", "0")) + len(body)
        return [self._request(request.path, offset)]

    def _feed_event(self, raw: Any) -> None:
        if not isinstance(raw, dict):
            self.errors.append("polymarket event: not a JSON object")
            return
        event = _event(raw)
        markets = raw.get("markets")
        if not isinstance(markets, list):
            self.errors.append(f"polymarket event {event.slug or '?'}: missing field 'markets'")
            return
        for market in markets:
            self._feed_market(market, event)

    def _feed_market(self, raw: Any, event: _Event | None) -> None:
        try:
            if event is None and isinstance(raw, dict):
                nested = raw.get("events")
                if isinstance(nested, list) and nested and isinstance(nested[0], dict):
                    event = _event(nested[0])
            entry = parse_market(raw)
        except FrameError as exc:
            name = raw.get("slug") or raw.get("conditionId") if isinstance(raw, dict) else None
            self.errors.append(f"polymarket market {name or '?'}: {exc}")
            return
        if event is not None:
            known = self._events.get(entry.id)
            # The /events view knows the augmented flag; a nested copy in /markets may not.
            if known is None or (event.augmented and not known.augmented):
                self._events[entry.id] = event
        if entry.status == "open" and entry.id not in self._entries:
            self._add(entry)

    @property
    def entries(self) -> list[ListingEntry]:
        out = []
        for entry in self._entries.values():
            event = self._events.get(entry.id)
            if event is not None:
                entry = dataclasses.replace(
                    entry,
                    event=event.slug,
                    series=event.series,
                    neg_risk=entry.neg_risk or event.neg_risk,
                    neg_risk_augmented=event.augmented,
                    url=f"https://polymarket.com/event/{event.slug}" if event.slug else entry.url,
                )
            out.append(entry)
        return out


def _event(raw: dict[str, Any]) -> _Event:
    series = ""
    if isinstance(raw.get("seriesSlug"), str):
        series = raw["seriesSlug"]
    elif isinstance(raw.get("series"), list) and raw["series"] and isinstance(raw["series"][0], dict):
        series = str(raw["series"][0].get("slug") or "")
    return _Event(
        slug=str(raw.get("slug") or ""),
        series=series,
        neg_risk=bool(raw.get("negRisk") or raw.get("enableNegRisk")),
        augmented=raw.get("negRiskAugmented") is True,
    )


def parse_market(raw: Any) -> ListingEntry:
    """One Gamma market body as a listing entry; :class:`FrameError` if unusable."""
    if not isinstance(raw, dict):
        raise FrameError("market is not a JSON object")
    condition = require_str(raw, "conditionId")
    question = require_str(raw, "question").strip()
    tokens = gamma_list(raw, "clobTokenIds")
    names = gamma_list(raw, "outcomes")
    if len(tokens) != len(names) or len(tokens) < 2:
        raise FrameError(f"{len(names)} outcomes for {len(tokens)} token ids")
    status = "open"
    if raw.get("closed") is True:
        status = "closed"
    elif raw.get("active") is False or raw.get("acceptingOrders") is False:
        status = "halted"
    fees: dict[str, str] = {}
    if raw.get("feesEnabled") is False:
        fees["fee_rate"] = "0"
    schedule = raw.get("feeSchedule")
    if isinstance(schedule, dict) and raw.get("feesEnabled") is not False:
        if schedule.get("rate") is not None:
            fees["fee_rate"] = decimal_text(schedule["rate"], "feeSchedule.rate")
        if schedule.get("exponent") is not None:
            fees["fee_exponent"] = decimal_text(schedule["exponent"], "feeSchedule.exponent")
    if isinstance(raw.get("feeType"), str):
        fees["fee_type"] = raw["feeType"]
    if raw.get("takerBaseFee") is not None:
        fees["taker_base_fee_bps"] = str(raw["takerBaseFee"])  # a ceiling, not the rate
    slug = str(raw.get("slug") or "")
    return ListingEntry(
        venue="polymarket",
        id=condition,
        question=question,
        slug=slug,
        subtitle=str(raw.get("groupItemTitle") or ""),
        outcomes=tuple(OutcomeRef(name, token) for name, token in zip(names, tokens, strict=True)),
        kind="binary" if len(tokens) == 2 else "categorical",
        open_ms=time_field(raw, "startDate"),
        close_ms=None,  # Gamma has no trading close: endDate is the expected resolution
        resolve_ms=time_field(raw, "endDate") or time_field(raw, "endDateIso"),
        rules=str(raw.get("description") or ""),
        resolution_source=str(raw.get("resolutionSource") or ""),
        volume=number_field(raw, "volumeNum", "volume"),
        liquidity=number_field(raw, "liquidityNum", "liquidity"),
        status=status,
        fees=fees,
        neg_risk=raw.get("negRisk") is True,
        placeholder=raw.get("negRiskOther") is True,
        url=f"https://polymarket.com/market/{slug}" if slug else "",
    )
