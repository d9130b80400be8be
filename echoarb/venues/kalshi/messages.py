"""Kalshi v2 WebSocket messages as the venue writes them: one builder per message type.

The simulator and the sample generator both build their frames here, so the two never
drift apart on field names, order or number formats. Prices are integer cents, sizes whole
contracts; the builders render them as the venue does (fixed-point dollars ``"0.4100"``,
sizes ``"120.00"``). Pure: plain dicts in, JSON text out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

DeltaFormat = Literal["legacy", "fixed", "both"]
"""``legacy``: integer ``price``/``delta``; ``fixed``: ``price_dollars``/``delta_fp`` (current);
``both``: the migration period's frames that carry both."""

MALFORMED = '{"type":"orderbook_delta","sid":1,"seq":'
"""A truncated frame (not JSON): what a cut connection leaves; parsers must reject it."""


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def dollars(cents: int) -> str:
    """Fixed-point dollars: 41 -> ``"0.4100"``."""
    return f"{cents // 100}.{cents % 100:02d}00"


def _levels(levels: Mapping[int, int]) -> list[list[str]]:
    return [[dollars(p), f"{s}.00"] for p, s in sorted(levels.items())]


def subscribed(cmd_id: int | None, channel: str, sid: int) -> str:
    return dumps({"id": cmd_id, "type": "subscribed", "msg": {"channel": channel, "sid": sid}})


def unsubscribed(cmd_id: int | None, sid: int) -> str:
    return dumps({"id": cmd_id, "sid": sid, "type": "unsubscribed"})


def error(cmd_id: int | None, code: int, text: str) -> str:
    return dumps({"id": cmd_id, "type": "error", "msg": {"code": code, "msg": text}})


def orderbook_snapshot(
    sid: int, seq: int, ticker: str, market_id: str, yes: Mapping[int, int], no: Mapping[int, int]
) -> str:
    """Both bid ladders (YES bids, NO bids), ascending by price, in the fixed-point format."""
    msg = {
        "market_ticker": ticker,
        "market_id": market_id,
        "yes_dollars_fp": _levels(yes),
        "no_dollars_fp": _levels(no),
    }
    return dumps({"type": "orderbook_snapshot", "sid": sid, "seq": seq, "msg": msg})


def orderbook_delta(
    sid: int,
    seq: int,
    ticker: str | None,
    side: str,
    price: int,
    delta: int,
    *,
    fmt: DeltaFormat,
    ts: int | str | None = None,
    ts_ms: int | None = None,
) -> str:
    """One level change. ``ts``: seconds or an ISO time (older frames); ``ts_ms``: epoch ms.

    ``ticker=None`` builds the mangled delta some captures hold (it cannot be applied).
    """
    msg: dict[str, Any] = {}
    if ticker is not None:
        msg["market_ticker"] = ticker
    if fmt == "legacy":
        msg.update(price=price, delta=delta)
    elif fmt == "fixed":
        msg.update(price_dollars=dollars(price), delta_fp=f"{delta}.00")
    else:
        msg.update(price=price, price_dollars=dollars(price), delta=delta, delta_fp=f"{delta}.00")
    msg["side"] = side
    if ts is not None:
        msg["ts"] = ts
    if ts_ms is not None:
        msg["ts_ms"] = ts_ms
    return dumps({"type": "orderbook_delta", "sid": sid, "seq": seq, "msg": msg})


def ticker(
    sid: int,
    seq: int,
    market_ticker: str,
    *,
    price: int,
    yes_bid: int,
    yes_ask: int,
    volume: int,
    open_interest: int,
    ts: int,
    market_id: str | None = None,
    with_dollars: bool = False,
) -> str:
    """Last price and top of book (cents; ``with_dollars`` adds the fixed-point twins), ``ts`` seconds."""
    msg: dict[str, Any] = {"market_ticker": market_ticker}
    if market_id is not None:
        msg["market_id"] = market_id
    msg.update(price=price, yes_bid=yes_bid, yes_ask=yes_ask)
    if with_dollars:
        msg.update(
            price_dollars=dollars(price), yes_bid_dollars=dollars(yes_bid), yes_ask_dollars=dollars(yes_ask)
        )
    msg.update(volume=volume, open_interest=open_interest, ts=ts)
    return dumps({"type": "ticker", "sid": sid, "seq": seq, "msg": msg})


def market_lifecycle(
    sid: int,
    market_ticker: str,
    event_type: str,
    *,
    open_ts: int | None = None,
    close_ts: int | None = None,
    price_level_structure: str | None = None,
    price_ranges: Sequence[Mapping[str, str]] | None = None,
) -> str:
    """A ``market_lifecycle_v2`` event (``created``, ``close_date_updated``, ...); times in seconds."""
    msg: dict[str, Any] = {"market_ticker": market_ticker, "event_type": event_type}
    if open_ts is not None:
        msg["open_ts"] = open_ts
    if close_ts is not None:
        msg["close_ts"] = close_ts
    if price_level_structure is not None:
        msg["price_level_structure"] = price_level_structure
    if price_ranges is not None:
        msg["price_ranges"] = [dict(r) for r in price_ranges]
    return dumps({"type": "market_lifecycle_v2", "sid": sid, "msg": msg})


def iso(epoch_s: int) -> str:
    """REST times are ISO-8601 UTC with a ``Z``: ``"2025-03-15T23:59:59Z"``."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rest_market(
    ticker: str,
    *,
    open_s: int,
    close_s: int,
    status: str = "active",
    yes_bid: int | None = None,
    yes_ask: int | None = None,
    price_level_structure: str = "linear_cent",
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One market of REST ``GET /markets`` / ``GET /markets/{ticker}`` (2026 fields: fixed-point only)."""
    market: dict[str, Any] = {
        "ticker": ticker,
        "event_ticker": ticker.rsplit("-", 1)[0],
        "market_type": "binary",
        "title": f"{ticker}?",
        "subtitle": "",
        "yes_sub_title": "Yes",
        "no_sub_title": "No",
        "open_time": iso(open_s),
        "close_time": iso(close_s),
        "latest_expiration_time": iso(close_s),
        "status": status,
        "yes_bid_dollars": dollars(yes_bid) if yes_bid is not None else "0.0000",
        "yes_ask_dollars": dollars(yes_ask) if yes_ask is not None else "1.0000",
        "no_bid_dollars": dollars(100 - yes_ask) if yes_ask is not None else "0.0000",
        "no_ask_dollars": dollars(100 - yes_bid) if yes_bid is not None else "1.0000",
        "notional_value_dollars": "1.0000",
        "price_level_structure": price_level_structure,
        "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}],
        "fractional_trading_enabled": False,
        "rules_primary": "Simulated market.",
    }
    if extra:
        market.update(extra)
    return market


def rest_error(code: str, message: str) -> dict[str, Any]:
    """A REST error body: ``{"error": {"code": "not_found", "message": ..}}``."""
    return {"error": {"code": code, "message": message, "service": "exchange"}}
