"""Polymarket CLOB market-channel producer agents (no auth for market data), sharded.

Polymarket asks that one connection carry a few hundred assets at most, so the configured
YES and NO token ids are split into shards of ``max_assets`` (see :func:`shard`), each with
its own :class:`PolymarketConnector`: its own socket, health, heartbeat, backoff and
reconnect, so one shard's trouble never stalls the others. Each subscribes with
``custom_feature_enabled`` (the venue then also sends ``best_bid_ask``, ``new_market`` and
``market_resolved``) and sends the text ``PING`` the server expects about every 10 s.
Polymarket has no sequence numbers; when the parser finds a token's book out of sync
(a change it cannot apply, or the venue's best bid/ask disagreeing with it) the token is
subscribed again on its shard, which makes the server send its full ``book``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from websockets.asyncio.client import ClientConnection

from echoarb.venues.connector import ConnectorTiming, FrameSink, VenueConnector

DEFAULT_URL = "wss://ws-subscriptions-clob.polymarket.com/ws/market"
MAX_ASSETS_PER_CONNECTION = 200


def shard(asset_ids: Sequence[str], max_assets: int = MAX_ASSETS_PER_CONNECTION) -> list[list[str]]:
    """Sorted, de-duplicated asset ids in consecutive groups of at most ``max_assets``."""
    if max_assets < 1:
        raise ValueError("max_assets must be >= 1")
    ids = sorted(set(asset_ids))
    return [ids[i : i + max_assets] for i in range(0, len(ids), max_assets)]


class PolymarketConnector(VenueConnector):
    """One market-channel connection for one shard of assets."""

    venue = "polymarket"

    def __init__(
        self,
        url: str,
        asset_ids: Sequence[str],
        sink: FrameSink,
        timing: ConnectorTiming | None = None,
        *,
        shard_index: int = 0,
    ) -> None:
        super().__init__(url, sink, timing)
        self.asset_ids = sorted(asset_ids)
        self.shard_index = shard_index

    def __repr__(self) -> str:
        return f"PolymarketConnector(shard={self.shard_index}, assets={len(self.asset_ids)})"

    async def on_open(self, ws: ClientConnection) -> None:
        await ws.send(
            json.dumps({"assets_ids": self.asset_ids, "type": "market", "custom_feature_enabled": True})
        )

    async def send_ping(self, ws: ClientConnection) -> None:
        await ws.send("PING")

    async def on_resync(self, ws: ClientConnection, instruments: list[str]) -> None:
        mine = [i for i in instruments if i in set(self.asset_ids)] or instruments
        await ws.send(json.dumps({"assets_ids": mine, "operation": "subscribe"}))


def polymarket_connectors(
    url: str,
    asset_ids: Sequence[str],
    sink: FrameSink,
    timing: ConnectorTiming | None = None,
    *,
    max_assets: int = MAX_ASSETS_PER_CONNECTION,
) -> list[PolymarketConnector]:
    """One connector per shard of ``asset_ids`` (at least one, even with no assets)."""
    shards = shard(asset_ids, max_assets) or [[]]
    return [PolymarketConnector(url, ids, sink, timing, shard_index=i) for i, ids in enumerate(shards)]
