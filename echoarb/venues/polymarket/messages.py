"""Polymarket CLOB market-channel events as the venue writes them: one builder per event type.

The simulator and the sample generator both build their frames here. Prices are integer
cents rendered as the CLOB prints them (``"0.5"``, ``"0.41"``), sizes whole shares. A frame
is one event object or a JSON array of events (``frame``). Pure: dicts in, JSON text out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

PONG = "PONG"
"""The server's answer to the client's text ``PING`` keep-alive."""

MALFORMED = '[{"event_type":"price_change","market":"0x5f65177b394277fd294cd75650044e32ba00'
"""A truncated frame (not JSON); parsers must reject it."""

Event = dict[str, Any]


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def price(cents: int) -> str:
    """50 -> ``"0.5"``, 41 -> ``"0.41"``."""
    return f"{Decimal(cents).scaleb(-2).normalize():f}"


def frame(events: Sequence[Event], *, array: bool | None = None) -> str:
    """One event alone, or several (or one, with ``array=True``) as a JSON array frame."""
    if array is None:
        array = len(events) != 1
    return dumps(list(events) if array else events[0])


def book(
    market: str,
    asset_id: str,
    bids: Mapping[int, int],
    asks: Mapping[int, int],
    timestamp: int,
    hash_: str,
    *,
    tick_size: str | None = None,
) -> Event:
    """A full book; like the CLOB, bids ascend and asks descend (the best level last)."""
    event: Event = {
        "market": market,
        "asset_id": asset_id,
        "timestamp": str(timestamp),
        "hash": hash_,
        "bids": [{"price": price(p), "size": str(s)} for p, s in sorted(bids.items())],
        "asks": [{"price": price(p), "size": str(s)} for p, s in sorted(asks.items(), reverse=True)],
        "event_type": "book",
    }
    if tick_size is not None:
        event["tick_size"] = tick_size
    return event


def price_change_entry(
    asset_id: str, cents: int, size: int, side: str, hash_: str, best_bid: str, best_ask: str
) -> Event:
    """One level of a current-format ``price_change`` (size 0 removes the level)."""
    return {
        "asset_id": asset_id,
        "price": price(cents),
        "size": str(size),
        "side": side,
        "hash": hash_,
        "best_bid": best_bid,
        "best_ask": best_ask,
    }


def price_change(market: str, changes: Sequence[Event], timestamp: int) -> Event:
    """The current (Sept 2025 on) format: ``price_changes`` entries, each naming its asset."""
    return {
        "market": market,
        "price_changes": list(changes),
        "timestamp": str(timestamp),
        "event_type": "price_change",
    }


def legacy_price_change(
    asset_id: str, market: str, changes: Sequence[tuple[int, str, int]], timestamp: int, hash_: str | None
) -> Event:
    """The pre-Sept-2025 format: one asset per event, ``changes`` of (price cents, side, size)."""
    event: Event = {
        "asset_id": asset_id,
        "changes": [{"price": price(p), "side": s, "size": str(z)} for p, s, z in changes],
        "event_type": "price_change",
    }
    if hash_ is not None:
        event["hash"] = hash_
    event.update(market=market, timestamp=str(timestamp))
    return event


def flat_price_change(
    asset_id: str, market: str, cents: int, size: int, side: str, timestamp: int, hash_: str
) -> Event:
    """The flat 2024 format: one level change with ``price``/``size``/``side`` at the top."""
    return {
        "asset_id": asset_id,
        "event_type": "price_change",
        "hash": hash_,
        "market": market,
        "price": price(cents),
        "size": str(size),
        "side": side,
        "timestamp": str(timestamp),
    }


def best_bid_ask(
    market: str, asset_id: str, best_bid: str, best_ask: str, spread: str, timestamp: int
) -> Event:
    """Top of book, sent to subscriptions with ``custom_feature_enabled``."""
    return {
        "event_type": "best_bid_ask",
        "market": market,
        "asset_id": asset_id,
        "best_bid": best_bid,
        "best_ask": best_ask,
        "spread": spread,
        "timestamp": str(timestamp),
    }


def last_trade_price(asset_id: str, market: str, cents: int, side: str, size: int, timestamp: int) -> Event:
    return {
        "asset_id": asset_id,
        "event_type": "last_trade_price",
        "fee_rate_bps": "0",
        "market": market,
        "price": price(cents),
        "side": side,
        "size": str(size),
        "timestamp": str(timestamp),
    }


def rest_book(event: Event, *, tick_size: str = "0.01") -> Event:
    """CLOB ``GET /book?token_id=..``: the ``book`` event's fields without ``event_type``."""
    body = {k: v for k, v in event.items() if k != "event_type"}
    body.update(min_order_size="5", tick_size=tick_size, neg_risk=False)
    return body


def gamma_market(
    condition_id: str,
    token_ids: Sequence[str],
    *,
    end_date: str,
    closed: bool = False,
    accepting_orders: bool = True,
    tick_size: str = "0.01",
    extra: Mapping[str, Any] | None = None,
) -> Event:
    """One market of Gamma ``GET /markets``; list fields are JSON-encoded strings, as Gamma sends them."""
    outcomes = ["Yes", "No"][: len(token_ids)]
    market: Event = {
        "id": str(sum(map(ord, condition_id))),
        "conditionId": condition_id,
        "question": f"Simulated market {condition_id[:10]}?",
        "slug": f"simulated-{condition_id[2:12]}",
        "endDate": end_date,
        "active": True,
        "closed": closed,
        "acceptingOrders": accepting_orders,
        "enableOrderBook": True,
        "clobTokenIds": json.dumps(list(token_ids)),
        "outcomes": json.dumps(outcomes),
        "outcomePrices": json.dumps(["0.5", "0.5"][: len(token_ids)]),
        "orderPriceMinTickSize": float(tick_size),
        "orderMinSize": 5,
        "negRisk": False,
        "feesEnabled": True,
    }
    if extra:
        market.update(extra)
    return market
