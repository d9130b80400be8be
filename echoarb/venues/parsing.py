"""Shared pieces of the sans-I/O venue parsers: the result type and strict field helpers.

Parsers never raise for bad input; helpers raise :class:`FrameError` with a human-readable
reason, and each parser's ``receive`` turns it into one entry of ``ParseResult.errors``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from echoarb.construct import positional
from echoarb.model import InstrumentQuote, Ladder, MarketStatus, Venue
from echoarb.venues.book import Book

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@dataclass(slots=True)
class ParseResult:
    """Everything one frame produced.

    ``errors``: one reason per rejected frame or rejected event inside a frame.
    ``resync``: instruments whose local book is known to be wrong and need a fresh snapshot.
    ``ignored``: events understood and deliberately not turned into quotes, each named by a
    short bounded kind (``"ticker"``, ``"subscribed"``, ``"unknown"`` ...), so "accepted but
    produced nothing" is always a counted outcome, never a silent fall-through.
    ``desyncs``: why books were marked out of sync (``"seq_gap"``, ``"unknown_level"`` ...).
    ``fallback_ts``: quotes stamped with the receive time because the frame had no usable
    venue timestamp.
    """

    quotes: list[InstrumentQuote] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    resync: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    desyncs: list[str] = field(default_factory=list)
    fallback_ts: int = 0

    @property
    def silent(self) -> bool:
        """True when the frame produced no outcome at all (a parser bug by definition)."""
        return not (self.quotes or self.errors or self.resync or self.ignored or self.desyncs)


class FrameError(ValueError):
    """A frame or an event inside it is rejected; ``str(exc)`` is the reason."""


# msgspec decodes a venue frame 3-4x faster than ``json.loads``, to the same objects: floats
# go through Decimal from their text, like ``parse_float=Decimal``; duplicate keys keep the
# last value. It is stricter in a few corners (NaN/Infinity literals, lone surrogates), so
# whatever it rejects is decoded again by ``json.loads``, which stays the reference for what
# is valid and for the error.
_decode = msgspec.json.Decoder(float_hook=Decimal).decode


def loads(frame: str | bytes) -> Any:
    """Decode JSON with exact decimals (floats parsed as Decimal) so prices never touch binary floats."""
    try:
        text = frame.decode("utf-8") if isinstance(frame, bytes | bytearray) else frame
    except UnicodeDecodeError as exc:
        raise FrameError("frame is not valid JSON") from exc
    try:
        return _decode(text)
    except Exception:  # any rejection: json.loads decides, and words the error
        pass
    try:
        return json.loads(text, parse_float=Decimal)
    except (ValueError, RecursionError) as exc:
        raise FrameError("frame is not valid JSON") from exc


def require(obj: dict[str, Any], name: str) -> Any:
    """Field ``name`` of ``obj``; absent or null is a missing required field."""
    value = obj.get(name)
    if value is None:
        raise FrameError(f"missing field '{name}'")
    return value


def require_str(obj: dict[str, Any], name: str) -> str:
    """A required non-empty string field (ids, tickers)."""
    value = require(obj, name)
    if not isinstance(value, str) or not value:
        raise FrameError(f"field '{name}' is not a non-empty string: {value!r}")
    return value


def require_dict(obj: dict[str, Any], name: str) -> dict[str, Any]:
    """A required JSON object field."""
    value = require(obj, name)
    if not isinstance(value, dict):
        raise FrameError(f"field '{name}' is not an object")
    return value


def optional_list(obj: dict[str, Any], name: str) -> list[Any]:
    """A list field where absent/null means empty (e.g. an empty book side)."""
    value = obj.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise FrameError(f"field '{name}' is not a list")
    return value


# Venues repeat the same few hundred price and size strings ("0.3700", "25.00"), and the
# Decimal parse costs several dict look-ups' worth, so parsed strings are memoised. Only
# successes are cached (a rejection raises with the caller's field name), and only ``str``
# keys: 1 and Decimal("1.0") are equal keys but must keep their own representation.
_DECIMAL_CACHE_MAX = 50_000
decimal_cache: dict[str, Decimal] = {}
"""Parsed finite decimal strings (shared with the parsers' hot paths: look-up only)."""


def to_decimal(value: Any, name: str) -> Decimal:
    """Exact decimal from a decimal string, int or Decimal; NaN/inf and bools are rejected."""
    if type(value) is str:
        cached = decimal_cache.get(value)
        if cached is not None:
            return cached
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise FrameError(f"field '{name}' is not a number: {value!r}") from None
        if result.is_finite():
            if len(decimal_cache) >= _DECIMAL_CACHE_MAX:
                decimal_cache.clear()
            decimal_cache[value] = result
            return result
    elif isinstance(value, Decimal):
        result = value
    elif isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    elif isinstance(value, str):  # a str subclass: no cache
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise FrameError(f"field '{name}' is not a number: {value!r}") from None
    else:
        raise FrameError(f"field '{name}' is not a number: {value!r}")
    if not result.is_finite():
        raise FrameError(f"field '{name}' is not a finite number: {value!r}")
    return result


_E12, _E14, _E17, _E27 = 10**12, 10**14, 10**17, 10**27


def to_epoch_ms(value: Any) -> int | None:
    """Epoch milliseconds from seconds, ms, µs or ns (int, Decimal or digit string) or ISO-8601.

    The unit of a number is inferred from its magnitude (ms > 1e12), which is safe for any
    date after 2001. Returns None when the value is not a usable timestamp.
    """
    # Fast paths for what venues send (int or digit-string epochs, ISO text), exactly equal
    # to the Decimal arithmetic below: below 1e27 the divisions are exact and int() of a
    # positive quotient is floor division.
    kind = type(value)
    if kind is str:
        if ":" in value:  # never a Decimal: ISO-8601 with a time
            return iso_ms(value.strip())
        if value.isdigit() and value.isascii():
            value = int(value)
            kind = int
    if kind is int and 0 < value < _E27:
        if value >= _E17:
            return int(value // 1_000_000)
        if value >= _E14:
            return int(value // 1000)
        return int(value) if value >= _E12 else int(value * 1000)
    if isinstance(value, bool) or value is None:
        return None
    number: Decimal | None = None
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = Decimal(text)
        except InvalidOperation:
            return iso_ms(text)
    if number is None or not number.is_finite() or number <= 0:
        return None
    if number >= Decimal("1e17"):
        return int(number / 1_000_000)
    if number >= Decimal("1e14"):
        return int(number / 1000)
    if number >= Decimal("1e12"):
        return int(number)
    return int(number * 1000)


def iso_ms(text: str) -> int | None:
    """Epoch ms of ISO-8601 text (UTC when it names no zone); None when it is not ISO-8601."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - _EPOCH) // _MS


def event_ms(value: Any, default: int) -> int:
    """The event time of a frame: its timestamp when usable, else the receive time."""
    ms = to_epoch_ms(value)
    return default if ms is None else ms


MAX_AHEAD_MS = 86_400_000
"""An event time more than a day after the receive time is not believed (a unit or example
error, e.g. a 12-digit millisecond timestamp read as seconds): the receive time is used."""


def first_ms(*values: Any) -> int | None:
    """The first usable timestamp among ``values`` (venues' preferred field first)."""
    for value in values:
        if value is not None:
            ms = to_epoch_ms(value)
            if ms is not None:
                return ms
    return None


make_quote: Callable[[Venue, str, Ladder, Ladder, int, int, MarketStatus, bool, int], InstrumentQuote] = (
    positional(InstrumentQuote)
)
"""``InstrumentQuote`` from every field in order (venue instrument buy_yes buy_no event_ts recv_ts
status in_sync close_ts), writing the slots directly: ~2x cheaper than the frozen dataclass's
``__init__``, once per quote; the same object (see ``echoarb.construct.positional``)."""


def book_quote(
    venue: Venue,
    instrument: str,
    book: Book,
    depth: int,
    event_ts: int,
    recv_ts: int,
    status: MarketStatus,
    in_sync: bool,
    close_ts: int = 0,
) -> InstrumentQuote:
    """Quote of a book whose asks are the YES asks and whose bids are YES bids (NO ask = 1 - bid)."""
    return make_quote(
        venue,
        instrument,
        book.best_asks(depth),
        book.complement_bids(depth),
        event_ts,
        recv_ts,
        status,
        in_sync,
        close_ts,
    )
