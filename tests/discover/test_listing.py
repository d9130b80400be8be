"""Listing against recorded venue bodies served by a real local HTTP server (tests/discover/server.py)."""

from __future__ import annotations

import io

from echoarb.discover.fetch import Progress, Source, fetch_all
from echoarb.discover.kalshi import KalshiListing
from echoarb.discover.manifold import ManifoldListing
from echoarb.discover.model import ListingEntry
from echoarb.discover.polymarket import PolymarketListing
from tests.discover import server as listing_server


def _sources(srv: listing_server.ListingServer) -> list[Source]:
    return [
        Source(KalshiListing(), srv.url("kalshi"), 6000),
        Source(PolymarketListing(page_size=2, events_page_size=1), srv.url("polymarket"), 6000),
        Source(ManifoldListing(page_size=2), srv.url("manifold"), 6000),
    ]


def _by_id(entries: list[ListingEntry]) -> dict[str, ListingEntry]:
    return {e.id: e for e in entries}


async def test_every_venue_is_listed_through_its_paging() -> None:
    progress = io.StringIO()
    async with listing_server.serve() as srv:
        results = await fetch_all(_sources(srv), progress=Progress(progress), backoff_base=0.01)
    kalshi, poly, manifold = results
    assert [r.failure for r in results] == [None, None, None]

    # Kalshi: /series, then /markets page 1 and the page its cursor names (nautilus's fixture).
    assert kalshi.pages == 2 and kalshi.requests == 3
    markets = _by_id(kalshi.entries)
    assert set(markets) == {"KXBTCD-26JUN30-T100000", "KXFEDDECISION-26MAR-C25", "KXBTC-25MAR15-B100000"}
    btc = markets["KXBTCD-26JUN30-T100000"]
    assert (btc.kind, btc.direction, btc.threshold) == ("ranged", "above", "100000")
    assert btc.close_ms == 1782849600000 and btc.resolve_ms == 1782849900000  # close != resolution
    assert btc.fees == {
        "price_level_structure": "linear_cent",
        "fee_type": "quadratic",
        "fee_multiplier": "1",
    }
    assert btc.resolution_source.startswith("CF Benchmarks")
    assert "BRTI" in btc.rules and "60 seconds" in btc.rules  # primary and secondary rules
    assert markets["KXBTC-25MAR15-B100000"].rules.startswith("Resolves Yes if BTC/USD")
    assert markets["KXFEDDECISION-26MAR-C25"].kind == "binary"  # a custom strike is no threshold
    assert kalshi.errors == ["kalshi market ?: missing field 'ticker'"]  # counted, not dropped silently

    # Polymarket: /events (negRisk, augmented) and /markets (JSON-in-JSON ids, fee schedule).
    entries = _by_id(poly.entries)
    assert len(entries) == 4  # 2 event members + 2 open markets; the closed money-line is skipped
    smith = entries["0xc8f1cf5d4f26e0fd9c8fe89f2a7b3263b902cf14fde7bfccef525753bb492e47"]
    assert smith.neg_risk and smith.neg_risk_augmented
    assert smith.event == "democratic-presidential-nominee-2028"
    assert smith.outcomes[0].name == "Yes" and smith.outcomes[0].instrument.startswith("6059004548")
    assert smith.outcomes[1].name == "No" and smith.outcomes[1].instrument.startswith("7600570002")
    assert smith.fees == {"fee_rate": "0"}  # feesEnabled: false
    updown = entries["0x78443f961b9a65869dcb39359de9960165c7e5cbad0904eac7f29cd77872a63b"]
    assert [o.name for o in updown.outcomes] == ["Up", "Down"]
    assert updown.fees == {"fee_type": "crypto_fees", "taker_base_fee_bps": "1000"}  # no schedule: no rate
    assert updown.resolution_source == "https://data.chain.link/streams/btc-usd"
    assert updown.series == "btc-up-or-down-5m" and not updown.neg_risk_augmented
    assert updown.close_ms is None and updown.resolve_ms is not None
    requests = [
        r.split("?")[0] + ":" + r.split("offset=")[1] for r in srv.requests if r.startswith("polymarket")
    ]
    assert sorted(requests) == [
        "polymarket/events:0",
        "polymarket/events:1",
        "polymarket/markets:0",
        "polymarket/markets:2",
    ]

    # Manifold: /search-markets by offset; the resolved docs examples are skipped.
    assert [e.slug for e in manifold.entries] == ["will-bitcoin-be-above-100000-on-june-30-2026"]
    assert manifold.entries[0].play_money and manifold.pages == 2
    assert "kalshi: 3 open markets in 2 pages" in progress.getvalue()


