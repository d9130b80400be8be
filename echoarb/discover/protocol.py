"""The sans-I/O shape every venue listing follows: requests out, decoded REST bodies in.

A listing is a small state machine. ``start()`` names the first requests; ``feed(request,
body)`` digests one decoded JSON body and returns the follow-up requests (the next page, a
series look-up); ``entries`` is what it learnt. Nothing here opens a socket, so the paging
and parsing rules are tested with recorded bodies alone, and the HTTP driver
(``echoarb.discover.fetch``) is the same for every venue.

A body entry that cannot be understood is counted in ``errors`` with its reason, never
dropped silently and never fatal to the rest of the page.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from echoarb.discover.model import ListingEntry, Venue
from echoarb.venues.parsing import FrameError, to_decimal, to_epoch_ms


@dataclass(frozen=True, slots=True)
class Request:
    path: str  # relative to the venue's base URL, e.g. "/markets"
    params: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.params)
        return self.path + (f"?{query}" if query else "")


class Listing(ABC):
    venue: Venue

    def __init__(self, *, page_size: int, max_pages: int) -> None:
        self.page_size = page_size
        self.max_pages = max_pages  # per paged endpoint: a runaway cursor stops here
        self.pages = 0
        self.truncated = False  # max_pages reached with more pages on offer
        self.errors: list[str] = []
        self._entries: dict[str, ListingEntry] = {}

    @abstractmethod
    def start(self) -> list[Request]: ...

    @abstractmethod
    def feed(self, request: Request, body: Any) -> list[Request]: ...

    @property
    def entries(self) -> list[ListingEntry]:
        return list(self._entries.values())

    def not_found(self, request: Request) -> bool:
        """Is HTTP 404 an answer to this request (a look-up by id) rather than a wrong URL?"""
        return False

    @property
    def count(self) -> int:
        """Entries so far (cheap: for progress lines)."""
        return len(self._entries)

    def _add(self, entry: ListingEntry) -> None:
        self._entries[entry.id] = entry  # a market seen on two pages (offset drift) counts once

    def _page_done(self, more: bool) -> bool:
        """Count a page; True when the next one should be fetched (``more`` and budget left)."""
        self.pages += 1
        if more and self.pages >= self.max_pages:
            self.truncated = True
            return False
        return more


def time_field(raw: dict[str, Any], name: str) -> int | None:
    """Epoch ms of an optional time field (ISO text or epoch number); bad text is an error."""
    value = raw.get(name)
    if value is None or value == "":
        return None
    ms = to_epoch_ms(value)
    if ms is None:
        raise FrameError(f"field {name!r} is not a timestamp: {value!r}")
    return ms


def number_field(raw: dict[str, Any], *names: str) -> float | None:
    """The first present of ``names`` as a number (volumes and liquidity: display only)."""
    for name in names:
        value = raw.get(name)
        if isinstance(value, float):
            return value
        if value is not None and value != "":
            return float(to_decimal(value, name))
    return None


def decimal_text(value: Any, name: str) -> str:
    """A strike or fee parameter as plain decimal text ("4.75", "100000", "0.07")."""
    if isinstance(value, float):  # a body decoded without exact decimals
        value = repr(value)
    return format(to_decimal(value, name).normalize(), "f")
