"""Polymarket CLOB market-channel producer agents (no auth for market data), sharded.

Polymarket asks that one connection carry a few hundred assets at most, so the configured
YES and NO token ids are split into shards of ``max_assets`` (see :func:`shard`), each with
its own :class:`PolymarketConnector`: its own socket, health, heartbeat, backoff and
reconnect, so one shard's trouble never stalls the others. Each subscribes with
``custom_feature_enabled`` (the venue then also sends ``best_bid_ask``, ``new_market`` and
``market_resolved``) and sends the text ``PING`` the server expects about every 10 s.
Polymarket has no sequence numbers; when the parser finds a token's book out of sync
(a change it cannot apply, or the venue's best bid/ask disagreeing with it) the connector
reads a fresh snapshot from the CLOB REST ``GET /book?token_id=..`` (the same shape as the
WebSocket ``book``; changes stamped before it are not applied again). When that request
fails, or no CLOB URL is configured, the token is subscribed again on its shard instead,
which makes the server send its full ``book``. The REST request runs beside the feed: the
shard's other tokens keep streaming meanwhile.

Market metadata (Gamma ``GET /markets?clob_token_ids=..``: ``endDate``, ``closed``,
``acceptingOrders``, tick size) is read at start-up and on a timer by
:func:`metadata_requests` and ``echoarb.venues.rest.MetadataPoller``, once per venue.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from urllib.parse import quote, urlencode

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from echoarb.venues.connector import ConnectorTiming, FrameSink, VenueConnector
from echoarb.venues.rest import RestClient, RestRequest, chunks

log = logging.getLogger("echoarb.polymarket")

DEFAULT_URL = "wss://ws-subscriptions-clob.polymarket.com/ws/market"
MAX_ASSETS_PER_CONNECTION = 200
GAMMA_IDS_PER_REQUEST = 20  # token ids are ~77 digits: 20 keep the URL under 2 kB


def metadata_requests(asset_ids: Sequence[str]) -> list[RestRequest]:
    """Gamma ``GET /markets?clob_token_ids=..&limit=..`` for every configured token, in chunks."""
    ids = sorted(set(asset_ids))
    return [
        RestRequest(
            "/markets?" + urlencode([*(("clob_token_ids", i) for i in group), ("limit", len(group))]),
            "gamma_markets",
        )
        for group in chunks(ids, GAMMA_IDS_PER_REQUEST)
    ]


def book_request(asset_id: str) -> RestRequest:
    """CLOB ``GET /book?token_id=..``: one token's full book."""
    return RestRequest(f"/book?token_id={quote(asset_id, safe='')}", "book")


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
        clob: RestClient | None = None,
    ) -> None:
        super().__init__(url, sink, timing)
        self.asset_ids = sorted(asset_ids)
        self.shard_index = shard_index
        self.clob = clob  # None: resync by resubscribing only
        self.rest_resyncs = 0  # tokens resynced from a REST snapshot
        self.resubscribe_fallbacks = 0  # tokens resubscribed because the REST snapshot failed
        self._resyncs: set[asyncio.Task[None]] = set()

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
        if self.clob is None:
            await self._resubscribe(ws, mine)
            return
        task = asyncio.create_task(self._rest_resync(ws, mine), name=f"polymarket-{self.shard_index}-resync")
        self._resyncs.add(task)
        task.add_done_callback(self._resyncs.discard)

    async def _resubscribe(self, ws: ClientConnection, asset_ids: list[str]) -> None:
        await ws.send(json.dumps({"assets_ids": asset_ids, "operation": "subscribe"}))

    async def _rest_resync(self, ws: ClientConnection, asset_ids: list[str]) -> None:
        """A REST snapshot per token; the tokens it could not resync are resubscribed."""
        assert self.clob is not None
        failed: list[str] = []
        for asset_id in asset_ids:
            request = book_request(asset_id)
            body = await self.clob.get(request)  # a failure is logged and counted there
            if body is not None:
                outcome = await self.deliver(body, source="rest", path=request.path)
                if not getattr(outcome, "errors", None):
                    self.rest_resyncs += 1
                    continue
            failed.append(asset_id)
        if failed:
            self.resubscribe_fallbacks += len(failed)
            log.warning(
                "polymarket shard %d: no REST snapshot for %d token(s); resubscribing instead",
                self.shard_index,
                len(failed),
            )
            with contextlib.suppress(ConnectionClosed):  # the reconnect subscribes everything again
                await self._resubscribe(ws, failed)

    async def on_session_end(self) -> None:
        for task in list(self._resyncs):
            task.cancel()
        await asyncio.gather(*self._resyncs, return_exceptions=True)


def polymarket_connectors(
    url: str,
    asset_ids: Sequence[str],
    sink: FrameSink,
    timing: ConnectorTiming | None = None,
    *,
    max_assets: int = MAX_ASSETS_PER_CONNECTION,
    clob: RestClient | None = None,
) -> list[PolymarketConnector]:
    """One connector per shard of ``asset_ids`` (at least one, even with no assets).

    The shards share ``clob`` (one REST budget for the venue).
    """
    shards = shard(asset_ids, max_assets) or [[]]
    return [
        PolymarketConnector(url, ids, sink, timing, shard_index=i, clob=clob) for i, ids in enumerate(shards)
    ]
