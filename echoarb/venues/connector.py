"""The generic live venue connector: connect, subscribe, receive, keep alive, reconnect.

One venue client subclasses :class:`VenueConnector` with its handshake headers, its
subscribe commands, its keep-alive and what to do when the parser asks for a fresh
snapshot. Everything about surviving the network lives here, once:

* reconnect with exponential backoff and full jitter (capped) after any failure;
* a circuit breaker per venue: after N consecutive failed sessions it stops trying for a
  while, then lets one probe through;
* a heartbeat timeout: no frame (or pong) for ``heartbeat_timeout`` seconds means the
  socket is dead even if TCP has not noticed (a silent stall), so drop it and reconnect;
* resubscribe on every new connection (``on_open`` runs per session).

Frames go to a ``sink`` (the ingest pipeline) which parses them and may apply
backpressure by not returning until its bounded buffer has room.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from echoarb import metrics
from echoarb.resilience.backoff import Backoff
from echoarb.resilience.circuit import CircuitBreaker
from echoarb.venues.recording import RecordedFrame

log = logging.getLogger("echoarb.connector")


class Delivered(Protocol):
    """What a connector needs back from its sink (the ingest pipeline's ``FrameOutcome``)."""

    @property
    def resync(self) -> Sequence[str]:
        """Instruments whose book lost sync: the connector resubscribes for fresh snapshots."""
        ...


FrameSink = Callable[[RecordedFrame], Awaitable[Delivered]]


class ConnectorFatalError(RuntimeError):
    """A failure retrying cannot fix (bad credentials): the connector stops with this message."""


class HeartbeatTimeout(ConnectionError):
    """Nothing received for longer than the heartbeat timeout: the socket is presumed dead."""


@dataclass(frozen=True, slots=True)
class ConnectorTiming:
    """Every interval a connector uses; tests shrink them to milliseconds."""

    ping_interval: float = 10.0
    heartbeat_timeout: float | None = None  # None = 2.5 x ping_interval
    connect_timeout: float = 10.0
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    breaker_threshold: int = 5
    breaker_reset: float = 30.0

    @property
    def dead_after(self) -> float:
        return self.heartbeat_timeout if self.heartbeat_timeout is not None else 2.5 * self.ping_interval


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class VenueConnector(ABC):
    venue: str = ""

    def __init__(self, url: str, sink: FrameSink, timing: ConnectorTiming | None = None) -> None:
        self.url = url
        self.sink = sink
        self.timing = timing or ConnectorTiming()
        self.backoff = Backoff(self.timing.backoff_base, self.timing.backoff_cap)
        self.breaker = CircuitBreaker(self.timing.breaker_threshold, self.timing.breaker_reset)
        # Observability (and what the tests wait on).
        self.sessions = 0  # WebSocket connections opened
        self.frames = 0
        self.reconnects = 0
        self.heartbeat_timeouts = 0
        self.resubscribes = 0
        self.last_error: str | None = None
        self.connected = asyncio.Event()
        self._ws: ClientConnection | None = None
        self._last_rx = 0.0
        self._healthy = False

    # -- what a venue client provides --------------------------------------------------------
    def handshake_headers(self) -> dict[str, str]:
        """Extra headers on the WebSocket upgrade (Kalshi signs it)."""
        return {}

    @abstractmethod
    async def on_open(self, ws: ClientConnection) -> None:
        """Subscribe (and fetch whatever REST state the venue needs) on a fresh connection."""

    @abstractmethod
    async def send_ping(self, ws: ClientConnection) -> None:
        """The venue's keep-alive; replies must arrive as frames or pongs (see ``touch``)."""

    async def on_resync(self, ws: ClientConnection, instruments: list[str]) -> None:
        """The parser lost sync on ``instruments``: get fresh snapshots (default: reconnect)."""
        raise ConnectionError(f"{self.venue}: resync needed for {instruments}")

    def on_text(self, text: str) -> None:  # noqa: B027 - optional hook
        """Look at a frame before the sink (e.g. learn subscription ids)."""

    async def on_session_end(self) -> None:  # noqa: B027 - optional hook
        """The socket is gone: stop whatever work belonged to it (e.g. a REST resync)."""

    # -- the loop ------------------------------------------------------------------------------
    async def run(self) -> None:
        """Run until cancelled; raises :class:`ConnectorFatalError` on unfixable failures."""
        first = True
        while True:
            if not self.breaker.allow():
                wait = max(self.breaker.retry_in(), 0.001)
                log.warning("%s: circuit open, next probe in %.1fs", self.venue, wait)
                await asyncio.sleep(wait)
                continue
            if not first:
                self.reconnects += 1
                metrics.RECONNECT_ATTEMPTS.labels(venue=self.venue).inc()
            first = False
            self._healthy = False
            try:
                await self._session()
                reason = "connection closed by the venue"
            except ConnectorFatalError as exc:
                self.last_error = str(exc)
                log.error("%s", exc)
                raise
            except HeartbeatTimeout as exc:
                self.heartbeat_timeouts += 1
                reason = str(exc)
            except InvalidStatus as exc:
                status = exc.response.status_code
                if status in (401, 403):
                    raise ConnectorFatalError(self._auth_message(status, exc)) from None
                reason = f"upgrade rejected with HTTP {status}"
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError, ConnectionError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            if not self._healthy:
                self.breaker.record_failure()
            delay = self.backoff.next_delay()
            self.last_error = reason
            log.warning("%s: %s; reconnecting in %.2fs", self.venue, reason, delay)
            await asyncio.sleep(delay)

    def _auth_message(self, status: int, exc: InvalidStatus) -> str:
        body = exc.response.body.decode("utf-8", "replace").strip()[:200] if exc.response.body else ""
        detail = f": {body}" if body else ""
        return f"{self.venue}: the venue refused the WebSocket upgrade with HTTP {status}{detail}"

    async def _session(self) -> None:
        async with websockets.connect(
            self.url,
            additional_headers=self.handshake_headers(),
            open_timeout=self.timing.connect_timeout,
            ping_interval=None,  # keep-alive and dead-socket detection are ours (heartbeat)
            close_timeout=1,
            max_size=8 * 2**20,
            proxy=None,
        ) as ws:
            self._ws = ws
            self.sessions += 1
            metrics.CONNECTIONS_ACTIVE.labels(venue=self.venue).inc()
            self.touch()
            self.connected.set()
            log.info("%s: connected to %s (session %d)", self.venue, self.url, self.sessions)
            keepalive = asyncio.create_task(self._keepalive(ws), name=f"{self.venue}-keepalive")
            try:
                await self.on_open(ws)
                await self._receive(ws)
            finally:
                keepalive.cancel()
                await asyncio.gather(keepalive, return_exceptions=True)
                await self.on_session_end()
                self.connected.clear()
                self._ws = None
                metrics.CONNECTIONS_ACTIVE.labels(venue=self.venue).dec()

    def touch(self) -> None:
        """Something arrived (a frame or a pong): the socket is alive."""
        self._last_rx = time.monotonic()

    async def _keepalive(self, ws: ClientConnection) -> None:
        while True:
            await asyncio.sleep(self.timing.ping_interval)
            try:
                await self.send_ping(ws)
            except ConnectionClosed:
                return

    async def _receive(self, ws: ClientConnection) -> None:
        dead_after = self.timing.dead_after
        while True:
            remaining = dead_after - (time.monotonic() - self._last_rx)
            if remaining <= 0:
                raise HeartbeatTimeout(f"nothing received for {dead_after:.1f}s (heartbeat timeout)")
            try:
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation.
                async with asyncio.timeout(remaining):
                    message = await ws.recv()
            except TimeoutError:
                continue  # re-check: a pong may have arrived meanwhile
            self.touch()
            text = message if isinstance(message, str) else message.decode("utf-8", "replace")
            await self.deliver(text)
            self.touch()  # time blocked on backpressure is not silence from the venue
            if not self._healthy:
                self._mark_healthy()

    def _mark_healthy(self) -> None:
        self._healthy = True
        self.breaker.record_success()
        self.backoff.reset()

    async def deliver(self, text: str, *, source: str = "ws", path: str | None = None) -> Delivered:
        """Hand one received frame to the sink and act on a resync request."""
        self.frames += 1
        metrics.MESSAGES_RECEIVED.labels(venue=self.venue).inc()
        if source == "ws":
            self.on_text(text)
        outcome = await self.sink(RecordedFrame(self.venue, now_ms(), text, source, path))
        if outcome.resync and self._ws is not None and source == "ws":
            self.resubscribes += 1
            log.warning("%s: lost sync on %s; requesting a fresh snapshot", self.venue, outcome.resync)
            await self.on_resync(self._ws, list(outcome.resync))
        return outcome

    async def close(self) -> None:
        """Close the current socket (the run loop reconnects); used by operators and tests."""
        if self._ws is not None:
            await self._ws.close()
