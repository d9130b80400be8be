"""Kalshi WebSocket v2 producer agent: signed upgrade, one subscription per channel.

A pair needs its market's book and its lifecycle (open, close, halts, settlement, tick
changes), nothing else, so the agent subscribes exactly two channels:

* ``orderbook_delta`` (needs the authenticated upgrade) for the configured tickers;
* ``market_lifecycle_v2`` (public), which takes no ticker filter: the venue sends every
  market's lifecycle and the normaliser keeps the configured ones.

``ticker`` and ``trade`` would only duplicate what the book says and are not subscribed.
When the parser finds a book out of sync (``seq`` gap, a delta on a level it does not hold)
the only cure is a fresh snapshot, so the order book subscription is dropped and made again
(the venue answers a new subscription with snapshots and a new ``sid``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from urllib.parse import quote, urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.client import ClientConnection

from echoarb.venues.connector import ConnectorTiming, FrameSink, VenueConnector
from echoarb.venues.kalshi.auth import auth_headers
from echoarb.venues.rest import RestRequest

log = logging.getLogger("echoarb.kalshi")

CHANNELS = ("orderbook_delta", "market_lifecycle_v2")
BOOK_CHANNELS = frozenset({"orderbook_delta"})  # per market, authenticated
DEFAULT_URL = "wss://api.elections.kalshi.com/trade-api/ws/v2"


def metadata_requests(tickers: Sequence[str]) -> list[RestRequest]:
    """``GET /markets/{ticker}`` (public, no signature) for each configured market.

    One request per ticker: its ``close_time`` is the only word on when trading stops (the
    feed sends nothing then), ``status`` says whether it trades now, and
    ``price_level_structure``/``price_ranges`` give its tick.
    """
    return [RestRequest(f"/markets/{quote(t, safe='')}", "markets") for t in sorted(set(tickers))]


class KalshiConnector(VenueConnector):
    venue = "kalshi"

    def __init__(
        self,
        url: str,
        key: rsa.RSAPrivateKey,
        key_id: str,
        tickers: Sequence[str],
        sink: FrameSink,
        timing: ConnectorTiming | None = None,
    ) -> None:
        super().__init__(url, sink, timing)
        if not key_id:
            raise ValueError("Kalshi key id (KALSHI_API_KEY) is empty")
        self._key = key
        self._key_id = key_id
        self.tickers = sorted(tickers)
        self._path = urlsplit(url).path or "/"
        self._cmd_id = 0
        self.sids: dict[str, int] = {}  # channel -> sid of the current connection

    def __repr__(self) -> str:  # never show the key
        return f"KalshiConnector(url={self.url!r}, tickers={len(self.tickers)})"

    def handshake_headers(self) -> dict[str, str]:
        return auth_headers(self._key, self._key_id, "GET", self._path)

    async def _command(self, ws: ClientConnection, cmd: str, params: dict[str, object]) -> None:
        self._cmd_id += 1
        await ws.send(json.dumps({"id": self._cmd_id, "cmd": cmd, "params": params}, separators=(",", ":")))

    async def on_open(self, ws: ClientConnection) -> None:
        self.sids = {}
        for channel in CHANNELS:
            params: dict[str, object] = {"channels": [channel]}
            if channel in BOOK_CHANNELS:
                params["market_tickers"] = self.tickers
            await self._command(ws, "subscribe", params)

    async def send_ping(self, ws: ClientConnection) -> None:
        pong = asyncio.ensure_future(await ws.ping())  # resolves when the pong arrives
        pong.add_done_callback(lambda fut: None if fut.cancelled() or fut.exception() else self.touch())

    def on_text(self, text: str) -> None:
        if '"subscribed"' not in text[:40]:
            return
        try:
            msg = json.loads(text).get("msg") or {}
            self.sids[str(msg["channel"])] = int(msg["sid"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return  # the parser reports malformed frames

    async def on_resync(self, ws: ClientConnection, instruments: list[str]) -> None:
        sid = self.sids.pop("orderbook_delta", None)
        if sid is not None:
            await self._command(ws, "unsubscribe", {"sids": [sid]})
        await self._command(
            ws, "subscribe", {"channels": ["orderbook_delta"], "market_tickers": self.tickers}
        )
