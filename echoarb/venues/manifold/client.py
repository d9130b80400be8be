"""Manifold producer agent: REST ``/slug/{slug}`` for ids and state, WebSocket for updates.

Pairs name Manifold markets by slug but WebSocket topics use contract ids, so every
session starts with a REST refresh of each slug (its body goes to the parser like any
frame, ``source="rest"``, and is recorded): that resolves the ids and also covers updates
missed while disconnected. Requests go through a token bucket sized for the venue's limit
(500/min per IP). The client pings every 30 s; the server drops silent clients at 60 s.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from urllib.parse import quote

import aiohttp
from websockets.asyncio.client import ClientConnection

from echoarb.resilience.ratelimit import TokenBucket
from echoarb.venues.connector import ConnectorTiming, FrameSink, VenueConnector

log = logging.getLogger("echoarb.manifold")

MANIFOLD_TIMING = ConnectorTiming(ping_interval=30.0, heartbeat_timeout=75.0)


class ManifoldConnector(VenueConnector):
    venue = "manifold"

    def __init__(
        self,
        ws_url: str,
        api_url: str,
        slugs: Sequence[str],
        sink: FrameSink,
        timing: ConnectorTiming | None = None,
        *,
        bucket: TokenBucket | None = None,
        rest_timeout: float = 10.0,
    ) -> None:
        super().__init__(ws_url, sink, timing or MANIFOLD_TIMING)
        self.api_url = api_url.rstrip("/")
        self.slugs = sorted(slugs)
        self.bucket = bucket or TokenBucket.per_minute(500)
        self.rest_timeout = rest_timeout
        self.ids: dict[str, str] = {}  # slug -> contract id
        self.rest_requests = 0
        self.rest_failures = 0
        self._txid = 0

    def _next_txid(self) -> int:
        self._txid += 1
        return self._txid

    async def on_open(self, ws: ClientConnection) -> None:
        await self.refresh()
        if not self.ids:
            raise ConnectionError("manifold: no slug could be resolved over REST")
        topics = [
            t for cid in sorted(self.ids.values()) for t in (f"contract/{cid}", f"contract/{cid}/new-bet")
        ]
        await ws.send(json.dumps({"type": "subscribe", "txid": self._next_txid(), "topics": topics}))

    async def refresh(self) -> None:
        """GET every slug (rate limited); bodies go to the parser, ids are remembered."""
        timeout = aiohttp.ClientTimeout(total=self.rest_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for slug in self.slugs:
                await self._fetch_slug(session, slug)

    async def _fetch_slug(self, session: aiohttp.ClientSession, slug: str) -> None:
        path = f"/slug/{quote(slug, safe='')}"
        await self.bucket.acquire()
        self.rest_requests += 1
        try:
            async with session.get(self.api_url + path) as response:
                body = await response.text()
                if response.status != 200:
                    self.rest_failures += 1
                    log.warning("manifold: GET %s -> HTTP %d", path, response.status)
                    return
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.rest_failures += 1
            log.warning("manifold: GET %s failed: %s", path, exc)
            return
        self.touch()
        await self.deliver(body, source="rest", path=path)
        try:
            contract_id = json.loads(body).get("id")
        except (ValueError, AttributeError):
            return  # counted by the parser
        if isinstance(contract_id, str) and contract_id:
            self.ids[slug] = contract_id

    async def send_ping(self, ws: ClientConnection) -> None:
        await ws.send(json.dumps({"type": "ping", "txid": self._next_txid()}))
