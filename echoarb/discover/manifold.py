"""Manifold listing (REST v0, sans-I/O): ``GET /search-markets`` by offset, or ``GET /markets``.

``search`` (the default): ``/search-markets?term=&filter=open&sort=liquidity&limit=N&offset=K``,
open markets only, most liquid first, until a page is shorter than the limit. ``all``:
``/markets?limit=N&before=<last id>``, every market newest first (resolved and closed ones
are skipped here), for a full sweep. Both return the same "lite market" bodies.

A lite market has no description: rules text stays empty (``echoarb discover`` says so in
the evidence rather than pretending the rules agree). MANA markets are play money: listed,
matched and labelled, never executable.
"""

from __future__ import annotations

from typing import Any, Literal

from echoarb.discover.model import Kind, ListingEntry, OutcomeRef
from echoarb.discover.protocol import Listing, Request, number_field, time_field
from echoarb.venues.parsing import FrameError, require_str

Mode = Literal["search", "all"]
_CATEGORICAL = {"MULTIPLE_CHOICE", "FREE_RESPONSE"}
_RANGED = {"PSEUDO_NUMERIC", "NUMBER", "MULTI_NUMERIC", "DATE"}


class ManifoldListing(Listing):
    venue = "manifold"

    def __init__(
        self, *, page_size: int = 1000, max_pages: int = 50, mode: Mode = "search", term: str = ""
    ) -> None:
        super().__init__(page_size=min(page_size, 1000), max_pages=max_pages)
        self.mode = mode
        self.term = term

    def start(self) -> list[Request]:
        return [self._request(offset=0, before="")]

    def _request(self, *, offset: int, before: str) -> Request:
        if self.mode == "all":
            params = [("limit", str(self.page_size))]
            if before:
                params.append(("before", before))
            return Request("/markets", tuple(params))
        return Request(
            "/search-markets",
            (
                ("term", self.term),
                ("filter", "open"),
                ("sort", "liquidity"),
                ("limit", str(self.page_size)),
                ("offset", str(offset)),
            ),
        )

    def feed(self, request: Request, body: Any) -> list[Request]:
        if not isinstance(body, list):
            self.errors.append(f"manifold {request.path}: body is not a JSON list")
            return []
        last_id = ""
        for raw in body:
            if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                last_id = raw["id"]
            try:
                entry = parse_market(raw)
            except FrameError as exc:
                name = raw.get("slug") or raw.get("id") if isinstance(raw, dict) else None
                self.errors.append(f"manifold market {name or '?'}: {exc}")
                continue
            if entry.status == "open":
                self._add(entry)
        if not self._page_done(len(body) >= self.page_size and bool(last_id)):
            return []
        offset = int(dict(request.params).get("offset", "0")) + len(body)
        return [self._request(offset=offset, before=last_id)]


def parse_market(raw: Any) -> ListingEntry:
    """One Manifold (lite or full) market body as a listing entry; :class:`FrameError` if unusable."""
    if not isinstance(raw, dict):
        raise FrameError("market is not a JSON object")
    contract_id = require_str(raw, "id")
    slug = raw.get("slug")
    if not isinstance(slug, str) or not slug:
        # the 2022 docs' lite market has no slug: it is the last part of the market's URL
        url = raw.get("url")
        slug = url.rstrip("/").rsplit("/", 1)[-1] if isinstance(url, str) and "/" in url else ""
    if not slug:
        raise FrameError("missing field 'slug'")
    question = require_str(raw, "question").strip()
    outcome_type = str(raw.get("outcomeType") or "BINARY")
    kind: Kind = "binary"
    outcomes: tuple[OutcomeRef, ...] = (OutcomeRef("Yes", slug), OutcomeRef("No", slug))
    if outcome_type in _CATEGORICAL:
        kind = "categorical"
        answers: list[Any] = raw["answers"] if isinstance(raw.get("answers"), list) else []
        outcomes = tuple(
            OutcomeRef(str(a.get("text") or a["id"]), str(a["id"]))
            for a in answers
            if isinstance(a, dict) and isinstance(a.get("id"), str)
        )
    elif outcome_type in _RANGED:
        kind = "ranged"
    elif outcome_type != "BINARY":
        raise FrameError(f"outcomeType {outcome_type!r} is not listed")
    close_ms = time_field(raw, "closeTime")
    status = "open"
    if raw.get("isResolved") is True:
        status = "resolved"
    now_hint = time_field(raw, "lastUpdatedTime")
    if close_ms is not None and now_hint is not None and close_ms < now_hint:
        status = "closed"
    rules = raw.get("textDescription")
    return ListingEntry(
        venue="manifold",
        id=contract_id,
        question=question,
        slug=slug,
        outcomes=outcomes,
        kind=kind,
        open_ms=time_field(raw, "createdTime"),
        close_ms=close_ms,
        resolve_ms=close_ms,  # a creator resolves after close: the close is the best estimate
        rules=rules if isinstance(rules, str) else "",
        volume=number_field(raw, "volume"),
        liquidity=number_field(raw, "totalLiquidity"),
        status=status,
        play_money=raw.get("token", "MANA") != "CASH",
        url=str(raw.get("url") or f"https://manifold.markets/{raw.get('creatorUsername', '')}/{slug}"),
    )
