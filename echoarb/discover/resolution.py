"""Expected resolution time per configured pair, from the discovery listing cache.

A 1% edge locked for eight months is worth less than a 0.5% edge settling tomorrow, and
nothing on the tick path knows when a market resolves (Kalshi sends a trading close, not
a determination; Polymarket's end date lives in Gamma only). The discovery listing has it
(``ListingEntry.resolve_ms``), so the serve view reads it here: a pair's capital comes back
when its last real-money leg resolves. A pair with a real-money leg missing from the
listing gets no figure rather than a guess. Manifold legs (play money) are left out.

The return on capital is computed here too, once for every reader (the serve view per
event, ``echoarb top`` per stored opportunity): net profit / (cost + fees), annualised
simply (x 365 / days, not compounded: a 0.5% edge settling tomorrow is 183%, not 517%).
Under one hour to go counts as one hour, so a market about to resolve does not divide by zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from echoarb.discover import cache
from echoarb.discover.model import ListingEntry
from echoarb.pairs import PairsConfig

DAY_MS = 86_400_000


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


def days_until(event_ms: int, resolves_ms: int) -> float:
    """Days from an event until the expected resolution (0 when it is already past)."""
    return max(0.0, (resolves_ms - event_ms) / DAY_MS)


def annualised_return(net_profit: Decimal, outlay: Decimal, days: float) -> Decimal | None:
    """Simple annualised return on the outlay (4 decimals); None when nothing is laid out."""
    if outlay <= 0:
        return None
    yearly = net_profit / outlay * Decimal(365) / Decimal(max(days, 1 / 24))
    return yearly.quantize(Decimal("0.0001"))


def capital_fields(event: dict[str, Any], resolves_ms: int) -> dict[str, Any]:
    """A spread event's (JSON form) ``resolution_ts``, ``days_to_resolution``, ``annualised_return``."""
    days = days_until(int(event["event_ts"]), resolves_ms)
    out: dict[str, Any] = {"resolution_ts": resolves_ms, "days_to_resolution": round(days, 2)}
    try:
        outlay = Decimal(event["cost"]) + Decimal(event["fees"])
        profit = Decimal(event["net_profit"])
    except (KeyError, TypeError, InvalidOperation):
        return out
    yearly = annualised_return(profit, outlay, days)
    if yearly is not None:
        out["annualised_return"] = format(yearly, "f")
    return out


class ListingWatch:
    """Re-reads the expected resolutions when the listing cache changes (``echoarb serve``).

    A long-running view should not need a restart after ``echoarb discover --refresh``: each
    :meth:`poll` compares the cache file's modification time with the last one read and,
    when it moved, returns the fresh mapping (else None). A file being replaced is read on
    the next poll; an unreadable one yields {} like a missing one.
    """

    def __init__(self, config: PairsConfig, data_dir: Path) -> None:
        self.config = config
        self.data_dir = data_dir
        self.path = cache.cache_path(data_dir)
        self._seen = self._mtime()

    def _mtime(self) -> int | None:
        try:
            return self.path.stat().st_mtime_ns
        except OSError:
            return None

    def poll(self) -> dict[str, int] | None:
        mtime = self._mtime()
        if mtime == self._seen:
            return None
        self._seen = mtime
        return load_expected_resolutions(self.config, self.data_dir)
