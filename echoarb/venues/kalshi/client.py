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

**Public-only mode** (no key: ``key=None``): the upgrade is not signed and only public
channels are subscribed, ``ticker`` for the configured tickers and ``market_lifecycle_v2``.
Without ``orderbook_delta`` there is no depth: the parser quotes each market from its ticker's
best bid and ask, one placeholder contract per side and ``in_sync=False``, so a Kalshi leg is
a signal, never executable (see ``KalshiProtocol``). ``trade`` is public too but says nothing
a quote needs. Kalshi's docs disagree on whether an unsigned connection is accepted (the
WebSocket quick start: yes, for public channels; the AsyncAPI connection page: no); a refusal
is a fatal, clear error naming the settings to set.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from urllib.parse import quote, urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidStatus

from echoarb.venues.connector import ConnectorTiming, FrameSink, VenueConnector
from echoarb.venues.kalshi.auth import auth_headers
from echoarb.venues.rest import RestRequest

log = logging.getLogger("echoarb.kalshi")

CHANNELS = ("orderbook_delta", "market_lifecycle_v2")
PUBLIC_CHANNELS = ("ticker", "market_lifecycle_v2")  # no key: no order book
PER_MARKET_CHANNELS = frozenset({"orderbook_delta", "ticker"})  # take market_tickers
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
        key: rsa.RSAPrivateKey | None,
        key_id: str,
        tickers: Sequence[str],
        sink: FrameSink,
        timing: ConnectorTiming | None = None,
    ) -> None:
        super().__init__(url, sink, timing)
        if key is not None and not key_id:
            raise ValueError("Kalshi key id (KALSHI_API_KEY) is empty")
        self.public_only = key is None
        self.channels = PUBLIC_CHANNELS if self.public_only else CHANNELS
        self._key = key
        self._key_id = key_id
        self.tickers = sorted(tickers)
        self._path = urlsplit(url).path or "/"
        self._cmd_id = 0
        self.sids: dict[str, int] = {}  # channel -> sid of the current connection

    def __repr__(self) -> str:  # never show the key
        return f"KalshiConnector(url={self.url!r}, tickers={len(self.tickers)})"

    def handshake_headers(self) -> dict[str, str]:
        if self._key is None:
            return {}  # public-only mode: an unsigned upgrade
        return auth_headers(self._key, self._key_id, "GET", self._path)

    def _auth_message(self, status: int, exc: InvalidStatus) -> str:
        message = super()._auth_message(status, exc)
        if self.public_only:
            message += (
                " (public-only mode: this endpoint wants a signed connection; set KALSHI_API_KEY and "
                "KALSHI_PRIVATE_KEY_PATH, see `echoarb keys`)"
            )
        return message

    async def _command(self, ws: ClientConnection, cmd: str, params: dict[str, object]) -> None:
        self._cmd_id += 1
        await ws.send(json.dumps({"id": self._cmd_id, "cmd": cmd, "params": params}, separators=(",", ":")))

    async def on_open(self, ws: ClientConnection) -> None:
        self.sids = {}
        for channel in self.channels:
            params: dict[str, object] = {"channels": [channel]}
            if channel in PER_MARKET_CHANNELS:
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
        if self.public_only:  # no order book to resync: ticker quotes replace each other
            log.warning("kalshi: resync for %s in public-only mode: no book to resubscribe", instruments)
            return
        sid = self.sids.pop("orderbook_delta", None)
        if sid is not None:
            await self._command(ws, "unsubscribe", {"sids": [sid]})
        await self._command(
            ws, "subscribe", {"channels": ["orderbook_delta"], "market_tickers": self.tickers}
        )
