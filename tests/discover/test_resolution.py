"""Expected resolution per configured pair, read from the discovery listing cache."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from echoarb.discover import cache
from echoarb.discover.model import ListingEntry, OutcomeRef
from echoarb.discover.resolution import ListingWatch, expected_resolutions, load_expected_resolutions
from echoarb.pairs import parse_pairs

CONFIG = parse_pairs(
    {
        "pairs": [
            {"id": "both", "kalshi": {"ticker": "K1"}, "polymarket": {"token_id": "Y1"}},
            {"id": "half", "kalshi": {"ticker": "K1"}, "polymarket": {"token_id": "UNLISTED"}},
            {"id": "signal", "kalshi": {"ticker": "K1"}, "manifold": {"slug": "m"}},
        ]
    }
)
K1 = ListingEntry("kalshi", "K1", "Q?", close_ms=1_000, resolve_ms=2_000)
P1 = ListingEntry(
    "polymarket", "0xc", "Q?", outcomes=(OutcomeRef("Yes", "Y1"), OutcomeRef("No", "N1")), resolve_ms=5_000
)


def test_the_last_real_money_leg_decides_and_unknown_legs_give_no_figure() -> None:
    assert expected_resolutions(CONFIG, [K1, P1]) == {"both": 5_000, "signal": 2_000}
    no_resolve = dataclasses.replace(K1, resolve_ms=None)  # the trading close is the fallback
    assert expected_resolutions(CONFIG, [no_resolve])["signal"] == 1_000


def test_loaded_from_the_cache_or_empty(tmp_path: Path) -> None:
    assert load_expected_resolutions(CONFIG, tmp_path) == {}
    path = cache.cache_path(tmp_path)
    cache.save(
        path,
        {
            "kalshi": cache.VenueSection("kalshi", 0, (K1,)),
            "polymarket": cache.VenueSection("polymarket", 0, (P1,)),
        },
    )
    assert load_expected_resolutions(CONFIG, tmp_path)["both"] == 5_000
    path.write_text("damaged")
    assert load_expected_resolutions(CONFIG, tmp_path) == {}


def test_the_watch_reports_a_changed_listing_once(tmp_path: Path) -> None:
    """``echoarb serve`` polls this: a refreshed listing reaches the view without a restart."""
    watch = ListingWatch(CONFIG, tmp_path)
    assert watch.poll() is None  # no cache yet, nothing changed
    path = cache.cache_path(tmp_path)
    cache.save(path, {"kalshi": cache.VenueSection("kalshi", 0, (K1,))})
    assert watch.poll() == {"signal": 2_000}
    assert watch.poll() is None  # unchanged since
    later = dataclasses.replace(K1, resolve_ms=3_000)
    cache.save(
        path,
        {
            "kalshi": cache.VenueSection("kalshi", 0, (later,)),
            "polymarket": cache.VenueSection("polymarket", 0, (P1,)),
        },
    )
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))  # coarse clocks
    assert watch.poll() == {"both": 5_000, "signal": 3_000}
    path.unlink()
    assert watch.poll() == {}
