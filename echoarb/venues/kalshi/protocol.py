"""Sans-I/O parser for the Kalshi v2 WebSocket: frames in, normalised quotes out.

Kalshi books hold bids only. A NO bid at p is an offer to sell YES at 1 - p, so each
market is kept in one :class:`Book` whose bids are the YES bids and whose asks are
``1 - NO bid``: ``buy_yes`` is then the ask ladder and ``buy_no`` the complemented bids.
Both the legacy integer-cent fields and the fixed-point ``*_dollars``/``*_fp`` fields are
read (fixed-point wins when both are present) because Kalshi is migrating between them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from echoarb.model import ONE, ZERO, InstrumentQuote, MarketStatus
from echoarb.venues.book import Book
from echoarb.venues.parsing import (
    FrameError,
    ParseResult,
    book_quote,
    decimal_cache,
    event_ms,
    loads,
    optional_list,
    require,
    require_dict,
    require_str,
    to_decimal,
)

_CENT = Decimal(100)
_LIFECYCLE: dict[str, MarketStatus] = {
    "activated": "open",
    "deactivated": "halted",
    "determined": "closed",
    "settled": "settled",
}


@dataclass(slots=True)
class _Market:
    """Local state of one market ticker."""

    book: Book = field(default_factory=Book)
    sid: int | None = None
    in_sync: bool = False  # True only after a snapshot and no seq gap since
    resync_requested: bool = False
    status: MarketStatus = "open"


class KalshiProtocol:
    """Keeps one book per market ticker and emits an ``InstrumentQuote`` after each change."""

    def __init__(self, depth: int = 10) -> None:
        if depth < 1:
            raise ValueError("depth must be >= 1")
        self.depth = depth
        self._markets: dict[str, _Market] = {}
        self._last_seq: dict[int, int] = {}

    def receive(
        self, frame: str | bytes, recv_ts: int, *, source: str = "ws", path: str | None = None
    ) -> ParseResult:
        """Parse one WebSocket frame. Never raises: bad input becomes a reason in ``errors``.

        ``source`` and ``path`` exist for signature parity with the other venues and are ignored.
        """
        result = ParseResult()
        kind = ""
        try:
            data = loads(frame)
            if not isinstance(data, dict):
                raise FrameError("frame is not a JSON object")
            raw_kind = data.get("type")
            kind = raw_kind if isinstance(raw_kind, str) else ""
            self._dispatch(data, kind, recv_ts, result)
        except FrameError as exc:
            result.errors.append(f"kalshi{' ' + kind if kind else ''}: {exc}")
        except Exception as exc:  # defensive: a parser bug must not kill the connector
            result.errors.append(
                f"kalshi{' ' + kind if kind else ''}: internal error {type(exc).__name__}: {exc}"
            )
        return result

    def market_status(self, ticker: str) -> MarketStatus | None:
        """Last known status of ``ticker`` (None if never seen)."""
        market = self._markets.get(ticker)
        return None if market is None else market.status

    def _dispatch(self, data: dict[str, Any], kind: str, recv_ts: int, result: ParseResult) -> None:
        if kind == "error":
            msg = data.get("msg")
            detail = msg if not isinstance(msg, dict) else f"code {msg.get('code')}: {msg.get('msg')}"
            raise FrameError(f"venue replied {detail}")
        if kind not in ("orderbook_snapshot", "orderbook_delta", "market_lifecycle_v2"):
            return  # ticker, trade, subscribed, ok and unknown types carry nothing we keep
        msg = require_dict(data, "msg")
        ts = msg.get("ts", data.get("ts"))
        event_ts = event_ms(ts, recv_ts)
        ticker = msg.get("market_ticker")
        sid, seq = data.get("sid"), data.get("seq")
        if type(sid) is int and type(seq) is int and self._last_seq.get(sid) == seq - 1:
            self._last_seq[sid] = seq  # in sequence: all that _check_seq would do
        else:
            self._check_seq(data, ticker if kind == "orderbook_snapshot" else None, event_ts, recv_ts, result)
        if kind == "orderbook_snapshot":
            self._snapshot(data, msg, event_ts, recv_ts, result)
        elif kind == "orderbook_delta":
            self._delta(msg, event_ts, recv_ts, result)
        else:
            self._lifecycle(msg, event_ts, recv_ts, result)

    def _check_seq(
        self, data: dict[str, Any], healing: Any, event_ts: int, recv_ts: int, result: ParseResult
    ) -> None:
        """Detect a ``seq`` gap on the frame's ``sid``; every book of that sid becomes untrusted.

        ``healing`` is the ticker of a snapshot carried by this very frame: it is not marked.
        """
        sid, seq = data.get("sid"), data.get("seq")
        if sid is None or seq is None:
            return
        if not isinstance(sid, int) or not isinstance(seq, int) or isinstance(seq, bool):
            raise FrameError(f"fields 'sid'/'seq' are not integers: {sid!r}/{seq!r}")
        last = self._last_seq.get(sid)
        self._last_seq[sid] = seq
        if last is None or seq == last + 1:
            return
        for ticker, market in self._markets.items():
            if market.sid != sid or ticker == healing or not market.in_sync:
                continue
            self._desync(ticker, market, event_ts, recv_ts, result)

    def _desync(self, ticker: str, market: _Market, event_ts: int, recv_ts: int, result: ParseResult) -> None:
        """Flag the book as wrong: tell downstream once (in_sync=False quote) and ask for a snapshot."""
        if market.in_sync:
            market.in_sync = False
            result.quotes.append(self._quote(ticker, market, event_ts, recv_ts))
        if not market.resync_requested:
            market.resync_requested = True
            result.resync.append(ticker)

    def _market(self, ticker: str) -> _Market:
        market = self._markets.get(ticker)
        if market is None:
            market = self._markets[ticker] = _Market()
        return market

    def _snapshot(
        self, data: dict[str, Any], msg: dict[str, Any], event_ts: int, recv_ts: int, result: ParseResult
    ) -> None:
        ticker = require_str(msg, "market_ticker")
        market = self._market(ticker)
        try:
            yes = _side_levels(msg, "yes")
            no = _side_levels(msg, "no")
        except FrameError:
            # The venue's book changed but we could not read it: ours is now wrong.
            self._desync(ticker, market, event_ts, recv_ts, result)
            raise
        market.book.replace(yes, ((ONE - price, size) for price, size in no))
        sid = data.get("sid")
        if isinstance(sid, int):
            market.sid = sid
        market.in_sync = True
        market.resync_requested = False
        result.quotes.append(self._quote(ticker, market, event_ts, recv_ts))

    def _delta(self, msg: dict[str, Any], event_ts: int, recv_ts: int, result: ParseResult) -> None:
        ticker = require_str(msg, "market_ticker")
        market = self._markets.get(ticker) or self._market(ticker)
        # Fast path: side, price and size values seen (and validated) before. Anything else
        # takes the checks below, which also word the errors.
        side = msg.get("side")
        raw_price = msg.get("price_dollars")
        if raw_price is None:
            raw_price = msg.get("price")
            prices = _CENT_PRICES.get(raw_price) if type(raw_price) is int else None
        else:
            prices = _DOLLAR_PRICES.get(raw_price) if type(raw_price) is str else None
        raw_delta = msg.get("delta_fp")
        if raw_delta is None:
            raw_delta = msg.get("delta")
        if type(raw_delta) is str:
            delta = decimal_cache.get(raw_delta)
        else:
            delta = Decimal(raw_delta) if type(raw_delta) is int else None
        if prices is None or delta is None or (side != "yes" and side != "no"):
            try:
                side = require(msg, "side")
                if side not in ("yes", "no"):
                    raise FrameError(f"field 'side' is not 'yes' or 'no': {side!r}")
                price = _price(msg, "price_dollars", "price")
                delta = _number(msg, "delta_fp", "delta")
            except FrameError:
                self._desync(ticker, market, event_ts, recv_ts, result)
                raise
            prices = _remember_price(msg, price)
        if not market.in_sync:
            # No snapshot yet, or a gap: applying deltas to a wrong book is pointless.
            self._desync(ticker, market, event_ts, recv_ts, result)
            return
        book = market.book
        if side == "yes":
            book.apply_delta("bid", prices[0], delta)
        else:
            book.apply_delta("ask", prices[1], delta)
        result.quotes.append(
            InstrumentQuote(
                venue="kalshi",
                instrument=ticker,
                buy_yes=book.best_asks(self.depth),
                buy_no=book.complement_bids(self.depth),
                event_ts=event_ts,
                recv_ts=recv_ts,
                status=market.status,
                in_sync=market.in_sync,
            )
        )

    def _lifecycle(self, msg: dict[str, Any], event_ts: int, recv_ts: int, result: ParseResult) -> None:
        ticker = require_str(msg, "market_ticker")
        event_type = require(msg, "event_type")
        status = _LIFECYCLE.get(event_type) if isinstance(event_type, str) else None
        if status is None:
            return  # created / close_date_updated / future types: nothing tradable changes
        market = self._market(ticker)
        market.status = status
        result.quotes.append(self._quote(ticker, market, event_ts, recv_ts))

    def _quote(self, ticker: str, market: _Market, event_ts: int, recv_ts: int) -> InstrumentQuote:
        return book_quote(
            "kalshi", ticker, market.book, self.depth, event_ts, recv_ts, market.status, market.in_sync
        )


# Validated delta prices by their wire value: price -> (price, 1 - price), so a repeated
# price costs one look-up and the book keys stay the same Decimal objects.
_PRICES_MAX = 10_000
_DOLLAR_PRICES: dict[str, tuple[Decimal, Decimal]] = {}
_CENT_PRICES: dict[int, tuple[Decimal, Decimal]] = {}


def _remember_price(msg: dict[str, Any], price: Decimal) -> tuple[Decimal, Decimal]:
    """(price, 1 - price), memoised under the wire value ``_price`` read it from."""
    prices = (price, ONE - price)
    raw = msg.get("price_dollars")
    if raw is None:
        raw = msg.get("price")
        if type(raw) is int:
            if len(_CENT_PRICES) >= _PRICES_MAX:
                _CENT_PRICES.clear()
            _CENT_PRICES[raw] = prices
    elif type(raw) is str:
        if len(_DOLLAR_PRICES) >= _PRICES_MAX:
            _DOLLAR_PRICES.clear()
        _DOLLAR_PRICES[raw] = prices
    return prices


def _side_levels(msg: dict[str, Any], side: str) -> list[tuple[Decimal, Decimal]]:
    """Levels of one side of a snapshot as (price dollars, size); absent side = empty."""
    for name, in_cents in ((f"{side}_dollars_fp", False), (f"{side}_dollars", False), (side, True)):
        if msg.get(name) is not None:
            return [_level(entry, name, in_cents) for entry in optional_list(msg, name)]
    return []


def _level(entry: Any, name: str, in_cents: bool) -> tuple[Decimal, Decimal]:
    if not isinstance(entry, list) or len(entry) < 2:
        raise FrameError(f"bad level in '{name}': {entry!r}")
    price = to_decimal(entry[0], name)
    if in_cents:
        price /= _CENT
    _check_price(price, name)
    return price, to_decimal(entry[1], name)


def _price(msg: dict[str, Any], dollars: str, cents: str) -> Decimal:
    if msg.get(dollars) is not None:
        price = to_decimal(msg[dollars], dollars)
        _check_price(price, dollars)
    elif msg.get(cents) is not None:
        price = to_decimal(msg[cents], cents) / _CENT
        _check_price(price, cents)
    else:
        raise FrameError(f"missing field '{dollars}' or '{cents}'")
    return price


def _number(msg: dict[str, Any], fixed: str, legacy: str) -> Decimal:
    for name in (fixed, legacy):
        if msg.get(name) is not None:
            return to_decimal(msg[name], name)
    raise FrameError(f"missing field '{fixed}' or '{legacy}'")


def _check_price(price: Decimal, name: str) -> None:
    if not ZERO < price < ONE:
        raise FrameError(f"field '{name}' price out of range (0, 1): {price}")
