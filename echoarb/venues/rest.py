"""Polite venue REST for the live connectors: market metadata at start-up and on a timer.

The WebSocket feeds say nothing about a market until it changes, so each connector also
reads the venue's REST market metadata for the configured instruments: Kalshi ``GET
/markets/{ticker}`` (``close_time``, ``status``, ``price_level_structure``), Polymarket Gamma
``GET /markets?clob_token_ids=..`` (``endDate``, ``closed``, ``acceptingOrders``,
``orderPriceMinTickSize``) and, for a Polymarket resync, the CLOB ``GET /book?token_id=..``.
Each body goes to the same sink as the WebSocket frames (``source="rest"``, recorded, so a
replay rebuilds the same state) and the parsers keep it in the same book and market state.

Politeness: every request waits for a token of the venue's bucket; a failed refresh is
retried after an exponential backoff (never sooner), and a success resets it. A failure is
one warning line and ``echoarb_venue_rest_failures{venue,endpoint}``; it never stops the feed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp

from echoarb import metrics
from echoarb.resilience.backoff import Backoff
from echoarb.resilience.ratelimit import TokenBucket
from echoarb.venues.connector import FrameSink, now_ms
from echoarb.venues.recording import RecordedFrame

log = logging.getLogger("echoarb.rest")


@dataclass(frozen=True, slots=True)
class RestRequest:
    """One GET: ``path`` (with its query, as recorded beside the body) and a bounded label."""

    path: str
    endpoint: str  # e.g. "markets", "book": the metric label, never an id


class RestClient:
    """GETs against one venue base URL through its token bucket; failures are counted, not raised."""

    def __init__(self, venue: str, base_url: str, *, bucket: TokenBucket, timeout: float = 10.0) -> None:
        self.venue = venue
        self.base_url = base_url.rstrip("/")
        self.bucket = bucket
        self.timeout = timeout
        self.requests = 0
        self.failures = 0
        self.last_error: str | None = None
        self._session: aiohttp.ClientSession | None = None

    async def get(self, request: RestRequest) -> str | None:
        """The body of a 200 answer, or None after one warning line and a counted failure."""
        await self.bucket.acquire()
        self.requests += 1
        metrics.VENUE_REST_REQUESTS.labels(venue=self.venue, endpoint=request.endpoint).inc()
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        try:
            async with self._session.get(self.base_url + request.path) as response:
                body = await response.text()
                if response.status == 200:
                    return body
                reason = f"HTTP {response.status} {body.strip()[:120]!r}"
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        self.failures += 1
        self.last_error = reason
        metrics.VENUE_REST_FAILURES.labels(venue=self.venue, endpoint=request.endpoint).inc()
        log.warning("%s: REST GET %s failed (%s); the feed continues", self.venue, request.path, reason)
        return None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class MetadataPoller:
    """Fetch ``requests`` at start-up, then every ``refresh_s`` (0 = start-up only), forever.

    Each body is delivered to ``sink`` like a frame; a failed round is retried after the
    backoff (capped at ``refresh_s``) instead of waiting for the next period.
    """

    def __init__(
        self,
        client: RestClient,
        requests: Sequence[RestRequest],
        sink: FrameSink,
        *,
        refresh_s: float = 300.0,
        backoff: Backoff | None = None,
    ) -> None:
        self.client = client
        self.venue = client.venue
        self.requests = list(requests)
        self.sink = sink
        self.refresh_s = refresh_s
        cap = max(refresh_s, 1.0) if refresh_s > 0 else 60.0
        self.backoff = backoff or Backoff(1.0, cap)
        self.rounds = 0
        self.delivered = 0
        self.parse_errors = 0
        self.done_once = asyncio.Event()  # the first round finished (whatever its outcome)

    async def refresh(self) -> bool:
        """One round over every request; True when every request was answered and parsed."""
        ok = True
        for request in self.requests:
            body = await self.client.get(request)
            if body is None:
                ok = False
                continue
            outcome = await self.sink(RecordedFrame(self.venue, now_ms(), body, "rest", request.path))
            self.delivered += 1
            errors = getattr(outcome, "errors", None)
            if errors:  # counted and dead-lettered by the pipeline; one line here too
                ok = False
                self.parse_errors += 1
                log.warning("%s: REST %s not understood: %s", self.venue, request.path, errors[0])
        self.rounds += 1
        return ok

    async def run(self) -> None:
        """Until cancelled; never raises for a venue or network failure."""
        log.info(
            "%s: market metadata over REST for %d request(s), refresh %s",
            self.venue,
            len(self.requests),
            f"every {self.refresh_s:g}s" if self.refresh_s > 0 else "at start-up only",
        )
        try:
            while True:
                ok = await self.refresh()
                self.done_once.set()
                if ok:
                    self.backoff.reset()
                    if self.refresh_s <= 0:
                        return
                    delay = self.refresh_s
                else:
                    delay = max(self.backoff.next_delay(), 0.05)
                    if self.refresh_s > 0:
                        delay = min(delay, self.refresh_s)
                await asyncio.sleep(delay)
        finally:
            await self.client.close()


def chunks(items: Sequence[str], size: int) -> list[list[str]]:
    """Consecutive groups of at most ``size`` (a URL carries only so many ids)."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]
