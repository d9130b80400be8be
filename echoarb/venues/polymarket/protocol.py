"""Sans-I/O parser for the Polymarket CLOB market channel: frames in, normalised quotes out.

Each token (asset id) has its own book. Polymarket sends no sequence numbers, so a book is
trusted from its last ``book`` snapshot until a change cannot be applied (rejected change
or change for a token without a snapshot); then it is flagged for resync.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from echoarb.model import ONE, ZERO, InstrumentQuote, MarketStatus
from echoarb.venues.book import Book, BookSide
from echoarb.venues.parsing import (
    FrameError,
    ParseResult,
    book_quote,
    decimal_cache,
    event_ms,
    loads,
    optional_list,
    require,
    require_str,
    to_decimal,
)

_SIDES: dict[str, BookSide] = {"BUY": "bid", "BID": "bid", "SELL": "ask", "ASK": "ask"}
_KEEPALIVE = frozenset({"PONG", "PING"})


@dataclass(slots=True)
class _Token:
    """Local state of one token (asset id)."""

    book: Book = field(default_factory=Book)
    in_sync: bool = False  # True only after a snapshot and no rejected change since
    resync_requested: bool = False
    status: MarketStatus = "open"


class PolymarketProtocol:
    """Keeps one book per token and emits an ``InstrumentQuote`` per changed token per event."""

    def __init__(self, depth: int = 10) -> None:
        if depth < 1:
            raise ValueError("depth must be >= 1")
        self.depth = depth
        self._tokens: dict[str, _Token] = {}

    def receive(
        self, frame: str | bytes, recv_ts: int, *, source: str = "ws", path: str | None = None
    ) -> ParseResult:
        """Parse one frame (an event or a JSON array of events). Never raises.

        ``source`` and ``path`` exist for signature parity with the other venues and are ignored.
        """
        result = ParseResult()
        try:
            if _is_keepalive(frame):
                return result
            data = loads(frame)
        except FrameError as exc:
            result.errors.append(f"polymarket: {exc}")
            return result
        if isinstance(data, dict):
            events: list[Any] = [data]
        elif isinstance(data, list):
            events = data
        else:
            result.errors.append("polymarket: frame is not a JSON object or array")
            return result
        for event in events:
            kind = ""
            try:
                if not isinstance(event, dict):
                    raise FrameError("event is not a JSON object")
                raw_kind = event.get("event_type")
                kind = raw_kind if isinstance(raw_kind, str) else ""
                self._event(event, kind, recv_ts, result)
            except FrameError as exc:
                result.errors.append(f"polymarket{' ' + kind if kind else ''}: {exc}")
            except Exception as exc:  # defensive: a parser bug must not kill the connector
                result.errors.append(f"polymarket {kind}: internal error {type(exc).__name__}: {exc}")
        return result

    def _event(self, event: dict[str, Any], kind: str, recv_ts: int, result: ParseResult) -> None:
        if kind == "book":
            self._book(event, recv_ts, result)
        elif kind == "price_change":
            self._price_change(event, recv_ts, result)
        elif kind == "market_resolved":
            self._resolved(event, recv_ts, result)
        # tick_size_change, last_trade_price, best_bid_ask, new_market, unknown: nothing to keep

    def _token(self, asset_id: str) -> _Token:
        token = self._tokens.get(asset_id)
        if token is None:
            token = self._tokens[asset_id] = _Token()
        return token

    def _desync(self, asset_id: str, token: _Token, event_ts: int, recv_ts: int, result: ParseResult) -> None:
        """Flag the book as wrong: tell downstream once (in_sync=False quote) and ask for a snapshot."""
        if token.in_sync:
            token.in_sync = False
            result.quotes.append(self._quote(asset_id, token, event_ts, recv_ts))
        if not token.resync_requested:
            token.resync_requested = True
            result.resync.append(asset_id)

    def _book(self, event: dict[str, Any], recv_ts: int, result: ParseResult) -> None:
        asset_id = require_str(event, "asset_id")
        token = self._token(asset_id)
        event_ts = event_ms(event.get("timestamp"), recv_ts)
        try:
            bids = [_level(e, "bids") for e in optional_list(event, "bids" if "bids" in event else "buys")]
            asks = [_level(e, "asks") for e in optional_list(event, "asks" if "asks" in event else "sells")]
        except FrameError:
            self._desync(asset_id, token, event_ts, recv_ts, result)
            raise
        token.book.replace(bids, asks)
        token.in_sync = True
        token.resync_requested = False
        result.quotes.append(self._quote(asset_id, token, event_ts, recv_ts))

    def _price_change(self, event: dict[str, Any], recv_ts: int, result: ParseResult) -> None:
        if event.get("price_changes") is not None:
            changes = optional_list(event, "price_changes")
            default_asset: str | None = None
        else:  # pre-Sept-2025 format: one asset per event
            default_asset = require_str(event, "asset_id")
            changes = optional_list(event, "changes")
        event_ts = event_ms(event.get("timestamp"), recv_ts)
        touched: dict[str, _Token] = {}
        failures: list[str] = []
        for change in changes:
            try:
                if not isinstance(change, dict):
                    raise FrameError("change is not a JSON object")
                asset_id = default_asset if default_asset is not None else require_str(change, "asset_id")
                self._apply(asset_id, change, touched, event_ts, recv_ts, result)
            except FrameError as exc:
                failures.append(str(exc))
        for asset_id, token in touched.items():
            if token.in_sync:
                result.quotes.append(self._quote(asset_id, token, event_ts, recv_ts))
        if failures:
            raise FrameError("; ".join(failures))

    def _apply(
        self,
        asset_id: str,
        change: dict[str, Any],
        touched: dict[str, _Token],
        event_ts: int,
        recv_ts: int,
        result: ParseResult,
    ) -> None:
        token = self._tokens.get(asset_id) or self._token(asset_id)
        # Fast path: side, price and size values seen (and validated) before. Anything else
        # takes the checks below, which also word the errors.
        raw = change.get("side")
        side = _SIDES.get(raw) if type(raw) is str else None
        raw = change.get("price")
        price = _PRICES.get(raw) if type(raw) is str else None
        raw = change.get("size")
        size = decimal_cache.get(raw) if type(raw) is str else None
        if side is None or price is None or size is None:
            try:
                side = _SIDES.get(str(require(change, "side")).upper())
                if side is None:
                    raise FrameError(f"field 'side' is not BUY or SELL: {change['side']!r}")
                price = _price(change.get("price"))
                size = to_decimal(require(change, "size"), "size")
            except FrameError:
                self._desync(asset_id, token, event_ts, recv_ts, result)
                raise
        if not token.in_sync:
            self._desync(asset_id, token, event_ts, recv_ts, result)  # no snapshot yet or already wrong
            return
        token.book.set_level(side, price, size)
        touched[asset_id] = token

    def _resolved(self, event: dict[str, Any], recv_ts: int, result: ParseResult) -> None:
        ids: Any = None
        for name in ("assets_ids", "asset_ids", "asset_id"):
            if event.get(name) is not None:
                ids = event[name]
                break
        if ids is None:
            raise FrameError("missing field 'assets_ids'")
        if isinstance(ids, str):
            ids = [ids]
        if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
            raise FrameError(f"field 'assets_ids' is not a list of ids: {ids!r}")
        event_ts = event_ms(event.get("timestamp"), recv_ts)
        for asset_id in ids:
            token = self._token(asset_id)
            token.status = "settled"
            result.quotes.append(self._quote(asset_id, token, event_ts, recv_ts))

    def _quote(self, asset_id: str, token: _Token, event_ts: int, recv_ts: int) -> InstrumentQuote:
        return book_quote(
            "polymarket", asset_id, token.book, self.depth, event_ts, recv_ts, token.status, token.in_sync
        )


def _is_keepalive(frame: str | bytes) -> bool:
    if len(frame) > 8:
        return False
    text = frame.decode("ascii", "replace") if isinstance(frame, bytes | bytearray) else frame
    return text.strip().upper() in _KEEPALIVE


# Validated prices by their wire string: a repeated price costs one look-up.
_PRICES_MAX = 10_000
_PRICES: dict[str, Decimal] = {}


def _price(value: Any) -> Decimal:
    if value is None:
        raise FrameError("missing field 'price'")
    price = to_decimal(value, "price")
    if not ZERO < price < ONE:
        raise FrameError(f"field 'price' out of range (0, 1): {price}")
    if type(value) is str:
        if len(_PRICES) >= _PRICES_MAX:
            _PRICES.clear()
        _PRICES[value] = price
    return price


def _level(entry: Any, name: str) -> tuple[Decimal, Decimal]:
    if not isinstance(entry, dict):
        raise FrameError(f"bad level in '{name}': {entry!r}")
    return _price(entry.get("price")), to_decimal(require(entry, "size"), "size")
