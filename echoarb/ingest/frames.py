"""Received frames to ticks: the venue parsers plus the normaliser, shared by replay and ingest.

Pure: a recording replays through exactly the code a live connector feeds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from echoarb import metrics
from echoarb.ingest.normalise import Normaliser
from echoarb.model import Tick
from echoarb.pairs import PairsConfig
from echoarb.venues.kalshi.protocol import KalshiProtocol
from echoarb.venues.manifold.protocol import ManifoldProtocol
from echoarb.venues.parsing import ParseResult
from echoarb.venues.polymarket.protocol import PolymarketProtocol


class VenueParser(Protocol):
    def receive(
        self, frame: str | bytes, recv_ts: int, *, source: str = "ws", path: str | None = None
    ) -> ParseResult: ...


@dataclass(slots=True)
class FrameOutcome:
    ticks: list[Tick] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    resync: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


MAX_FRAME_CHARS = 8 * 1024 * 1024


class FrameHandler:
    def __init__(
        self, pairs: PairsConfig, *, depth: int = 10, kalshi_fee_rate: Decimal = Decimal("0.07")
    ) -> None:
        self.normaliser = Normaliser(pairs, kalshi_fee_rate=kalshi_fee_rate)
        self._kalshi = KalshiProtocol(depth=depth)
        self.parsers: dict[str, VenueParser] = {
            "kalshi": self._kalshi,
            "polymarket": PolymarketProtocol(depth=depth),
            "manifold": ManifoldProtocol(depth=depth),
        }
        self.frames = 0
        self.errors: dict[str, int] = {}
        # Outcomes that produce no tick, counted here and in Prometheus (see ParseResult).
        self.ignored: dict[tuple[str, str], int] = {}
        self.desyncs: dict[tuple[str, str], int] = {}
        self.fallback_ts: dict[str, int] = {}

    def handle(
        self, venue: str, frame: str | bytes, recv_ts: int, *, source: str = "ws", path: str | None = None
    ) -> FrameOutcome:
        self.frames += 1
        parser = self.parsers.get(venue)
        if parser is None:
            self.errors[venue] = self.errors.get(venue, 0) + 1
            return FrameOutcome(errors=[f"unknown venue {venue!r}"])
        if len(frame) > MAX_FRAME_CHARS:
            # Parse time grows with size; no venue sends frames this large (websockets caps
            # messages at 1 MiB), so a bigger one is refused unread: bounded time per frame.
            self.errors[venue] = self.errors.get(venue, 0) + 1
            return FrameOutcome(
                errors=[f"{venue} frame too large: {len(frame)} > {MAX_FRAME_CHARS} characters"]
            )
        result = parser.receive(frame, recv_ts, source=source, path=path)
        # Kalshi announces no close: markets whose close time passed are closed now, by the
        # receive time of whatever frame arrives (live and replay alike).
        change = self._kalshi.next_change_ms
        if change is not None and recv_ts >= change:
            expired = self._kalshi.expire(recv_ts)
            if expired.quotes:
                result.quotes[:0] = expired.quotes
        if result.errors:
            self.errors[venue] = self.errors.get(venue, 0) + len(result.errors)
        if result.ignored or result.desyncs or result.fallback_ts:
            self._count(venue, result)
        quotes = result.quotes
        if len(quotes) == 1:  # most frames: the normaliser's fresh list is the outcome's
            return FrameOutcome(
                self.normaliser.update(quotes[0]), result.errors, result.resync, result.ignored
            )
        ticks: list[Tick] = []
        for quote in quotes:
            ticks.extend(self.normaliser.update(quote))
        return FrameOutcome(ticks, result.errors, result.resync, result.ignored)

    def _count(self, venue: str, result: ParseResult) -> None:
        for kind in result.ignored:
            key = (venue, kind)
            self.ignored[key] = self.ignored.get(key, 0) + 1
            inc = _IGNORED_INC.get(key)
            if inc is None:
                inc = _IGNORED_INC[key] = metrics.FRAMES_IGNORED.labels(venue=venue, kind=kind).inc
            inc()
        for reason in result.desyncs:
            key = (venue, reason)
            self.desyncs[key] = self.desyncs.get(key, 0) + 1
            metrics.BOOK_DESYNCS.labels(venue=venue, reason=reason).inc()
        if result.fallback_ts:
            self.fallback_ts[venue] = self.fallback_ts.get(venue, 0) + result.fallback_ts
            metrics.EVENT_TIME_FALLBACKS.labels(venue=venue).inc(result.fallback_ts)


# The labelled counters of ignored events by (venue, kind): ``labels()`` validates and locks
# on every call (~1 us), and keep-alives, trades and acks are ignored on a good share of frames.
_IGNORED_INC: dict[tuple[str, str], Callable[[], None]] = {}
