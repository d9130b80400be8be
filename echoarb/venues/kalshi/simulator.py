"""Kalshi v2 WebSocket simulator: verifies the RSA-PSS signed upgrade, then streams books.

The upgrade is refused with HTTP 401 when a ``KALSHI-ACCESS-*`` header is missing, the key
id is unknown, the timestamp is stale (more than ``max_skew_ms`` off) or the signature does
not verify against the configured public key. Books are served as snapshots (fixed-point
format) on subscribe, then deltas in the 2026 format (``price_dollars``/``delta_fp`` and
``ts_ms`` only) with every third one in the legacy integer format (``price``/``delta``, ``ts``
seconds) that old recordings hold, ``seq`` per subscription id, plus ``ticker`` messages. A
``market_lifecycle_v2`` subscription (all markets, as the venue does) gets each market's
``created`` event with its open and close times and ``price_level_structure`` (after one
``event_lifecycle``), then now and then a ``close_date_updated`` or a
``price_level_structure_updated`` (the same structure: the prices stay valid).

The same port answers the public REST market metadata, as the venue's
``/trade-api/v2``: ``GET /markets/{ticker}`` (``{"market": {...}}``) and ``GET
/markets?tickers=A,B`` (``{"markets": [...], "cursor": ""}``), with the same open and close
times the lifecycle channel announces; ``market_overrides`` changes fields per ticker (a
market closed or paused by the venue), ``known_tickers`` limits which exist (others: 404).
For discovery it also lists the model's markets (``echoarb.venues.sim_listing``): ``GET
/markets?status=open&limit=N`` without ``tickers`` pages them by an opaque ``cursor`` ("" on
the last page), with title, rules and ``expected_expiration_time``; ``GET /series`` gives
each one's series with its fee schedule (``fee_type``, ``fee_multiplier``).

An upgrade with no ``KALSHI-ACCESS-*`` header at all is accepted (``allow_public``) for the
public channels: ``ticker`` (one message per market on subscribe, then one per book change)
and ``market_lifecycle_v2``; ``orderbook_delta`` on such a connection is refused with error
code 9, "Authentication required", as the venue documents.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, unquote

from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from echoarb.venues.kalshi import messages
from echoarb.venues.kalshi.auth import WS_PATH, verify
from echoarb.venues.simulator import Scenario, Session, VenueSimulator, int_param, json_response

REST_PREFIX = "/trade-api/v2"
PRIVATE_CHANNELS = frozenset({"orderbook_delta", "fill", "market_positions", "communications"})
PER_MARKET = frozenset({"orderbook_delta", "ticker"})


def _authenticated(session: Session) -> bool:
    """Signed upgrades were verified before the handshake; unsigned ones carry no key header."""
    request = session.ws.request
    return request is not None and request.headers.get("KALSHI-ACCESS-KEY") is not None


@dataclass
class _Book:
    yes: dict[int, int] = field(default_factory=dict)  # price cents -> contracts (bids)
    no: dict[int, int] = field(default_factory=dict)


class KalshiSimulator(VenueSimulator):
    venue = "kalshi"
    ws_path = WS_PATH

    def __init__(
        self,
        public_key: rsa.RSAPublicKey,
        scenarios: list[Scenario] | None = None,
        *,
        key_id: str | None = None,
        max_skew_ms: int = 10_000,
        interval: float = 0.05,
        seed: int = 7,
        model: Any = None,
        allow_public: bool = True,
    ) -> None:
        super().__init__(scenarios, interval=interval, seed=seed, model=model)
        #: An upgrade without any KALSHI-ACCESS-* header is accepted for public channels (the
        #: docs' WebSocket quick start); False refuses it with 401 (their AsyncAPI page).
        self.allow_public = allow_public
        self.public_key = public_key
        self.key_id = key_id
        self.max_skew_ms = max_skew_ms
        self.rejected: list[str] = []  # reasons of refused upgrades
        self.books: dict[str, _Book] = {}
        self.known_tickers: set[str] | None = None  # None: every ticker exists
        self.market_overrides: dict[str, dict[str, Any]] = {}  # ticker -> REST fields to replace
        self._times: dict[str, tuple[int, int]] = {}  # ticker -> (open, close) epoch seconds

    # -- auth ------------------------------------------------------------------------------------
    def times(self, ticker: str) -> tuple[int, int]:
        """(open, close) in epoch seconds: fixed per ticker, moved by ``close_date_updated``."""
        found = self._times.get(ticker)
        if found is None:
            now_s = time.time_ns() // 1_000_000_000
            found = self._times[ticker] = (now_s - 3600, now_s + 86_400)
        return found

    def rest_market(self, ticker: str) -> dict[str, Any]:
        open_s, close_s = self.times(ticker)
        book = self._book(ticker)
        yes_bid = max(book.yes) if book.yes else None
        yes_ask = 100 - max(book.no) if book.no else None
        return messages.rest_market(
            ticker,
            open_s=open_s,
            close_s=close_s,
            yes_bid=yes_bid,
            yes_ask=yes_ask,
            extra={**self._listed(ticker), **self.market_overrides.get(ticker, {})},
        )

    def _listed(self, ticker: str) -> dict[str, Any]:
        """A listed market's discovery fields (title, rules, expected expiration, event)."""
        for market in self.listed:
            if market.instrument == ticker:
                return {
                    "title": market.question,
                    "event_ticker": market.event,
                    "rules_primary": market.rules,
                    "expected_expiration_time": messages.iso(market.resolve_s),
                    "latest_expiration_time": messages.iso(market.resolve_s + 7 * 86_400),
                    "volume_fp": "1000.00",
                    "open_interest_fp": "500.00",
                }
        return {}

    def _rest(self, path: str) -> Response:
        route, _, query = path[len(REST_PREFIX) :].partition("?")
        parts = [p for p in route.split("/") if p]
        params = parse_qs(query)
        if parts == ["series"]:
            return json_response(200, {"series": self._series(), "cursor": ""})
        if parts[:1] != ["markets"] or len(parts) > 2:
            return json_response(404, messages.rest_error("not_found", "not found"))
        if len(parts) == 2:
            ticker = unquote(parts[1])
            if self.known_tickers is not None and ticker not in self.known_tickers:
                return json_response(404, messages.rest_error("not_found", "market not found"))
            return json_response(200, {"market": self.rest_market(ticker)})
        if "tickers" not in params:
            return self._list_markets(params)
        wanted = params.get("tickers", [""])[0]
        tickers = [t for t in wanted.split(",") if t]
        known = [t for t in tickers if self.known_tickers is None or t in self.known_tickers]
        return json_response(200, {"markets": [self.rest_market(t) for t in known], "cursor": ""})

    def _list_markets(self, params: dict[str, list[str]]) -> Response:
        """``GET /markets?status=open&limit=N&cursor=C``: the listed markets, cursor paged."""
        cursor = (params.get("cursor") or [""])[0]
        start = 0
        if cursor:
            if not cursor.startswith("sim-") or not cursor[4:].isdigit():
                return json_response(400, messages.rest_error("bad_request", "invalid cursor"))
            start = int(cursor[4:])
        limit = min(int_param(params, "limit", 100) or 100, 1000)
        status = (params.get("status") or [""])[0]
        bodies = [self.rest_market(m.instrument) for m in self.listed]
        if status == "open":  # the query's "open" is the body's "active" (docs.kalshi.com)
            bodies = [b for b in bodies if b.get("status") in ("active", "open")]
        page = bodies[start : start + limit]
        more = start + limit < len(bodies)
        return json_response(200, {"markets": page, "cursor": f"sim-{start + limit}" if more else ""})

    def _series(self) -> list[dict[str, Any]]:
        """``GET /series``: one series per listed market's ticker prefix, with its fee schedule."""
        out: dict[str, dict[str, Any]] = {}
        for market in self.listed:
            ticker = market.event.split("-", 1)[0]
            ratio = Decimal(1) if market.fee_rate is None else market.fee_rate / Decimal("0.07")
            multiplier: int | float = int(ratio) if ratio == int(ratio) else round(float(ratio), 4)
            out.setdefault(
                ticker,
                {
                    "ticker": ticker,
                    "frequency": "custom",
                    "title": f"Simulated series {ticker}",
                    "category": "Simulated",
                    "tags": [],
                    "settlement_sources": [{"name": "EchoArb simulator", "url": ""}],
                    "contract_url": "",
                    "fee_type": "quadratic",
                    "fee_multiplier": multiplier,
                },
            )
        return list(out.values())

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.startswith(REST_PREFIX + "/"):  # public market data: no signature needed
            return self.rest_failure(request.path) or self._rest(request.path)
        reason = self._auth_problem(request)
        if reason is None:
            return None
        self.rejected.append(reason)
        return connection.respond(401, f"authentication failed: {reason}\n")

    def _auth_problem(self, request: Request) -> str | None:
        headers = request.headers
        key_id = headers.get("KALSHI-ACCESS-KEY")
        ts = headers.get("KALSHI-ACCESS-TIMESTAMP")
        signature = headers.get("KALSHI-ACCESS-SIGNATURE")
        if not key_id and not ts and not signature and self.allow_public:
            return None  # unauthenticated: public channels only
        if not key_id or not ts or not signature:
            return "missing KALSHI-ACCESS-* headers"
        if self.key_id is not None and key_id != self.key_id:
            return "unknown key id"
        if not ts.isdigit() or abs(int(ts) - time.time_ns() // 1_000_000) > self.max_skew_ms:
            return "stale or invalid timestamp"
        path = request.path.split("?", 1)[0]
        if not verify(self.public_key, ts + "GET" + path, signature):
            return "invalid signature"
        return None

    # -- commands ---------------------------------------------------------------------------------
    def _book(self, ticker: str) -> _Book:
        book = self.books.get(ticker)
        target = self.target_book(ticker) if book is None else None
        if target is not None:
            bids, asks = target
            book = self.books[ticker] = _Book(yes=dict(bids), no={100 - p: q for p, q in asks.items()})
        elif book is None:
            mid = self.rng.randint(25, 75)
            book = self.books[ticker] = _Book(
                yes={mid - 2 - i: self.rng.randint(1, 40) * 10 for i in range(3)},
                no={100 - mid - 2 - i: self.rng.randint(1, 40) * 10 for i in range(3)},
            )
        return book

    async def on_message(self, session: Session, text: str) -> None:
        try:
            cmd = json.loads(text)
        except ValueError:
            await self.send(session, messages.error(None, 1, "bad JSON"))
            return
        self.commands.append(cmd)
        st = session.state
        st.setdefault("next_sid", 1)
        st.setdefault("subs", {})  # sid -> (channel, tickers)
        st.setdefault("seq", {})
        params = cmd.get("params") or {}
        if cmd.get("cmd") == "subscribe":
            tickers = list(params.get("market_tickers") or [])
            for channel in params.get("channels") or []:
                if channel in PRIVATE_CHANNELS and not _authenticated(session):
                    await self.send(session, messages.error(cmd.get("id"), 9, "Authentication required"))
                    continue
                sid = st["next_sid"]
                st["next_sid"] += 1
                st["subs"][sid] = (channel, tickers)
                st["seq"][sid] = 0
                await self.send(session, messages.subscribed(cmd.get("id"), channel, sid))
                if channel == "orderbook_delta":
                    for ticker in tickers:
                        await self._snapshot(session, sid, ticker)
                elif channel == "ticker":
                    for ticker in tickers:
                        await self._send_ticker(session, sid, ticker)
                elif channel == "market_lifecycle_v2":
                    event = {"event_ticker": "KXSIM-EVENT", "exchange_index": 0, "title": "Simulated"}
                    event.update(subtitle="", collateral_return_type="MECNET", series_ticker="KXSIM")
                    await self.send(
                        session, messages.dumps({"type": "event_lifecycle", "sid": sid, "msg": event})
                    )
                    for ticker in self.lifecycle_tickers(session):
                        await self._lifecycle(session, sid, ticker, "created")
            session.subscribed.set()
        elif cmd.get("cmd") == "unsubscribe":
            for sid in params.get("sids") or []:
                st["subs"].pop(sid, None)
                await self.send(session, messages.unsubscribed(cmd.get("id"), sid))
        else:
            await self.send(session, messages.error(cmd.get("id"), 2, "Params required"))

    def lifecycle_tickers(self, session: Session) -> list[str]:
        """Markets the lifecycle channel talks about: every book served on this connection."""
        subs = session.state.get("subs", {})
        return sorted({t for name, tickers in subs.values() if name in PER_MARKET for t in tickers})

    async def _lifecycle(self, session: Session, sid: int, ticker: str, event_type: str) -> None:
        now_s = time.time_ns() // 1_000_000_000
        open_s, close_s = self.times(ticker)
        if event_type == "created":
            frame = messages.market_lifecycle(
                sid,
                ticker,
                event_type,
                open_ts=open_s,
                close_ts=close_s,
                price_level_structure="linear_cent",
                price_ranges=[{"start": "0.0000", "end": "1.0000", "step": "0.0100"}],
            )
        elif event_type == "close_date_updated":
            self._times[ticker] = (open_s, now_s + 86_400 + self.sent)
            frame = messages.market_lifecycle(sid, ticker, event_type, close_ts=self._times[ticker][1])
        elif event_type == "price_level_structure_updated":  # the same structure: prices stay valid
            frame = messages.market_lifecycle(
                sid,
                ticker,
                event_type,
                price_level_structure="linear_cent",
                price_ranges=[{"start": "0.0000", "end": "1.0000", "step": "0.0100"}],
            )
        else:
            frame = messages.market_lifecycle(sid, ticker, event_type)
        await self.send(session, frame)

    def _next_seq(self, session: Session, sid: int) -> int:
        seq: dict[int, int] = session.state["seq"]
        seq[sid] += 1
        return seq[sid]

    async def _snapshot(self, session: Session, sid: int, ticker: str) -> None:
        book = self._book(ticker)
        seq = self._next_seq(session, sid)
        await self.send(
            session, messages.orderbook_snapshot(sid, seq, ticker, f"id-{ticker.lower()}", book.yes, book.no)
        )

    def _sid(self, session: Session, channel: str) -> tuple[int, list[str]] | None:
        for sid, (name, tickers) in session.state.get("subs", {}).items():
            if name == channel and tickers:
                return sid, tickers
        return None

    async def _send_ticker(self, session: Session, sid: int, ticker: str) -> None:
        """The ``ticker`` message of a market's current top of book (2026: with dollar fields)."""
        book = self._book(ticker)
        best_yes = max(book.yes or {0: 0})
        best_no = max(book.no or {0: 0})
        body = messages.ticker(
            sid,
            self._next_seq(session, sid),
            ticker,
            price=best_yes or 1,
            yes_bid=best_yes,
            yes_ask=100 - best_no,
            volume=1000 + self.sent,
            open_interest=500,
            ts=time.time_ns() // 1_000_000_000,
            with_dollars=True,
        )
        await self.send(session, body)

    async def send_update(self, session: Session) -> None:
        found = self._sid(session, "orderbook_delta")
        if found is None:
            public = self._sid(session, "ticker")  # public-only: the book moves, tickers tell
            if public is not None:
                ticker = self.rng.choice(public[1])
                self._random_change(self._book(ticker))
                await self._send_ticker(session, public[0], ticker)
            return
        sid, tickers = found
        ticker = self.rng.choice(tickers)
        book = self._book(ticker)
        target = self.target_book(ticker)
        if target is not None:
            await self._move_to(session, sid, ticker, book, target)
            return
        side = self.rng.choice(("yes", "no"))
        levels = book.yes if side == "yes" else book.no
        price = (
            self.rng.choice(sorted(levels))
            if levels and self.rng.random() < 0.7
            else max(levels or {30: 0}) - 1
        )
        price = min(98, max(2, price))
        delta = self.rng.choice((-1, 1)) * self.rng.randint(1, 10) * 5
        new = max(0, levels.get(price, 0) + delta)
        delta = new - levels.get(price, 0)
        if delta == 0:
            delta, new = 10, levels.get(price, 0) + 10
        if new:
            levels[price] = new
        else:
            levels.pop(price, None)
        ts = time.time_ns() // 1_000_000
        seq = self._next_seq(session, sid)
        if self.sent % 3 == 1:  # legacy: integers, ts in seconds
            frame = messages.orderbook_delta(
                sid, seq, ticker, side, price, delta, fmt="legacy", ts=ts // 1000
            )
        else:
            frame = messages.orderbook_delta(sid, seq, ticker, side, price, delta, fmt="fixed", ts_ms=ts)
        await self.send(session, frame)
        life = self._channel_sid(session, "market_lifecycle_v2")
        if life is not None and self.sent % 25 == 24:
            await self._lifecycle(session, life, ticker, "close_date_updated")
        elif life is not None and self.sent % 40 == 39:
            await self._lifecycle(session, life, ticker, "price_level_structure_updated")
        ticker_sub = self._sid(session, "ticker")
        if ticker_sub is not None and self.sent % 5 == 0:
            tsid = ticker_sub[0]
            best_yes = max(book.yes or {1: 0})
            best_no = max(book.no or {1: 0})
            body = messages.ticker(
                tsid,
                self._next_seq(session, tsid),
                ticker,
                price=best_yes,
                yes_bid=best_yes,
                yes_ask=100 - best_no,
                volume=1000 + self.sent,
                open_interest=500,
                ts=ts // 1000,
            )
            await self.send(session, body)

    def _random_change(self, book: _Book) -> None:
        side = self.rng.choice((book.yes, book.no))
        price = self.rng.choice(sorted(side)) if side else 30
        side[price] = max(0, side.get(price, 0) + self.rng.choice((-1, 1)) * 5) or 10

    def _channel_sid(self, session: Session, channel: str) -> int | None:
        for sid, (name, _) in session.state.get("subs", {}).items():
            if name == channel:
                return int(sid)
        return None

    async def _move_to(
        self,
        session: Session,
        sid: int,
        ticker: str,
        book: _Book,
        target: tuple[dict[int, int], dict[int, int]],
    ) -> None:
        """One delta per level that differs from the model's book (YES bids, NO bids = 100 - YES asks)."""
        bids, asks = target
        wanted = {"yes": bids, "no": {100 - p: q for p, q in asks.items()}}
        ts = time.time_ns() // 1_000_000
        for side in ("yes", "no"):
            levels = book.yes if side == "yes" else book.no
            goal = wanted[side]
            for price in sorted(set(levels) | set(goal)):
                delta = goal.get(price, 0) - levels.get(price, 0)
                if delta == 0:
                    continue
                if goal.get(price, 0):
                    levels[price] = goal[price]
                else:
                    levels.pop(price, None)
                msg = {
                    "market_ticker": ticker,
                    "side": side,
                    "ts": ts,
                    "price_dollars": messages.dollars(price),
                    "delta_fp": f"{delta}.00",
                }
                await self.send(
                    session,
                    messages.dumps(
                        {
                            "type": "orderbook_delta",
                            "sid": sid,
                            "seq": self._next_seq(session, sid),
                            "msg": msg,
                        }
                    ),
                )

    async def send_gap(self, session: Session) -> None:
        found = self._sid(session, "orderbook_delta")
        if found is not None:
            self._next_seq(session, found[0])  # a seq number the client never sees

    def malformed(self) -> str:
        return messages.MALFORMED
