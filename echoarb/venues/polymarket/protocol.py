"""Sans-I/O parser for the Polymarket CLOB market channel (and REST book / Gamma market bodies).

Each token (asset id) has its own book. Polymarket sends no sequence numbers, so a book is
trusted from its last ``book`` snapshot until the venue says otherwise: a change that cannot
be applied, a change for a token without a snapshot, a level off the token's tick, or the
venue's own best bid/ask (in each ``price_changes`` entry and in ``best_bid_ask``) differing
from the local book. Then the token is flagged out of sync and a fresh book is requested.

Three ``price_change`` shapes are read: the current one (``price_changes`` list, Sept 2025),
the older one (``asset_id`` and a ``changes`` list) and the flat 2024 one (``asset_id``,
``price``, ``side``, ``size`` at the top level). Event time is ``timestamp``, else the
receive time (counted in ``ParseResult.fallback_ts``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from echoarb.model import ONE, ZERO, InstrumentQuote, MarketStatus
from echoarb.venues.book import Book, BookSide
from echoarb.venues.parsing import (
    MAX_AHEAD_MS,
    FrameError,
    ParseResult,
    book_quote,
    decimal_cache,
    first_ms,
    loads,
    optional_list,
    require,
    require_str,
    to_decimal,
    to_epoch_ms,
)
from echoarb.venues.ticks import TickRule, uniform

_SIDES: dict[str, BookSide] = {"BUY": "bid", "BID": "bid", "SELL": "ask", "ASK": "ask"}
_KEEPALIVE = frozenset({"PONG", "PING"})
_IGNORED = frozenset({"last_trade_price"})  # a trade: the book's change follows as its own event
# The venue spells "no bid" / "no ask" in best_bid / best_ask with these.
_NO_BID = frozenset({"", "0"})
_NO_ASK = frozenset({"", "0", "1"})


@dataclass(slots=True)
class _Token:
    """Local state of one token (asset id)."""

    book: Book = field(default_factory=Book)
    in_sync: bool = False  # True only after a snapshot and no rejected change since
    resync_requested: bool = False
    status: MarketStatus = "open"
    tick: TickRule | None = None  # None = not known: no tick check
    end_ms: int = 0  # Gamma endDate: the expected resolution date, NOT a trading close
    # Venue time of a REST ``/book`` snapshot: WebSocket changes stamped before it are already
    # in it (they were in flight while the snapshot was fetched) and are not applied again.
    snapshot_ms: int = 0


class PolymarketProtocol:
    """Keeps one book per token and emits an ``InstrumentQuote`` per changed token per event."""

    def __init__(self, depth: int = 10) -> None:
        if depth < 1:
            raise ValueError("depth must be >= 1")
        self.depth = depth
        self._tokens: dict[str, _Token] = {}
        self._market_tokens: dict[str, set[str]] = {}  # condition id -> its tokens seen so far

    def receive(
        self, frame: str | bytes, recv_ts: int, *, source: str = "ws", path: str | None = None
    ) -> ParseResult:
        """Parse one frame (an event or a JSON array of events), or a REST body. Never raises.

        REST bodies (``source="rest"``): a CLOB ``/book`` response is a snapshot; a Gamma
        market (or a list of them) sets each token's tick and whether it accepts orders.
        """
        result = ParseResult()
        try:
            if source != "rest" and _is_keepalive(frame):
                result.ignored.append("keepalive")
                return result
            data = loads(frame)
        except FrameError as exc:
            result.errors.append(f"polymarket: {exc}")
            return result
        if source == "rest":
            try:
                self._rest(data, path, recv_ts, result)
            except FrameError as exc:
                result.errors.append(f"polymarket rest{' ' + path if path else ''}: {exc}")
            except Exception as exc:  # defensive: a parser bug must not kill the connector
                result.errors.append(f"polymarket rest: internal error {type(exc).__name__}: {exc}")
            return result
        if isinstance(data, dict):
            events: list[Any] = [data]
        elif isinstance(data, list):
            events = data
            if not events:
                result.ignored.append("empty")
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

    def tick_rule(self, asset_id: str) -> TickRule | None:
        token = self._tokens.get(asset_id)
        return None if token is None else token.tick

    def _event(self, event: dict[str, Any], kind: str, recv_ts: int, result: ParseResult) -> None:
        if kind == "book":
            self._book(event, recv_ts, result)
        elif kind == "price_change":
            self._price_change(event, recv_ts, result)
        elif kind == "best_bid_ask":
            self._best_bid_ask(event, recv_ts, result)
        elif kind == "tick_size_change":
            self._tick_size_change(event, result)
        elif kind == "market_resolved":
            self._resolved(event, recv_ts, result)
        elif kind == "new_market":
            self._new_market(event, result)
        elif kind in _IGNORED:
            result.ignored.append(kind)
        else:
            result.ignored.append("unknown")  # a type Polymarket added since: counted, not quoted

    def _token(self, asset_id: str) -> _Token:
        token = self._tokens.get(asset_id)
        if token is None:
            token = self._tokens[asset_id] = _Token()
        return token

    def _link(self, event: dict[str, Any], asset_id: str) -> None:
        market = event.get("market")
        if isinstance(market, str) and market:
            tokens = self._market_tokens.get(market)
            if tokens is None:
                tokens = self._market_tokens[market] = set()
            tokens.add(asset_id)

    def _event_ts(self, event: dict[str, Any], recv_ts: int, result: ParseResult) -> int:
        ms = to_epoch_ms(event.get("timestamp"))
        if ms is None or ms > recv_ts + MAX_AHEAD_MS:
            result.fallback_ts += 1
            return recv_ts
        return ms

    def _desync(
        self, asset_id: str, token: _Token, reason: str, event_ts: int, recv_ts: int, result: ParseResult
    ) -> None:
        """Flag the book as wrong: tell downstream once (in_sync=False quote) and ask for a snapshot."""
        result.desyncs.append(reason)
        if token.in_sync:
            token.in_sync = False
            result.quotes.append(self._quote(asset_id, token, event_ts, recv_ts))
        if not token.resync_requested:
            token.resync_requested = True
            result.resync.append(asset_id)

    def _book(self, event: dict[str, Any], recv_ts: int, result: ParseResult, *, rest: bool = False) -> None:
        asset_id = require_str(event, "asset_id")
        token = self._token(asset_id)
        self._link(event, asset_id)
        event_ts = self._event_ts(event, recv_ts, result)
        try:
            bids = [_level(e, "bids") for e in optional_list(event, "bids" if "bids" in event else "buys")]
            asks = [_level(e, "asks") for e in optional_list(event, "asks" if "asks" in event else "sells")]
            tick = _tick(event.get("tick_size"), "tick_size")
        except FrameError:
            self._desync(asset_id, token, "bad_update", event_ts, recv_ts, result)
            raise
        if tick is not None:
            token.tick = tick
        token.book.replace(bids, asks)
        token.snapshot_ms = event_ts if rest else 0
        token.in_sync = True
        token.resync_requested = False
        result.quotes.append(self._quote(asset_id, token, event_ts, recv_ts))

    def _price_change(self, event: dict[str, Any], recv_ts: int, result: ParseResult) -> None:
        if event.get("price_changes") is not None:  # Sept 2025 on: changes of many tokens
            changes = optional_list(event, "price_changes")
            default_asset: str | None = None
        elif event.get("changes") is not None:  # 2025: one asset, a list of changes
            default_asset = require_str(event, "asset_id")
            changes = optional_list(event, "changes")
        else:  # 2024: one flat change
            default_asset = require_str(event, "asset_id")
            changes = [event]
        event_ts = self._event_ts(event, recv_ts, result)
        touched: dict[str, _Token] = {}
        # The venue's best bid/ask of each token, from its last change that carries them, is
        # checked once the whole event is applied: the venue may stamp every entry of an event
        # with the book after the event (real frames do), or each with the book after that
        # entry; the last entry agrees with the final book either way.
        best: dict[str, dict[str, Any]] = {}
        failures: list[str] = []
        for change in changes:
            try:
                if not isinstance(change, dict):
                    raise FrameError("change is not a JSON object")
                asset_id = default_asset if default_asset is not None else require_str(change, "asset_id")
                if self._apply(asset_id, change, touched, event_ts, recv_ts, result) and (
                    change.get("best_bid") is not None or change.get("best_ask") is not None
                ):
                    best[asset_id] = change
            except FrameError as exc:
                failures.append(str(exc))
        for asset_id, change in best.items():
            token = touched[asset_id]
            if token.in_sync:
                self._check_best(asset_id, token, change, event_ts, recv_ts, result)
        for asset_id, token in touched.items():
            if token.in_sync:
                self._link(event, asset_id)
                result.quotes.append(self._quote(asset_id, token, event_ts, recv_ts))
        if not changes:
            result.ignored.append("price_change empty")
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
    ) -> bool:
        """Apply one change to its token's book; True when it was applied."""
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
                self._desync(asset_id, token, "bad_update", event_ts, recv_ts, result)
                raise
        if not token.in_sync:
            if token.resync_requested:
                result.ignored.append("awaiting_snapshot")
            else:
                self._desync(asset_id, token, "no_snapshot", event_ts, recv_ts, result)
            return False
        if event_ts < token.snapshot_ms:
            result.ignored.append("before_snapshot")  # already in the REST snapshot
            return False
        book = token.book
        if token.tick is not None and size > ZERO:
            levels = book.bids if side == "bid" else book.asks
            held = levels.get(price)
            if (held is None or size > held) and not token.tick.allows(price):
                self._desync(asset_id, token, "off_tick", event_ts, recv_ts, result)
                raise FrameError(token.tick.describe(price))
        book.set_level(side, price, size)
        touched[asset_id] = token
        return True

    def _check_best(
        self,
        asset_id: str,
        token: _Token,
        event: dict[str, Any],
        event_ts: int,
        recv_ts: int,
        result: ParseResult,
    ) -> bool:
        """Compare the venue's best bid/ask with the local book; a difference desyncs the token."""
        book = token.book
        # Top prices straight from the book: a best_bids(1) here would evict the depth-d
        # ladder the quote reads next (the ladder cache holds one depth).
        for name, local, empty in (
            ("best_bid", book.best_bid_price(), _NO_BID),
            ("best_ask", book.best_ask_price(), _NO_ASK),
        ):
            raw = event.get(name)
            if raw is None:
                continue
            venue = None if (isinstance(raw, str) and raw.strip() in empty) else to_decimal(raw, name)
            if venue is not None and venue == ZERO and name == "best_bid":
                venue = None
            if venue != local:
                self._desync(asset_id, token, "best_mismatch", event_ts, recv_ts, result)
                return False
        return True

    def _best_bid_ask(self, event: dict[str, Any], recv_ts: int, result: ParseResult) -> None:
        asset_id = require_str(event, "asset_id")
        token = self._tokens.get(asset_id)
        if token is None or not token.in_sync:
            result.ignored.append("best_bid_ask")  # no local book to check
            return
        ms = to_epoch_ms(event.get("timestamp"))
        if ms is not None and ms > recv_ts + MAX_AHEAD_MS:
            ms = None
        event_ts = recv_ts if ms is None else ms
        if self._check_best(asset_id, token, event, event_ts, recv_ts, result):
            # Agrees with the book: nothing new (and never makes old depth look fresh).
            result.ignored.append("best_bid_ask")
        elif ms is None:
            result.fallback_ts += 1

    def _tick_size_change(self, event: dict[str, Any], result: ParseResult) -> None:
        asset_id = require_str(event, "asset_id")
        tick = _tick(require(event, "new_tick_size"), "new_tick_size")
        token = self._token(asset_id)
        token.tick = tick
        self._link(event, asset_id)
        result.ignored.append("tick_size_change")  # the tick is kept; the book is unchanged

    def _new_market(self, event: dict[str, Any], result: ParseResult) -> None:
        tick = _tick(event.get("order_price_min_tick_size"), "order_price_min_tick_size")
        ids = event.get("assets_ids")
        if tick is not None and isinstance(ids, list):
            for asset_id in ids:
                if isinstance(asset_id, str) and asset_id:
                    self._token(asset_id).tick = tick
                    self._link(event, asset_id)
        result.ignored.append("new_market")  # discovery is configured, not automatic

    def _resolved(self, event: dict[str, Any], recv_ts: int, result: ParseResult) -> None:
        ids: Any = None
        for name in ("assets_ids", "asset_ids", "asset_id", "winning_asset_id"):
            if event.get(name) is not None:
                ids = event[name]
                break
        if ids is None:
            raise FrameError("missing field 'assets_ids'")
        if isinstance(ids, str):
            ids = [ids]
        if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
            raise FrameError(f"field 'assets_ids' is not a list of ids: {ids!r}")
        # Every token of the market is settled, not only those the frame lists.
        market = event.get("market")
        siblings = self._market_tokens.get(market, set()) if isinstance(market, str) else set()
        event_ts = self._event_ts(event, recv_ts, result)
        for asset_id in list(dict.fromkeys([*ids, *sorted(siblings)])):
            token = self._token(asset_id)
            token.status = "settled"
            result.quotes.append(self._quote(asset_id, token, event_ts, recv_ts))

    def _rest(self, data: Any, path: str | None, recv_ts: int, result: ParseResult) -> None:
        if isinstance(data, dict) and data.get("asset_id") is not None and "event_type" not in data:
            self._book(data, recv_ts, result, rest=True)  # CLOB GET /book: a snapshot like WS ``book``
            return
        markets = data if isinstance(data, list) else [data]
        for market in markets:
            if not isinstance(market, dict):
                raise FrameError("market is not a JSON object")
            self._gamma_market(market, recv_ts, result)

    def _gamma_market(self, market: dict[str, Any], recv_ts: int, result: ParseResult) -> None:
        """Gamma ``/markets``: whether each token accepts orders, its tick and end date."""
        ids = gamma_list(market, "clobTokenIds")
        tick = _tick(market.get("orderPriceMinTickSize"), "orderPriceMinTickSize")
        end_ms = first_ms(market.get("endDate"), market.get("end_date_iso")) or 0
        status: MarketStatus = "open"
        if market.get("closed") is True:
            status = "closed"
        elif market.get("acceptingOrders") is False or market.get("active") is False:
            status = "halted"
        result.fallback_ts += 1  # a REST body is the state as observed now
        for asset_id in ids:
            token = self._token(asset_id)
            if tick is not None:
                token.tick = tick
            token.end_ms = end_ms
            token.status = status
            condition = market.get("conditionId")
            if isinstance(condition, str) and condition:
                self._market_tokens.setdefault(condition, set()).add(asset_id)
            if token.in_sync:
                result.quotes.append(self._quote(asset_id, token, recv_ts, recv_ts))
            else:
                result.ignored.append("rest market")  # state kept for the book to come

    def _quote(self, asset_id: str, token: _Token, event_ts: int, recv_ts: int) -> InstrumentQuote:
        return book_quote(
            "polymarket", asset_id, token.book, self.depth, event_ts, recv_ts, token.status, token.in_sync
        )


