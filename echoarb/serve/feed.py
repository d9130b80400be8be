"""Fan-out of spread events to WebSocket clients, each behind its own bounded queue.

The Kafka source calls :meth:`Feed.publish` synchronously for every event: it filters and
``put_nowait``s the event's pre-encoded text into each matching client's queue and never
awaits a client. A client whose queue is full is too slow for the feed: it is detached at
once and closed with 1013 (try again later), so one stalled browser or script costs the
others nothing. Each client's writer task drains its own queue into its socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

from echoarb.serve.state import Current, SpreadFilter

log = logging.getLogger("echoarb.serve.feed")

CLOSE_TRY_AGAIN_LATER = 1013


class Socket(Protocol):
    """The part of aiohttp's ``WebSocketResponse`` the feed uses."""

    async def send_str(self, data: str, compress: int | None = None) -> None: ...

    async def close(self, *, code: int = ..., message: bytes = ...) -> bool: ...


class FeedClient:
    def __init__(
        self,
        socket: Socket,
        flt: SpreadFilter,
        max_queue: int,
        abort: Callable[[], None],
        peer: str = "",
    ) -> None:
        self.socket = socket
        self.filter = flt
        self.queue: asyncio.Queue[str] = asyncio.Queue(max_queue)
        self.abort = abort
        self.peer = peer
        self.sent = 0
        self.dropped_slow = False
        self.writer: asyncio.Task[None] | None = None

    async def write_loop(self, on_sent: Callable[[], None]) -> None:
        while True:
            text = await self.queue.get()
            await self.socket.send_str(text)
            self.sent += 1
            on_sent()


class Feed:
    """Registered clients; counters for /metrics."""

    def __init__(self, *, max_queue: int = 1000, close_timeout: float = 2.0) -> None:
        self.max_queue = max_queue
        self.close_timeout = close_timeout
        self.clients: set[FeedClient] = set()
        self.messages_sent = 0
        self.slow_closed = 0
        self.connections_total = 0
        self._closing: set[asyncio.Task[None]] = set()

    def attach(
        self,
        socket: Socket,
        flt: SpreadFilter,
        snapshot: list[dict[str, Any]],
        abort: Callable[[], None],
        peer: str = "",
    ) -> FeedClient:
        """Register a client and queue its snapshot first: attach and snapshot happen in one
        step of the event loop, so no event falls between the snapshot and the live feed."""
        client = FeedClient(socket, flt, self.max_queue, abort, peer)
        client.queue.put_nowait(
            json.dumps({"type": "snapshot", "filter": flt.as_json(), "data": snapshot}, separators=(",", ":"))
        )
        self.clients.add(client)
        self.connections_total += 1
        client.writer = asyncio.create_task(client.write_loop(self._count_sent), name=f"feed-{peer}")
        return client

    def _count_sent(self) -> None:
        self.messages_sent += 1

    def detach(self, client: FeedClient) -> None:
        self.clients.discard(client)
        if client.writer is not None:
            client.writer.cancel()

    def publish(self, current: Current) -> None:
        event = current.event
        for client in list(self.clients):
            if not client.filter.matches(event):
                continue
            try:
                client.queue.put_nowait(current.text)
            except asyncio.QueueFull:
                self._close_slow(client)

    def _close_slow(self, client: FeedClient) -> None:
        self.detach(client)
        client.dropped_slow = True
        self.slow_closed += 1
        log.warning(
            "closing slow WebSocket client %s: %d messages queued (code %d)",
            client.peer or "?",
            client.queue.qsize(),
            CLOSE_TRY_AGAIN_LATER,
        )
        task = asyncio.create_task(self._close(client))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close(self, client: FeedClient) -> None:
        """Send the close frame; a peer that does not read even that is cut off."""
        try:
            async with asyncio.timeout(self.close_timeout):
                await client.socket.close(
                    code=CLOSE_TRY_AGAIN_LATER, message=b"client too slow: feed queue full"
                )
        except (TimeoutError, ConnectionError, RuntimeError):
            client.abort()

    async def close_all(self) -> None:
        for client in list(self.clients):
            self.detach(client)
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self.close_timeout):
                    await client.socket.close(code=1001, message=b"server shutting down")
        for task in list(self._closing):
            with contextlib.suppress(BaseException):
                await task
