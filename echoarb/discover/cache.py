"""The listing on disk: ``<DATA_DIR>/discover/listing.json``, one section per venue.

Discovery is run by hand and listing every venue takes a while (tens of pages on Kalshi), so
the last listing is kept and reused while it is younger than ``DISCOVER_CACHE_MAX_AGE_S``;
its age is always shown, and a section fetched from another base URL (a simulator's, say)
is never reused for this one, because matching against a stale listing proposes markets that
may have closed since. A venue that was unreachable keeps its previous section (marked
with its own age) rather than vanishing from the listing. The file is written atomically.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from echoarb.discover.model import ListingEntry

FORMAT = 1


@dataclass(frozen=True, slots=True)
class VenueSection:
    venue: str
    fetched_ms: int
    entries: tuple[ListingEntry, ...]
    errors: int = 0
    truncated: bool = False
    base_url: str = ""  # where it was fetched: a listing of another base URL (a simulator) is stale

    def age_s(self, now_ms: int | None = None) -> float:
        now = int(time.time() * 1000) if now_ms is None else now_ms
        return max(0.0, (now - self.fetched_ms) / 1000)


class CacheError(ValueError):
    """The cache file is unreadable; the message says why (the caller fetches afresh)."""


def cache_path(data_dir: Path) -> Path:
    return data_dir / "discover" / "listing.json"


def load(path: Path) -> dict[str, VenueSection]:
    """Sections by venue; {} when there is no cache yet."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, json.JSONDecodeError) as exc:
        raise CacheError(f"{path}: unreadable listing cache ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT or not isinstance(raw.get("venues"), dict):
        raise CacheError(f"{path}: not a listing cache of format {FORMAT}")
    out = {}
    try:
        for venue, section in raw["venues"].items():
            out[venue] = VenueSection(
                venue,
                int(section["fetched_ms"]),
                tuple(ListingEntry.from_json(e) for e in section["entries"]),
                int(section.get("errors", 0)),
                bool(section.get("truncated", False)),
                str(section.get("base_url", "")),
            )
    except (KeyError, TypeError, ValueError) as exc:
        raise CacheError(f"{path}: damaged listing cache ({type(exc).__name__}: {exc})") from None
    return out


def save(path: Path, sections: dict[str, VenueSection]) -> None:
    body: dict[str, Any] = {
        "format": FORMAT,
        "venues": {
            venue: {
                "fetched_ms": s.fetched_ms,
                "errors": s.errors,
                "truncated": s.truncated,
                "base_url": s.base_url,
                "entries": [e.to_json() for e in s.entries],
            }
            for venue, s in sections.items()
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(body, separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, path)


def describe_age(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
