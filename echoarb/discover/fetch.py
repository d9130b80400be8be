"""The HTTP side of listing: drive each venue's sans-I/O listing over aiohttp, politely.

Polite means: one token bucket per venue (``*_requests_per_min``), retries with capped,
jittered backoff (``echoarb.resilience``) on timeouts, connection errors, HTTP 429 (its
``Retry-After`` honoured) and 5xx; any other status is a configuration problem (a wrong base
URL) and fails at once. Venues are fetched concurrently, each on its own; a venue that
cannot be reached ends as one :class:`VenueUnreachable` line while the others complete.
Progress goes to stderr, one line per venue, rewritten in place on a terminal.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

import aiohttp

from echoarb.discover.model import ListingEntry
from echoarb.discover.protocol import Listing, Request
from echoarb.resilience.backoff import Backoff
from echoarb.resilience.ratelimit import TokenBucket
from echoarb.venues.parsing import FrameError, loads

_RETRY_STATUS = {429, 500, 502, 503, 504}


class VenueUnreachable(Exception):
    """A venue's listing could not be fetched; ``str(exc)`` is the one line to show."""


@dataclass(frozen=True, slots=True)
class Source:
    listing: Listing
    base_url: str
    requests_per_min: int


@dataclass(slots=True)
class VenueResult:
    venue: str
    entries: list[ListingEntry]
    errors: list[str]  # entries (or bodies) that were not understood
    pages: int
    requests: int
    retries: int
    truncated: bool
    seconds: float
    failure: str | None = None  # set when the venue was unreachable


class Progress:
    """A plain stderr progress line per venue: pages, entries so far, retries."""

    def __init__(self, stream: TextIO | None = None, *, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = time.monotonic()  # a log file gets its first line after 5 s, or the final one

    def update(self, venue: str, text: str, *, final: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            self.stream.write(f"\r\033[K{venue}: {text}" + ("\n" if final else ""))
            self.stream.flush()
        elif final or now - self._last >= 5.0:  # a log file gets a line every few seconds
            self._last = now
            self.stream.write(f"{venue}: {text}\n")
            self.stream.flush()


async def fetch_listing(
    source: Source,
    *,
    session: aiohttp.ClientSession,
    retries: int,
    progress: Progress,
    backoff_base: float = 0.5,
    backoff_cap: float = 20.0,
    sleep: Callable[[float], object] = asyncio.sleep,
) -> VenueResult:
    listing = source.listing
    venue = listing.venue
    bucket = TokenBucket.per_minute(source.requests_per_min)
    started = time.monotonic()
    queue: list[Request] = listing.start()
    requests = retried = 0
    base = source.base_url.rstrip("/")
    while queue:
        request = queue.pop(0)
        backoff = Backoff(backoff_base, backoff_cap)
        while True:
            await bucket.acquire()
            requests += 1
            try:
                outcome = await _get(session, base + request.path, request.params)
            except (aiohttp.ClientError, TimeoutError) as exc:
                outcome = _Retry(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, None)
            if not isinstance(outcome, _Retry):
                break
            if backoff.attempt >= retries:
                raise VenueUnreachable(
                    f"{venue}: {base}{request.path} failed after {requests} requests ({outcome.reason})"
                )
            retried += 1
            delay = backoff.next_delay() if outcome.after is None else outcome.after
            progress.update(venue, f"retrying {request.path} in {delay:.1f}s ({outcome.reason})")
            await _call_sleep(sleep, delay)
        assert not isinstance(outcome, _Retry)
        status, text = outcome
        if status == 404 and listing.not_found(request):
            continue
        if status != 200:
            raise VenueUnreachable(f"{venue}: {base}{request.path} answered HTTP {status}: {_snippet(text)}")
        try:
            body = loads(text)
        except FrameError:
            what = f"{venue}: {base}{request.path} did not answer JSON"
            raise VenueUnreachable(f"{what}: {_snippet(text)}") from None
        queue.extend(listing.feed(request, body))
        progress.update(venue, f"{listing.pages} pages, {listing.count} open markets")
    result = VenueResult(
        venue,
        listing.entries,
        list(listing.errors),
        listing.pages,
        requests,
        retried,
        listing.truncated,
        time.monotonic() - started,
    )
    note = f", {len(result.errors)} not understood" if result.errors else ""
    more = " (page budget reached: more on offer)" if result.truncated else ""
    progress.update(
        venue,
        f"{len(result.entries)} open markets in {result.pages} pages, {result.seconds:.1f}s{note}{more}",
        final=True,
    )
    return result


async def fetch_all(
    sources: list[Source],
    *,
    retries: int = 5,
    timeout_s: float = 20.0,
    progress: Progress | None = None,
    backoff_base: float = 0.5,
) -> list[VenueResult]:
    """Every source concurrently; an unreachable venue is a result with ``failure`` set."""
    progress = progress or Progress()
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    headers = {"User-Agent": "echoarb-discover", "Accept": "application/json"}
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:

        async def one(source: Source) -> VenueResult:
            try:
                return await fetch_listing(
                    source, session=session, retries=retries, progress=progress, backoff_base=backoff_base
                )
            except VenueUnreachable as exc:
                # The reason is the caller's one line (``echoarb: <reason>``): not twice.
                progress.update(source.listing.venue, "unreachable", final=True)
                return VenueResult(source.listing.venue, [], [], 0, 0, 0, False, 0.0, failure=str(exc))

        return list(await asyncio.gather(*(one(source) for source in sources)))


@dataclass(frozen=True, slots=True)
class _Retry:
    reason: str
    after: float | None  # Retry-After, seconds


async def _get(
    session: aiohttp.ClientSession, url: str, params: tuple[tuple[str, str], ...]
) -> tuple[int, str] | _Retry:
    async with session.get(url, params=list(params)) as response:
        text = await response.text()
        if response.status in _RETRY_STATUS:
            return _Retry(f"HTTP {response.status}", _retry_after(response.headers.get("Retry-After")))
        return response.status, text


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return min(max(float(value), 0.0), 60.0)
    except ValueError:
        return None


async def _call_sleep(sleep: Callable[[float], object], delay: float) -> None:
    result = sleep(delay)
    if asyncio.iscoroutine(result):
        await result


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat[:120] + ("..." if len(flat) > 120 else "")
