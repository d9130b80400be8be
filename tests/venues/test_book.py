"""Book: level maintenance, ladder ordering, cache invalidation and update cost."""

from __future__ import annotations

from decimal import Decimal as D

from echoarb.model import Level
from echoarb.venues.book import Book


def test_set_level_and_removal() -> None:
    book = Book()
    book.set_level("bid", D("0.40"), D("10"))
    book.set_level("bid", D("0.42"), D("5"))
    book.set_level("ask", D("0.45"), D("7"))
    book.set_level("ask", D("0.44"), D("3"))
    assert book.best_bids(10) == (Level(D("0.42"), D("5")), Level(D("0.40"), D("10")))
    assert book.best_asks(10) == (Level(D("0.44"), D("3")), Level(D("0.45"), D("7")))
    book.set_level("bid", D("0.42"), D("0"))
    book.set_level("ask", D("0.99"), D("0"))  # removing an absent level is a no-op
    assert book.best_bids(10) == (Level(D("0.40"), D("10")),)
    assert len(book) == 3


def test_apply_delta_removes_at_or_below_zero() -> None:
    book = Book()
    assert book.apply_delta("bid", D("0.10"), D("5")) == D("5")
    assert book.apply_delta("bid", D("0.10"), D("2.5")) == D("7.5")
    assert book.best_bids(1) == (Level(D("0.10"), D("7.5")),)
    assert book.apply_delta("bid", D("0.10"), D("-7.5")) == D("0")
    assert book.best_bids(1) == ()
    assert book.apply_delta("ask", D("0.20"), D("-3")) == D("-3")
    assert book.best_asks(5) == ()


def test_replace_clear_and_depth() -> None:
    book = Book()
    book.set_level("ask", D("0.90"), D("1"))
    book.replace(
        [(D("0.3"), D("1")), (D("0.5"), D("2")), (D("0.4"), D("3")), (D("0.2"), D("0"))],
        [(D("0.6"), D("4")), (D("0.6"), D("1")), (D("0.7"), D("1"))],
    )
    assert book.best_bids(2) == (Level(D("0.5"), D("2")), Level(D("0.4"), D("3")))
    assert book.best_asks(10) == (Level(D("0.6"), D("5")), Level(D("0.7"), D("1")))
    assert book.complement_bids(2) == (Level(D("0.5"), D("2")), Level(D("0.6"), D("3")))
    book.clear()
    assert book.best_bids(10) == () and book.best_asks(10) == () and book.complement_bids(10) == ()


def test_cache_is_invalidated_on_change() -> None:
    book = Book()
    book.set_level("bid", D("0.5"), D("1"))
    first = book.best_bids(3)
    assert book.best_bids(3) is first  # cached
    assert book.complement_bids(3) == (Level(D("0.5"), D("1")),)
    book.set_level("bid", D("0.5"), D("1"))  # unchanged size keeps the cache
    assert book.best_bids(3) is first
    book.set_level("ask", D("0.6"), D("1"))  # other side keeps the bid cache
    assert book.best_bids(3) is first
    book.set_level("bid", D("0.6"), D("2"))
    assert book.best_bids(3) == (Level(D("0.6"), D("2")), Level(D("0.5"), D("1")))
    assert book.complement_bids(3) == (Level(D("0.4"), D("2")), Level(D("0.5"), D("1")))
    assert book.best_bids(1) == (Level(D("0.6"), D("2")),)  # other depth recomputes


def test_cached_reads_follow_every_update() -> None:
    """Reads are cached between updates (speed is measured in bench/, never asserted here):
    after every delta the cached best levels equal a fresh book built from the same levels."""
    book = Book()
    prices = [D(i) / 100 for i in range(1, 41)]
    bids = {p: D(10) for p in prices[:20]}
    book.replace(list(bids.items()), [(p, D(10)) for p in prices[20:]])
    for i in range(500):
        price = prices[i % 20]
        delta = D(1) if i % 3 else D(-11) if bids.get(price, D(0)) >= 11 else D(2)
        book.apply_delta("bid", price, delta)
        bids[price] = bids.get(price, D(0)) + delta
        bids = {p: s for p, s in bids.items() if s > 0}
        fresh = Book()
        fresh.replace(list(bids.items()), [(p, D(10)) for p in prices[20:]])
        assert book.best_bids(10) == fresh.best_bids(10)
        assert book.complement_bids(10) == fresh.complement_bids(10)


def test_best_prices_follow_every_change_and_leave_the_ladder_cache_alone() -> None:
    book = Book()
    assert book.best_bid_price() is None and book.best_ask_price() is None
    book.replace([(D("0.40"), D("1")), (D("0.42"), D("2"))], [(D("0.47"), D("1")), (D("0.45"), D("3"))])
    ladder = book.best_asks(10)
    assert (book.best_bid_price(), book.best_ask_price()) == (D("0.42"), D("0.45"))
    assert book.best_asks(10) is ladder  # the depth-10 ladder is still cached
    book.set_level("ask", D("0.44"), D("1"))
    book.apply_delta("bid", D("0.42"), D("-2"))
    assert (book.best_bid_price(), book.best_ask_price()) == (D("0.40"), D("0.44"))
    book.set_level("ask", D("0.44"), D("0"))
    assert book.best_ask_price() == book.best_asks(1)[0].price == D("0.45")
    book.clear()
    assert book.best_bid_price() is None and book.best_ask_price() is None