def gamma_list(market: dict[str, Any], name: str) -> list[str]:
    """A Gamma list field (``clobTokenIds``, ``outcomes``, ``outcomePrices``) as its strings.

    Gamma encodes these lists as JSON strings inside the JSON body; newer bodies (and other
    clients' fixtures) sometimes carry the plain list. Both are accepted; anything else is a
    :class:`FrameError`. Shared with market discovery (``echoarb.discover.polymarket``).
    """
    values = require(market, name)
    if isinstance(values, str):
        try:
            values = loads(values)
        except FrameError:
            raise FrameError(f"field {name!r} is not a JSON list") from None
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise FrameError(f"field {name!r} is not a list of strings: {values!r}")
    return values


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


def _tick(value: Any, name: str) -> TickRule | None:
    """A uniform tick from ``tick_size``-like fields (string or number); None when absent."""
    if value is None or value == "":
        return None
    step = to_decimal(value, name)
    if not ZERO < step < ONE:
        raise FrameError(f"field '{name}' out of range (0, 1): {step}")
    return _TICKS.get(step) or _TICKS.setdefault(step, uniform(step))


_TICKS: dict[Decimal, TickRule] = {}


def _level(entry: Any, name: str) -> tuple[Decimal, Decimal]:
    if not isinstance(entry, dict):
        raise FrameError(f"bad level in '{name}': {entry!r}")
    return _price(entry.get("price")), to_decimal(require(entry, "size"), "size")
