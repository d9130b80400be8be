"""One L2 order book type shared by all venue parsers.

Levels live in two plain dicts (price -> size) because updates are far more frequent
than reads of the full depth; sorted ladders are computed lazily and cached until the
side changes, so a burst of deltas costs a dict write each and one sort per read. Building
a frozen ``Level`` costs about as much as the sort, so ``Level`` objects are also cached per
price and only rebuilt for the levels that changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Literal

from echoarb.construct import positional
from echoarb.model import ONE, ZERO, Ladder, Level

BookSide = Literal["bid", "ask"]

_EMPTY: Ladder = ()
# Level(price, size) writing the slots directly (~2x cheaper than the frozen __init__), for
# every level that changed; the same object (see echoarb.scan.edge.values.positional).
_make_level: Callable[[Decimal, Decimal], Level] = positional(Level)


class Book:
    """Bids and asks of one instrument, with cached best-``depth`` ladders.

    Sizes are always > 0: setting a size <= 0 or a delta that brings a level to <= 0
    removes the level, so an empty side is simply an empty dict.
    """

    __slots__ = (
        "_ask_cache",
        "_ask_lv",
        "_ask_px",
        "_bid_cache",
        "_bid_lv",
        "_bid_px",
        "_cbid_cache",
        "_cbid_lv",
        "asks",
        "bids",
    )

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}
        # (depth, ladder) of the last extraction; None = stale.
        self._bid_cache: tuple[int, Ladder] | None = None
        self._ask_cache: tuple[int, Ladder] | None = None
        self._cbid_cache: tuple[int, Ladder] | None = None
        # Sorted prices, best first; None = the set of prices changed (a size change keeps it).
        self._bid_px: list[Decimal] | None = None
        self._ask_px: list[Decimal] | None = None
        # price -> Level of the current size (for the complement: keyed by the bid price).
        self._bid_lv: dict[Decimal, Level] = {}
        self._ask_lv: dict[Decimal, Level] = {}
        self._cbid_lv: dict[Decimal, Level] = {}

    def _changed(self, side: BookSide, price: Decimal, new_price: bool) -> None:
        """Invalidate what depends on ``price``; ``new_price``: a level appeared or vanished."""
        if side == "bid":
            self._bid_cache = self._cbid_cache = None
            self._bid_lv.pop(price, None)
            self._cbid_lv.pop(price, None)
            if new_price:
                self._bid_px = None
        else:
            self._ask_cache = None
            self._ask_lv.pop(price, None)
            if new_price:
                self._ask_px = None

    def set_level(self, side: BookSide, price: Decimal, size: Decimal) -> None:
        """Set the total size at ``price``; a size <= 0 removes the level."""
        levels = self.bids if side == "bid" else self.asks
        old = levels.get(price)
        if size > ZERO:
            if old == size:
                return
            levels[price] = size
        elif old is None:
            return
        else:
            del levels[price]
        self._changed(side, price, old is None or size <= ZERO)

    def apply_delta(self, side: BookSide, price: Decimal, delta: Decimal) -> Decimal:
        """Add a signed ``delta`` at ``price``; returns the new size (<= 0 means removed)."""
        levels = self.bids if side == "bid" else self.asks
        old = levels.get(price)
        new = (ZERO if old is None else old) + delta
        if new > ZERO:
            if not delta:
                return new
            levels[price] = new
        elif old is None:
            return new
        else:
            del levels[price]
        # _changed, inlined: this is the most frequent update of all.
        moved = old is None or new <= ZERO
        if side == "bid":
            self._bid_cache = self._cbid_cache = None
            self._bid_lv.pop(price, None)
            self._cbid_lv.pop(price, None)
            if moved:
                self._bid_px = None
        else:
            self._ask_cache = None
            self._ask_lv.pop(price, None)
            if moved:
                self._ask_px = None
        return new

    def replace(
        self, bids: Iterable[tuple[Decimal, Decimal]], asks: Iterable[tuple[Decimal, Decimal]]
    ) -> None:
        """Replace the whole book from a snapshot; repeated prices add up, sizes <= 0 are dropped."""
        self.clear()
        for levels, book_side in ((bids, self.bids), (asks, self.asks)):
            for price, size in levels:
                total = book_side.get(price, ZERO) + size
                if total > ZERO:
                    book_side[price] = total
                else:
                    book_side.pop(price, None)

    def clear(self) -> None:
        """Drop every level (e.g. before a snapshot or when the book is known to be wrong)."""
        self.bids.clear()
        self.asks.clear()
        self._bid_cache = self._ask_cache = self._cbid_cache = None
        self._bid_px = self._ask_px = None
        self._bid_lv.clear()
        self._ask_lv.clear()
        self._cbid_lv.clear()

    def _bid_prices(self) -> list[Decimal]:
        px = self._bid_px
        if px is None:
            px = self._bid_px = sorted(self.bids, reverse=True)
        return px

    def best_bids(self, depth: int) -> Ladder:
        """Best ``depth`` bids, highest price first."""
        cache = self._bid_cache
        if cache is not None and cache[0] == depth:
            return cache[1]
        ladder = _ladder(self.bids, self._bid_lv, self._bid_prices()[:depth], False)
        self._bid_cache = (depth, ladder)
        return ladder

    def best_asks(self, depth: int) -> Ladder:
        """Best ``depth`` asks, lowest price first."""
        cache = self._ask_cache
        if cache is not None and cache[0] == depth:
            return cache[1]
        px = self._ask_px
        if px is None:
            px = self._ask_px = sorted(self.asks)
        ladder = _ladder(self.asks, self._ask_lv, px[:depth], False)
        self._ask_cache = (depth, ladder)
        return ladder

    def best_bid_price(self) -> Decimal | None:
        """The highest bid price, without building a ladder (None when there are no bids)."""
        if not self.bids:
            return None
        return self._bid_prices()[0]

    def best_ask_price(self) -> Decimal | None:
        """The lowest ask price, without building a ladder (None when there are no asks)."""
        if not self.asks:
            return None
        px = self._ask_px
        if px is None:
            px = self._ask_px = sorted(self.asks)
        return px[0]

    def complement_bids(self, depth: int) -> Ladder:
        """Bids seen as asks of the complement: ``(1 - bid, size)``, ascending.

        A bid to buy YES at p is an offer to sell YES, i.e. to buy NO at ``1 - p``.
        """
        cache = self._cbid_cache
        if cache is not None and cache[0] == depth:
            return cache[1]
        ladder = _ladder(self.bids, self._cbid_lv, self._bid_prices()[:depth], True)
        self._cbid_cache = (depth, ladder)
        return ladder

    def __len__(self) -> int:
        return len(self.bids) + len(self.asks)

    def __repr__(self) -> str:
        return f"Book(bids={len(self.bids)}, asks={len(self.asks)})"


def _ladder(
    levels: dict[Decimal, Decimal], made: dict[Decimal, Level], prices: list[Decimal], complement: bool
) -> Ladder:
    """Ladder of ``prices`` in order, reusing cached ``Level`` objects (``1 - p`` if complement)."""
    if not prices:
        return _EMPTY
    out = []
    for p in prices:
        level = made.get(p)
        if level is None:
            level = made[p] = _make_level(_complement(p) if complement else p, levels[p])
        out.append(level)
    return tuple(out)


# 1 - p by the price object p (parsers hand out the same Decimal objects for repeated
# prices): the complement is then a long-lived object too, whose hash, once computed by a
# consumer's cache, is kept. The entry holds p and is used only for that very object, so
# 0.46 and 0.4600 each get their own spelling of 1 - p, as with plain arithmetic.
_COMPLEMENTS_MAX = 10_000
_complements: dict[Decimal, tuple[Decimal, Decimal]] = {}


def _complement(p: Decimal) -> Decimal:
    hit = _complements.get(p)
    if hit is not None and hit[0] is p:
        return hit[1]
    result = ONE - p
    if len(_complements) >= _COMPLEMENTS_MAX:
        _complements.clear()
    _complements[p] = (p, result)
    return result
