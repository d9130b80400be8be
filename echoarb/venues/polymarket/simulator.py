"""Polymarket CLOB market-channel simulator: ``book`` snapshots, ``price_change`` streams, PONG.

Initial books arrive as one JSON array frame (as the real server sends them), with their
``tick_size``; updates use the current ``price_changes`` format (each entry with the book's
``best_bid``/``best_ask``: "0" for no bid, "1" for no ask), every third one wrapped in an
array, every fifth one in the pre-Sept-2025 format (``asset_id`` + ``changes``) and every
seventh in the flat 2024 format (``asset_id``, ``price``, ``side``, ``size`` at the top).
``last_trade_price`` follows some updates, and once per connection a ``tick_size_change``
(to 0.001: the cent prices stay valid); with ``custom_feature_enabled`` in the subscription
the server also sends ``best_bid_ask`` after some updates and a ``new_market`` once, as the
real one does.

The same port answers the REST the connectors read, in the venue's shapes: Gamma ``GET
/markets?clob_token_ids=..`` (a JSON array of markets: ``endDate``, ``closed``,
``acceptingOrders``, ``orderPriceMinTickSize``, list fields as JSON strings) and the CLOB
``GET /book?token_id=..`` (the ``book`` fields without ``event_type``; 404 ``{"error": "No
orderbook exists for the requested token id"}`` for an unknown token). ``markets`` pairs
token ids into one market (YES, NO); ``market_overrides`` changes a market's Gamma fields.
For discovery, ``GET /markets`` without ``clob_token_ids`` and ``GET /events`` list the model's
markets (``echoarb.venues.sim_listing``) with Gamma's offset paging (``limit``, ``offset``,
``closed=false``): question, description, ``endDate``, ``feeSchedule`` and the negRisk fields;
an event per pair, negRisk when the pair is categorical.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from echoarb.venues.polymarket import messages
from echoarb.venues.polymarket.messages import price as _price
from echoarb.venues.sim_listing import SimMarket, iso
from echoarb.venues.simulator import Session, VenueSimulator, int_param, json_response

END_DATE = "2100-01-01T00:00:00Z"


class PolymarketSimulator(VenueSimulator):
    venue = "polymarket"
    ws_path = "/ws/market"

    def __init__(self, *args: Any, markets: list[list[str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.books: dict[str, tuple[dict[int, int], dict[int, int]]] = {}  # asset -> (bids, asks)
        self.pings = 0
        self.market_of: dict[str, list[str]] = {}  # token -> the market's tokens (YES, NO)
        listed = [[m.instrument, m.no_instrument] for m in self.listed]  # the model's, as discover lists them
        for tokens in [*listed, *(markets or [])]:
            for token in tokens:
                self.market_of[token] = list(tokens)
        self.market_overrides: dict[str, dict[str, Any]] = {}  # any of a market's tokens -> fields
        self.book_unknown: set[str] = set()  # tokens whose REST /book answers 404

    # -- REST ---------------------------------------------------------------------------------
    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path, _, query = request.path.partition("?")
        if path == self.ws_path:
            return None
        failure = self.rest_failure(request.path)
        if failure is not None:
            return failure
        params = parse_qs(query)
        if path == "/book":
            token = (params.get("token_id") or [""])[0]
            if not token or token in self.book_unknown:
                return json_response(404, {"error": "No orderbook exists for the requested token id"})
            return json_response(200, messages.rest_book(self._book_event(token)))
        if path == "/events":
            return self._page(self._events(), params)
        if path == "/markets" and "clob_token_ids" not in params:
            return self._page([self._listed_market(m) for m in self.listed], params)
        if path == "/markets":
            wanted = params.get("clob_token_ids") or []
            seen: set[str] = set()
            body = []
            for token in wanted:
                if token in seen:
                    continue
                tokens = self.market_of.get(token, [token])
                seen.update(tokens)
                overrides: dict[str, Any] = {}
                for t in tokens:
                    overrides.update(self.market_overrides.get(t, {}))
                listed = next((m for m in self.listed if token in (m.instrument, m.no_instrument)), None)
                end = END_DATE if listed is None else iso(listed.resolve_s)
                body.append(
                    messages.gamma_market(self._market(tokens[0]), tokens, end_date=end, extra=overrides)
                )
            return json_response(200, body)
        return json_response(404, {"error": "not found"})

    # -- discovery listing ------------------------------------------------------------------------
    def _page(self, items: list[dict[str, Any]], params: dict[str, list[str]]) -> Response:
        """Gamma's offset paging: ``limit``/``offset``; ``closed=false`` keeps the open ones."""
        if (params.get("closed") or [""])[0] == "false":
            items = [item for item in items if item.get("closed") is not True]
        offset = int_param(params, "offset", 0)
        limit = int_param(params, "limit", 100) or 100
        return json_response(200, items[offset : offset + limit])

    def _listed_market(self, market: SimMarket) -> dict[str, Any]:
        """A Gamma market body of a listed market (list fields as JSON strings, as Gamma sends them)."""
        tokens = [market.instrument, market.no_instrument]
        fields: dict[str, Any] = {
            "question": market.question,
            "slug": f"{market.event}-{market.instrument[:8]}" if market.neg_risk else market.event,
            "description": market.rules,
            "resolutionSource": "",
            "startDate": iso(market.open_s),
            "volumeNum": 1000.0,
            "liquidityNum": 500.0,
            "negRisk": market.neg_risk,
            "negRiskOther": False,
        }
        if market.fee_rate is not None:
            fields["feeSchedule"] = {"rate": str(market.fee_rate), "exponent": market.fee_exponent}
        for token in tokens:
            fields.update(self.market_overrides.get(token, {}))
        return messages.gamma_market(
            self._market(market.instrument), tokens, end_date=iso(market.resolve_s), extra=fields
        )

    def _events(self) -> list[dict[str, Any]]:
        """``GET /events``: one event per simulated pair, its markets nested (negRisk when categorical)."""
        events: dict[str, dict[str, Any]] = {}
        for market in self.listed:
            event = events.setdefault(
                market.event,
                {
                    "id": str(len(events) + 1),
                    "slug": market.event,
                    "title": market.question,
                    "description": market.rules,
                    "startDate": iso(market.open_s),
                    "endDate": iso(market.resolve_s),
                    "active": True,
                    "closed": False,
                    "negRisk": market.neg_risk,
                    "enableNegRisk": market.neg_risk,
                    "negRiskAugmented": False,
                    "markets": [],
                },
            )
            event["markets"].append(self._listed_market(market))
        return list(events.values())

    def _book(self, asset: str) -> tuple[dict[int, int], dict[int, int]]:
        book = self.books.get(asset)
        target = self.target_book(asset) if book is None else None
        if target is not None:
            book = self.books[asset] = (dict(target[0]), dict(target[1]))
        elif book is None:
            mid = self.rng.randint(25, 75)
            bids = {mid - 2 - i: self.rng.randint(1, 40) * 10 for i in range(3)}
            asks = {mid + 2 + i: self.rng.randint(1, 40) * 10 for i in range(3)}
            book = self.books[asset] = (bids, asks)
        return book

    def _book_event(self, asset: str) -> messages.Event:
        bids, asks = self._book(asset)
        now = time.time_ns() // 1_000_000
        market = self._market(asset)
        return messages.book(market, asset, bids, asks, now, f"{self.sent:040x}", tick_size="0.01")

    @staticmethod
    def _market(asset: str) -> str:
        return f"0x{sum(map(ord, asset)) * 7919 % 16**16:016x}"

    async def on_message(self, session: Session, text: str) -> None:
        if text.strip().upper() == "PING":
            self.pings += 1
            await self.send(session, messages.PONG)
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
        if cmd.get("custom_feature_enabled") is True:
            session.state["custom"] = True
        if ids:
            await self.send(session, messages.frame([self._book_event(a) for a in ids], array=True))
        session.subscribed.set()

    async def send_update(self, session: Session) -> None:
        assets = sorted(session.state.get("assets", ()))
        if not assets:
            return
        asset = self.rng.choice(assets)
        bids, asks = self._book(asset)
        target = self.target_book(asset)
        if target is not None:
            await self._move_to(session, asset, bids, asks, target)
            return
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
        now = time.time_ns() // 1_000_000
        side = "BUY" if buy else "SELL"
        market = self._market(asset)
        top_bid = _price(max(bids)) if bids else "0"
        top_ask = _price(min(asks)) if asks else "1"
        n = self.sent
        if n % 7 == 6:  # the flat 2024 format
            event = messages.flat_price_change(asset, market, price, size, side, now, f"{n:040x}")
        elif n % 5 == 4:
            event = messages.legacy_price_change(asset, market, [(price, side, size)], now, None)
        else:
            entry = messages.price_change_entry(asset, price, size, side, f"{n:040x}", top_bid, top_ask)
            event = messages.price_change(market, [entry], now)
        await self.send(session, messages.frame([event], array=n % 3 == 2))
        if n % 11 == 10:
            trade = messages.last_trade_price(asset, market, price, side, 5, now)
            await self.send(session, messages.frame([trade]))
        if n % 30 == 29 and not session.state.get("tick_changed"):  # to 0.001: cent prices stay valid
            session.state["tick_changed"] = True
            tick = {"event_type": "tick_size_change", "asset_id": asset, "market": market}
            tick.update(old_tick_size="0.01", new_tick_size="0.001", timestamp=str(now))
            await self.send(session, messages.frame([tick]))
        if session.state.get("custom") and n % 50 == 49 and not session.state.get("new_market"):
            session.state["new_market"] = True
            fresh: dict[str, Any] = {"event_type": "new_market", "id": "1", "question": "Simulated?"}
            fresh.update(market="0xsim", slug="simulated", assets_ids=["sim-yes", "sim-no"])
            fresh.update(outcomes=["Yes", "No"], order_price_min_tick_size="0.01", timestamp=str(now))
            await self.send(session, messages.frame([fresh]))
        if session.state.get("custom") and n % 4 == 3:
            spread = _price(min(asks) - max(bids)) if bids and asks else "1"
            bba = messages.best_bid_ask(market, asset, top_bid, top_ask, spread, now)
            await self.send(session, messages.frame([bba]))

    async def _move_to(
        self,
        session: Session,
        asset: str,
        bids: dict[int, int],
        asks: dict[int, int],
        target: tuple[dict[int, int], dict[int, int]],
    ) -> None:
        """One ``price_change`` carrying every level that differs from the model's book."""
        changes = []
        for levels, goal, side in ((bids, target[0], "BUY"), (asks, target[1], "SELL")):
            for price in sorted(set(levels) | set(goal)):
                size = goal.get(price, 0)
                if levels.get(price, 0) == size:
                    continue
                if size:
                    levels[price] = size
                else:
                    levels.pop(price, None)
                changes.append({"asset_id": asset, "price": _price(price), "size": str(size), "side": side})
        if not changes:
            return
        best_bid, best_ask = _price(max(bids or {1: 0})), _price(min(asks or {99: 0}))
        event = {
            "event_type": "price_change",
            "market": "0xabc",
            "timestamp": str(time.time_ns() // 1_000_000),
            "price_changes": [
                {**change, "hash": f"{self.sent:040x}", "best_bid": best_bid, "best_ask": best_ask}
                for change in changes
            ],
        }
        await self.send(session, messages.dumps(event))

    def malformed(self) -> str:
        return messages.MALFORMED