async def test_the_fee_schedule_gives_rate_and_exponent() -> None:
    recorded = listing_server.load("polymarket")
    closed = next(r for r in recorded if r.id == "markets-page-1")
    import json

    body = json.loads(closed.body)[1]
    body["closed"] = False
    from echoarb.discover.polymarket import parse_market

    entry = parse_market(body)
    assert entry.fees["fee_rate"] == "0.03" and entry.fees["fee_exponent"] == "1"
    assert entry.status == "halted"  # acceptingOrders: false


async def test_retries_then_succeeds_and_unreachable_is_one_line() -> None:
    async with listing_server.serve(faults={"/series": [429, 503]}) as srv:
        (kalshi,) = await fetch_all([Source(KalshiListing(), srv.url("kalshi"), 6000)], backoff_base=0.01)
    assert kalshi.failure is None and kalshi.retries == 2 and len(kalshi.entries) == 3

    async with listing_server.serve(faults={"/search-markets": [503] * 10}) as srv:
        (manifold,) = await fetch_all(
            [Source(ManifoldListing(), srv.url("manifold"), 6000)], retries=2, backoff_base=0.01
        )
    assert manifold.failure is not None and "\n" not in manifold.failure
    assert manifold.failure.startswith("manifold: ") and "HTTP 503" in manifold.failure

    # Nothing listens there: a connection error, retried, then one line.
    (dead,) = await fetch_all(
        [Source(KalshiListing(), "http://127.0.0.1:9", 6000)], retries=1, backoff_base=0.01, timeout_s=2
    )
    assert dead.failure is not None and dead.failure.startswith("kalshi: http://127.0.0.1:9/series failed")


async def test_a_wrong_base_url_fails_at_once() -> None:
    async with listing_server.serve() as srv:
        (poly,) = await fetch_all([Source(PolymarketListing(), srv.base + "/nope", 6000)], backoff_base=0.01)
    assert poly.failure is not None and "HTTP 404" in poly.failure and poly.requests == 0


async def test_page_budget_stops_a_runaway_cursor() -> None:
    async with listing_server.serve() as srv:
        (kalshi,) = await fetch_all([Source(KalshiListing(max_pages=1), srv.url("kalshi"), 6000)])
    assert kalshi.truncated and kalshi.pages == 1 and len(kalshi.entries) == 2


def test_manifold_full_sweep_pages_by_before() -> None:
    from echoarb.discover.protocol import Request

    listing = ManifoldListing(mode="all", page_size=1)
    (first,) = listing.start()
    assert first == Request("/markets", (("limit", "1"),))
    body = [{"id": "abc", "slug": "s", "question": "Q?", "outcomeType": "BINARY", "token": "CASH"}]
    (follow,) = listing.feed(first, body)
    assert follow == Request("/markets", (("limit", "1"), ("before", "abc")))
    assert listing.feed(follow, []) == []
    assert [e.play_money for e in listing.entries] == [False]  # CASH is real money


def test_cache_round_trip_keeps_every_field_and_tells_its_age(tmp_path: object) -> None:
    from pathlib import Path

    from echoarb.discover import cache
    from echoarb.discover.kalshi import parse_market

    assert isinstance(tmp_path, Path)
    recorded = {r.id: r for r in listing_server.load("kalshi")}
    import json

    entry = parse_market(json.loads(recorded["markets-page-1"].body)["markets"][0])
    path = cache.cache_path(tmp_path)
    cache.save(path, {"kalshi": cache.VenueSection("kalshi", 1_000_000, (entry,), errors=1)})
    loaded = cache.load(path)
    assert loaded["kalshi"].entries == (entry,) and loaded["kalshi"].errors == 1
    assert loaded["kalshi"].age_s(now_ms=1_090_000) == 90.0
    assert cache.describe_age(90.0) == "2 min" and cache.describe_age(30.0) == "30s"
    path.write_text("{not json")
    try:
        cache.load(path)
    except cache.CacheError as exc:
        assert "unreadable listing cache" in str(exc)
    else:
        raise AssertionError("a damaged cache must be reported")


def test_progress_rewrites_one_line_on_a_terminal_and_logs_sparsely_otherwise() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    progress = Progress(tty)
    progress.update("kalshi", "1 pages, 1000 open markets")
    progress.update("kalshi", "2 pages, 2000 open markets", final=True)
    assert tty.getvalue() == (
        "\r\033[Kkalshi: 1 pages, 1000 open markets\r\033[Kkalshi: 2 pages, 2000 open markets\n"
    )
    log = io.StringIO()
    quiet = Progress(log)
    quiet.update("kalshi", "1 pages")  # within the first 5 s: not logged
    quiet.update("kalshi", "done", final=True)
    assert log.getvalue() == "kalshi: done\n"
