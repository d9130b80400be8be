"""Polymarket CLOB market-channel producer agent (no auth for market data).

Subscribes every configured YES and NO token id at once and sends the text ``PING`` the
server expects about every 10 s. Polymarket has no sequence numbers; when the parser
cannot apply a change it asks for a resync and the affected tokens are subscribed again,
which makes the server send their full ``book``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from websockets.asyncio.client import ClientConnection

from echoarb.venues.connector import ConnectorTiming, FrameSink, VenueConnector

DEFAULT_URL = "wss://ws-subscriptions-clob.polymarket.com/ws/market"


class PolymarketConnector(VenueConnector):
    venue = "polymarket"

    def __init__(
        self, url: str, asset_ids: Sequence[str], sink: FrameSink, timing: ConnectorTiming | None = None
    ) -> None:
        super().__init__(url, sink, timing)
        self.asset_ids = sorted(asset_ids)

    async def on_open(self, ws: ClientConnection) -> None:
        await ws.send(json.dumps({"assets_ids": self.asset_ids, "type": "market"}))

    async def send_ping(self, ws: ClientConnection) -> None:
        await ws.send("PING")

    async def on_resync(self, ws: ClientConnection, instruments: list[str]) -> None:
        await ws.send(json.dumps({"assets_ids": instruments, "operation": "subscribe"}))
