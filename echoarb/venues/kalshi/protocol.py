"""Sans-I/O parser for the Kalshi v2 WebSocket (and REST market bodies): frames in, quotes out.

Kalshi books hold bids only. A NO bid at p is an offer to sell YES at 1 - p, so each
market is kept in one :class:`Book` whose bids are the YES bids and whose asks are
``1 - NO bid``: ``buy_yes`` is then the ask ladder and ``buy_no`` the complemented bids.
Both the legacy integer-cent fields and the fixed-point ``*_dollars``/``*_fp`` fields are
read (fixed-point wins when both are present) because Kalshi is migrating between them.

Event time is ``ts_ms``, else the deprecated ``ts`` (seconds or ISO text), else the time a
lifecycle event names (``determination_ts``, ``settled_ts``); without any, the receive time,
counted in ``ParseResult.fallback_ts``. Each market's open and close times are tracked from
the lifecycle channel and REST market bodies, because Kalshi sends nothing when trading
closes: quotes carry ``close_ts`` and a status that is ``closed`` from then on, and
:meth:`KalshiProtocol.expire` (driven by the receive time of every frame) announces the
close of a quiet market with a ``closed`` quote stamped at its close time.

A book is out of sync (and a fresh snapshot is requested) on a ``seq`` gap, on a delta that
reduces a level the book does not hold or removes more than the level holds, and on a
level off the market's tick (``price_level_structure`` / ``price_ranges``).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from echoarb.model import ONE, ZERO, InstrumentQuote, MarketStatus
from echoarb.venues.book import Book
from echoarb.venues.parsing import (
    MAX_AHEAD_MS,
    FrameError,
    ParseResult,
    book_quote,
    decimal_cache,
    first_ms,
    iso_ms,
    loads,
    make_quote,
    optional_list,
    require,
    require_dict,
    require_str,
    to_decimal,
    to_epoch_ms,
)
from echoarb.venues.ticks import KALSHI_STRUCTURES, TickRule, from_bands

_CENT = Decimal(100)
# Lifecycle event -> the market's own status (before the open/close times are applied).
_LIFECYCLE: dict[str, MarketStatus] = {
    "activated": "open",
    "deactivated": "halted",
    "determined": "closed",
    "settled": "settled",
}
# REST ``status`` values (docs.kalshi.com market lifecycle) -> status.
_REST_STATUS: dict[str, MarketStatus] = {
    "active": "open",
    "open": "open",
    "initialized": "halted",
    "unopened": "halted",
    "inactive": "halted",
    "paused": "halted",
    "closed": "closed",
    "determined": "closed",
    "disputed": "closed",
    "amended": "closed",
    "finalized": "settled",
    "settled": "settled",
}
# Frames understood and deliberately not turned into quotes, by type.
_IGNORED = frozenset(
    {
        "ticker_v2",  # price and volume deltas: no bid or ask
        "trade",
        "event_lifecycle",  # an event (group of markets) was created: no market state
        "subscribed",
        "unsubscribed",
        "ok",
        "list_subscriptions",
    }
)
_LIFECYCLE_TYPES = frozenset({"market_lifecycle_v2", "multivariate_market_lifecycle"})


@dataclass(slots=True)
class _Market:
    """Local state of one market ticker."""

    book: Book = field(default_factory=Book)
    sid: int | None = None
    in_sync: bool = False  # True only after a snapshot and no seq gap since
    resync_requested: bool = False
    status: MarketStatus = "open"  # as the venue last said; open/close times apply on top
    open_ms: int = 0  # 0 = not known
    close_ms: int = 0
    tick: TickRule | None = None  # None = not known: no tick check
    announced: MarketStatus | None = None  # status of the last quote emitted
    book_seen: bool = False  # an order book snapshot arrived: ``ticker`` frames are ignored

    def effective_status(self, at_ms: int) -> MarketStatus:
        status = self.status
        if status in ("open", "halted"):
            if self.close_ms and at_ms >= self.close_ms:
                return "closed"
            if status == "open" and self.open_ms and at_ms < self.open_ms:
                return "halted"  # not open for trading yet
        return status


class KalshiProtocol:
    """Keeps one book per market ticker and emits an ``InstrumentQuote`` after each change."""

    def __init__(self, depth: int = 10) -> None:
        if depth < 1:
            raise ValueError("depth must be >= 1")
        self.depth = depth
        self._markets: dict[str, _Market] = {}
        self._last_seq: dict[int, int] = {}
        # (time, ticker) at which a market's status changes by the clock alone (open, close).
        self._boundaries: list[tuple[int, str]] = []

    @property
    def next_change_ms(self) -> int | None:
        """The earliest time at which :meth:`expire` may have something to say."""
        return self._boundaries[0][0] if self._boundaries else None

    def expire(self, now_ms: int) -> ParseResult:
        """Quotes for markets whose status changed by the clock (closed at ``close_ts``, opened).

        Kalshi sends no message when trading closes, so without this a quiet market's last
        quote would look open forever. The quote's event time is the boundary itself, so a
        replay gives the same result whatever its speed.
        """
        result = ParseResult()
        boundaries = self._boundaries
        while boundaries and boundaries[0][0] <= now_ms:
            at, ticker = heapq.heappop(boundaries)
            market = self._markets.get(ticker)
            if market is None or market.announced is None:
                continue  # never quoted: nothing downstream to correct
            if market.effective_status(at) != market.announced:
                result.quotes.append(self._quote(ticker, market, at, now_ms))
        return result

    def _times(self, ticker: str, market: _Market, open_ms: int | None, close_ms: int | None) -> None:
        if open_ms is not None and open_ms != market.open_ms:
            market.open_ms = open_ms
            heapq.heappush(self._boundaries, (open_ms, ticker))
        if close_ms is not None and close_ms != market.close_ms:
            market.close_ms = close_ms
            heapq.heappush(self._boundaries, (close_ms, ticker))

    def receive(
        self, frame: str | bytes, recv_ts: int, *, source: str = "ws", path: str | None = None
    ) -> ParseResult:
        """Parse one WebSocket frame, or a REST market body (``source="rest"``). Never raises."""
        result = ParseResult()
        kind = "rest" if source == "rest" else ""
        try:
            data = loads(frame)
            if not isinstance(data, dict):
                raise FrameError("frame is not a JSON object")
            if source == "rest":
                self._rest(data, path, recv_ts, result)
            else:
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

    def market_status(self, ticker: str, at_ms: int | None = None) -> MarketStatus | None:
        """Status of ``ticker`` (at ``at_ms`` if given, applying its close time); None if unseen."""
        market = self._markets.get(ticker)
        if market is None:
            return None
        return market.status if at_ms is None else market.effective_status(at_ms)

    def close_ms(self, ticker: str) -> int | None:
        """When ``ticker`` stops trading (epoch ms), if known."""
        market = self._markets.get(ticker)
        return market.close_ms or None if market is not None else None

    def tick_rule(self, ticker: str) -> TickRule | None:
        market = self._markets.get(ticker)
        return None if market is None else market.tick

    def _dispatch(self, data: dict[str, Any], kind: str, recv_ts: int, result: ParseResult) -> None:
        if kind == "error":
            msg = data.get("msg")
            detail = msg if not isinstance(msg, dict) else f"code {msg.get('code')}: {msg.get('msg')}"
            raise FrameError(f"venue replied {detail}")
        if kind == "orderbook_delta":
            msg = require_dict(data, "msg")
            # ts_ms first (newer frames carry only it), then the deprecated ts.
            raw_ts = msg.get("ts_ms")
            if raw_ts is None:
                raw_ts = msg.get("ts")
                if type(raw_ts) is int and 1_000_000_000 <= raw_ts < 1_000_000_000_000:
                    raw_ts *= 1000  # epoch seconds, as to_epoch_ms reads them
            if type(raw_ts) is int and 1_000_000_000_000 <= raw_ts <= recv_ts + MAX_AHEAD_MS:
                event_ts = raw_ts
            elif (
                # ISO text (most legacy deltas): what _event_ts would read first, without its
                # layers; an unreadable or far-ahead time takes _event_ts for the fallbacks.
                type(raw_ts) is str
                and ":" in raw_ts
                and (iso := iso_ms(raw_ts.strip())) is not None
                and iso <= recv_ts + MAX_AHEAD_MS
            ):
                event_ts = iso
            else:
                event_ts = self._event_ts(data, msg, recv_ts, result)
            sid, seq = data.get("sid"), data.get("seq")
            if type(sid) is int and type(seq) is int and self._last_seq.get(sid) == seq - 1:
                self._last_seq[sid] = seq  # in sequence: all that _check_seq would do
            else:
                self._check_seq(data, None, event_ts, recv_ts, result)
            self._delta(msg, event_ts, recv_ts, result)
        elif kind == "orderbook_snapshot":
            msg = require_dict(data, "msg")
            event_ts = self._event_ts(data, msg, recv_ts, result)
            self._check_seq(data, msg.get("market_ticker"), event_ts, recv_ts, result)
            self._snapshot(data, msg, event_ts, recv_ts, result)
        elif kind in _LIFECYCLE_TYPES:
            msg = require_dict(data, "msg")
            self._check_seq(data, None, recv_ts, recv_ts, result)
            self._lifecycle(data, msg, recv_ts, result)
        elif kind == "ticker":
            self._ticker(data, recv_ts, result)
        elif kind in _IGNORED:
            result.ignored.append(kind)
        else:
            result.ignored.append("unknown")  # a type Kalshi added since: counted, not quoted

    def _ticker(self, data: dict[str, Any], recv_ts: int, result: ParseResult) -> None:
        """Top of book of a market without an order book (public-only mode), else ignored.

        With ``orderbook_delta`` the book is the source of truth. Without it (no API key) the
        ticker's best bid and ask are all there is: they become a one-level book of
        ``TOP_OF_BOOK_SIZE`` per side (the ticker has no sizes) marked ``in_sync=False``, so
        the spread engine shows the Kalshi leg as a signal and never as executable.
        """
        msg = require_dict(data, "msg")
        ticker = require_str(msg, "market_ticker")
        market = self._markets.get(ticker)
        if market is not None and market.book_seen:
            result.ignored.append("ticker")
            return
        bid = _top(msg, "yes_bid_dollars", "yes_bid")
        ask = _top(msg, "yes_ask_dollars", "yes_ask")
        market = market or self._market(ticker)
        for price in (bid, ask):
            if price is not None and market.tick is not None and not market.tick.allows(price):
                raise FrameError(market.tick.describe(price))
        market.book.replace(
            [] if bid is None else [(bid, TOP_OF_BOOK_SIZE)], [] if ask is None else [(ask, TOP_OF_BOOK_SIZE)]
        )
        event_ts = self._event_ts(data, msg, recv_ts, result)
        result.quotes.append(self._quote(ticker, market, event_ts, recv_ts))

    def _event_ts(self, data: dict[str, Any], msg: dict[str, Any], recv_ts: int, result: ParseResult) -> int:
        ms = first_ms(msg.get("ts_ms"), msg.get("ts"), data.get("ts"), data.get("sending_ts_ms"))
        if ms is None or ms > recv_ts + MAX_AHEAD_MS:
            result.fallback_ts += 1
            return recv_ts
        return ms

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
            self._desync(ticker, market, "seq_gap", event_ts, recv_ts, result)

    def _desync(
        self, ticker: str, market: _Market, reason: str, event_ts: int, recv_ts: int, result: ParseResult
    ) -> None:
        """Flag the book as wrong: tell downstream once (in_sync=False quote) and ask for a snapshot."""
        result.desyncs.append(reason)
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
            if market.tick is not None:
                for price, _ in yes + no:
                    if not market.tick.allows(price):
                        raise FrameError(market.tick.describe(price))
        except FrameError as exc:
            # The venue's book changed but we could not read it: ours is now wrong.
            reason = "off_tick" if "off the tick" in str(exc) else "bad_update"
            self._desync(ticker, market, reason, event_ts, recv_ts, result)
            raise
        market.book.replace(yes, ((ONE - price, size) for price, size in no))
        sid = data.get("sid")
        if isinstance(sid, int):
            market.sid = sid
        market.in_sync = True
        market.book_seen = True
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
                self._desync(ticker, market, "bad_update", event_ts, recv_ts, result)
                raise
            prices = _remember_price(msg, price)
        if not market.in_sync:
            # No snapshot yet, or a gap: applying deltas to a wrong book is pointless.
            if market.resync_requested:
                result.ignored.append("awaiting_snapshot")
            else:
                self._desync(ticker, market, "no_snapshot", event_ts, recv_ts, result)
            return
        book = market.book
        if side == "yes":
            book_side, key = "bid", prices[0]
            levels = book.bids
        else:
            book_side, key = "ask", prices[1]
            levels = book.asks
        if delta < ZERO:
            held = levels.get(key)
            if held is None or held + delta < ZERO:
                # The venue removed what we do not hold: our book is not the venue's.
                reason = "unknown_level" if held is None else "over_removal"
                self._desync(ticker, market, reason, event_ts, recv_ts, result)
                return
        elif market.tick is not None and key not in levels and not market.tick.allows(prices[0]):
            self._desync(ticker, market, "off_tick", event_ts, recv_ts, result)
            raise FrameError(market.tick.describe(prices[0]))
        book.apply_delta(book_side, key, delta)  # type: ignore[arg-type]
        status = market.effective_status(event_ts)
        market.announced = status
        result.quotes.append(
            make_quote(
                "kalshi",
                ticker,
                book.best_asks(self.depth),
                book.complement_bids(self.depth),
                event_ts,
                recv_ts,
                status,
                market.in_sync,
                market.close_ms,
            )
        )

    def _lifecycle(
        self, data: dict[str, Any], msg: dict[str, Any], recv_ts: int, result: ParseResult
    ) -> None:
        ticker = require_str(msg, "market_ticker")
        event_type = require(msg, "event_type")
        if not isinstance(event_type, str):
            raise FrameError(f"field 'event_type' is not a string: {event_type!r}")
        market = self._market(ticker)
        # The event's own time: the frame's ts, else the time the event names, else when the
        # venue sent it (``sending_ts_ms``, on 2026 envelopes).
        named = {"determined": msg.get("determination_ts"), "settled": msg.get("settled_ts")}
        ms = first_ms(
            msg.get("ts_ms"), msg.get("ts"), data.get("ts"), named.get(event_type), data.get("sending_ts_ms")
        )
        if ms is not None and ms > recv_ts + MAX_AHEAD_MS:
            ms = None
        times: dict[str, int | None] = {"open_ts": None, "close_ts": None}
        for name in times:
            if msg.get(name) is not None:
                times[name] = to_epoch_ms(msg[name])
                if times[name] is None:
                    raise FrameError(f"field '{name}' is not a timestamp: {msg[name]!r}")
        self._times(ticker, market, times["open_ts"], times["close_ts"])
        if msg.get("price_level_structure") is not None or msg.get("price_ranges") is not None:
            market.tick = _tick_rule(msg, market.tick)
        status = _LIFECYCLE.get(event_type)
        if event_type in ("activated", "deactivated") and isinstance(msg.get("is_deactivated"), bool):
            status = "halted" if msg["is_deactivated"] else "open"
        if status is not None:
            market.status = status
        elif event_type not in ("created", "close_date_updated", "price_level_structure_updated"):
            result.ignored.append(
                "lifecycle " + ("metadata_updated" if event_type == "metadata_updated" else "unknown")
            )
            return
        if event_type == "price_level_structure_updated":
            result.ignored.append("lifecycle price_level_structure_updated")  # tick kept, book unchanged
            return
        if ms is None:
            result.fallback_ts += 1
        result.quotes.append(self._quote(ticker, market, recv_ts if ms is None else ms, recv_ts))

    def _rest(self, body: dict[str, Any], path: str | None, recv_ts: int, result: ParseResult) -> None:
        """``GET /markets`` or ``/markets/{ticker}``: close time, status and tick of each market."""
        if "orderbook_fp" in body or "orderbook" in body:
            # A REST book is not aligned with the delta stream's seq: never mixed into it.
            result.ignored.append("rest orderbook")
            return
        if isinstance(body.get("markets"), list):
            entries = body["markets"]
        elif isinstance(body.get("market"), dict):
            entries = [body["market"]]
        else:
            raise FrameError("missing field 'market' or 'markets'")
        result.fallback_ts += 1  # a REST body is the state as observed now
        for entry in entries:
            if not isinstance(entry, dict):
                raise FrameError("market is not a JSON object")
            ticker = require_str(entry, "ticker")
            market = self._market(ticker)
            times: dict[str, int | None] = {"open_time": None, "close_time": None}
            for name in times:
                if entry.get(name) is not None:
                    times[name] = to_epoch_ms(entry[name])
                    if times[name] is None:
                        raise FrameError(f"field '{name}' is not a timestamp: {entry[name]!r}")
            self._times(ticker, market, times["open_time"], times["close_time"])
            raw_status = entry.get("status")
            if isinstance(raw_status, str) and raw_status in _REST_STATUS:
                market.status = _REST_STATUS[raw_status]
            if entry.get("price_level_structure") is not None or entry.get("price_ranges") is not None:
                market.tick = _tick_rule(entry, market.tick)
            if market.in_sync:
                result.quotes.append(self._quote(ticker, market, recv_ts, recv_ts))
            else:
                result.ignored.append("rest market")  # state kept for the book to come

    def _quote(self, ticker: str, market: _Market, event_ts: int, recv_ts: int) -> InstrumentQuote:
        status = market.effective_status(event_ts)
        market.announced = status
        return book_quote(
            "kalshi",
            ticker,
            market.book,
            self.depth,
            event_ts,
            recv_ts,
            status,
            market.in_sync,
            market.close_ms,
        )


def _tick_rule(msg: dict[str, Any], current: TickRule | None) -> TickRule | None:
    """The tick rule from ``price_ranges`` (exact bands) or ``price_level_structure`` (by name)."""
    structure = msg.get("price_level_structure")
    name = structure if isinstance(structure, str) and structure else "price_ranges"
    ranges = msg.get("price_ranges")
    if isinstance(ranges, list) and ranges:
        bands = []
        for entry in ranges:
            if not isinstance(entry, dict):
                raise FrameError(f"bad entry in 'price_ranges': {entry!r}")
            bands.append(
                tuple(
                    to_decimal(require(entry, key), f"price_ranges.{key}") for key in ("start", "end", "step")
                )
            )
        try:
            return from_bands(name, bands)  # type: ignore[arg-type]
        except ValueError as exc:
            raise FrameError(f"field 'price_ranges': {exc}") from None
    if isinstance(structure, str):
        # center_* structures without their ranges: tick unknown, so no check.
        return KALSHI_STRUCTURES.get(structure)
    return current


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


TOP_OF_BOOK_SIZE = Decimal(1)
"""The size given to a ticker's best bid and ask: a placeholder (the ticker carries none)."""


def _top(msg: dict[str, Any], dollars: str, cents: str) -> Decimal | None:
    """A ticker's best YES bid or ask; 0 and 1 (no bid, no ask) and absent are None."""
    raw = msg.get(dollars) if msg.get(dollars) is not None else msg.get(cents)
    if raw is None:
        return None
    name = dollars if msg.get(dollars) is not None else cents
    price = to_decimal(raw, name) / (1 if name == dollars else _CENT)
    if price in (ZERO, ONE):
        return None
    _check_price(price, name)
    return price


def _check_price(price: Decimal, name: str) -> None:
    if not ZERO < price < ONE:
        raise FrameError(f"field '{name}' price out of range (0, 1): {price}")
