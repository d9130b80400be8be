"""Expected resolution time per configured pair, from the discovery listing cache.

A 1% edge locked for eight months is worth less than a 0.5% edge settling tomorrow, and
nothing on the tick path knows when a market resolves (Kalshi sends a trading close, not
a determination; Polymarket's end date lives in Gamma only). The discovery listing has it
(``ListingEntry.resolve_ms``), so the serve view reads it here: a pair's capital comes back
when its last real-money leg resolves. A pair with a real-money leg missing from the
listing gets no figure rather than a guess. Manifold legs (play money) are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from echoarb.discover import cache
from echoarb.discover.model import ListingEntry
from echoarb.pairs import PairsConfig


def expected_resolutions(config: PairsConfig, entries: Iterable[ListingEntry]) -> dict[str, int]:
    """pair id -> epoch ms of its latest real-money leg's expected resolution."""
    by_instrument: dict[tuple[str, str], int] = {}
    for entry in entries:
        when = entry.resolve_ms or entry.close_ms
        if when is None:
            continue
        if entry.venue == "polymarket":
            for outcome in entry.outcomes:
                by_instrument[("polymarket", outcome.instrument)] = when
        elif entry.venue == "kalshi":
            by_instrument[("kalshi", entry.id)] = when
    out: dict[str, int] = {}
    for pair in config.pairs:
        times: list[int] = []
        for _, ref in pair.refs():
            if ref.venue == "manifold":
                continue
            when = by_instrument.get((ref.venue, ref.instrument))
            if when is None:
                times = []
                break
            times.append(when)
        if times:
            out[pair.id] = max(times)
    return out


def load_expected_resolutions(config: PairsConfig, data_dir: Path) -> dict[str, int]:
    """From ``DATA_DIR/discover/listing.json``; {} when there is no usable listing yet."""
    try:
        sections = cache.load(cache.cache_path(data_dir))
    except cache.CacheError:
        return {}
    return expected_resolutions(config, (e for s in sections.values() for e in s.entries))
