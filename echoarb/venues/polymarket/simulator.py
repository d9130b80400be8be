"""Polymarket CLOB market-channel simulator: ``book`` snapshots, ``price_change`` streams, PONG.

Initial books arrive as one JSON array frame (as the real server sends them); updates use
the current ``price_changes`` format, every third one wrapped in an array and every fifth
one in the pre-Sept-2025 format (``asset_id`` + ``changes`` at the top level).
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

from echoarb.venues.simulator import Session, VenueSimulator, dumps


def _price(cents: int) -> str:
    """50 -> "0.5", 41 -> "0.41": decimal strings as the CLOB prints them."""
    return f"{Decimal(cents).scaleb(-2).normalize():f}"


class PolymarketSimulator(VenueSimulator):
    venue = "polymarket"
    ws_path = "/ws/market"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.books: dict[str, tuple[dict[int, int], dict[int, int]]] = {}  # asset -> (bids, asks)
        self.pings = 0

    def _book(self, asset: str) -> tuple[dict[int, int], dict[int, int]]:
        book = self.books.get(asset)
        if book is None:
            mid = self.rng.randint(25, 75)
            bids = {mid - 2 - i: self.rng.randint(1, 40) * 10 for i in range(3)}
            asks = {mid + 2 + i: self.rng.randint(1, 40) * 10 for i in range(3)}
            book = self.books[asset] = (bids, asks)
        return book

    def _book_event(self, asset: str) -> dict[str, Any]:
        bids, asks = self._book(asset)
        return {
            "event_type": "book",
            "asset_id": asset,
            "market": f"0x{abs(hash(asset)) % 16**16:016x}",
            "bids": [{"price": _price(p), "size": str(s)} for p, s in sorted(bids.items())],
            "asks": [{"price": _price(p), "size": str(s)} for p, s in sorted(asks.items(), reverse=True)],
            "timestamp": str(time.time_ns() // 1_000_000),
            "hash": f"{self.sent:040x}",
        }

    async def on_message(self, session: Session, text: str) -> None:
        if text.strip().upper() == "PING":
            self.pings += 1
            await self.send(session, "PONG")
            return
        try:
            cmd = json.loads(text)
        except ValueError:
            return  # the real server ignores junk
        if not isinstance(cmd, dict):
            return
        self.commands.append(cmd)
        ids = [i for i in cmd.get("assets_ids") or [] if isinstance(i, str)]
        subscribed: set[str] = session.state.setdefault("assets", set())
        if cmd.get("operation") == "unsubscribe":
            subscribed.difference_update(ids)
            return
        subscribed.update(ids)
        if ids:
            await self.send(session, dumps([self._book_event(a) for a in ids]))
        session.subscribed.set()

    async def send_update(self, session: Session) -> None:
        assets = sorted(session.state.get("assets", ()))
        if not assets:
            return
        asset = self.rng.choice(assets)
        bids, asks = self._book(asset)
        buy = self.rng.random() < 0.5
        levels = bids if buy else asks
        best_bid, best_ask = max(bids or {1: 0}), min(asks or {99: 0})
        if levels and self.rng.random() < 0.7:
            price = self.rng.choice(sorted(levels))
        else:
            price = best_bid - 1 if buy else best_ask + 1
        price = min(98, max(2, price))
        size = 0 if (len(levels) > 2 and self.rng.random() < 0.15) else self.rng.randint(1, 60) * 5
        if size:
            levels[price] = size
        else:
            levels.pop(price, None)
        now = str(time.time_ns() // 1_000_000)
        change = {"price": _price(price), "size": str(size), "side": "BUY" if buy else "SELL"}
        n = self.sent
        if n % 5 == 4:
            event: dict[str, Any] = {
                "event_type": "price_change",
                "asset_id": asset,
                "market": "0xabc",
                "changes": [change],
                "timestamp": now,
            }
        else:
            event = {
                "event_type": "price_change",
                "market": "0xabc",
                "timestamp": now,
                "price_changes": [
                    {
                        "asset_id": asset,
                        **change,
                        "hash": f"{n:040x}",
                        "best_bid": _price(max(bids or {1: 0})),
                        "best_ask": _price(min(asks or {99: 0})),
                    }
                ],
            }
        await self.send(session, dumps([event] if n % 3 == 2 else event))

    def malformed(self) -> str:
        return '[{"event_type":"price_change","market":"0x5f65177b394277fd294cd75650044e32ba00'
