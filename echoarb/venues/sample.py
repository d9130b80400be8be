"""Deterministic generator of realistic venue recordings for the configured market pairs.

Replay tests, demos and benchmarks need a session that looks like the venues: subscription
replies and snapshots first, then a random walk of book deltas in both the legacy and the
current wire formats, batched events, keep-alives and a few malformed frames a parser must
survive. Books are kept free of cross-venue arbitrage (YES ask + NO ask >= ~1.02) except in
one known window at mid-session, where ``fed-rate-march`` shows exactly the worked example
of docs/edge.md, so a replay has one opportunity whose numbers are known by hand.

All prices are integer cents (Manifold probabilities integer basis points) inside the
generator and are rendered as the venues render them, so no float noise reaches a frame.

Usage: ``python -m echoarb.venues.sample --pairs config/market_pairs.json --frames 3000 --seed 7 --out FILE``
"""

from __future__ import annotations

import argparse
import json
import random
import string
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from echoarb.resources import EXAMPLE_PAIRS
from echoarb.venues.kalshi import messages as kalshi
from echoarb.venues.kalshi.messages import DeltaFormat
from echoarb.venues.manifold import messages as manifold
from echoarb.venues.polymarket import messages as polymarket
from echoarb.venues.recording import RecordedFrame, RecordingWriter

DEFAULT_START_MS = 1767225600000  # 2026-01-01T00:00:00Z
WORKED_EXAMPLE_PAIR = "fed-rate-march"
WINDOW_MS = 4000  # how long the worked example stays on the books (event time)
SPREAD = 3  # cents between a venue's fair price and its best bid/ask
MIN_FRAMES = 100
EVENT_GAP_MS = 90  # mean gap between events: about 100 ms per frame overall
PING_EVERY_MS = 10_000  # Polymarket client PING period (the server's PONG is recorded)
MANIFOLD_PING_EVERY_MS = 45_000

# The worked example of docs/edge.md, as venue books (prices in cents, sizes in contracts).
WORKED_KALSHI_YES = {41: 50, 40: 100}
WORKED_KALSHI_NO = {52: 80, 50: 200}
WORKED_POLY_YES_BIDS = {44: 100}
WORKED_POLY_YES_ASKS = {55: 300}
WORKED_POLY_NO_BIDS = {45: 200}
WORKED_POLY_NO_ASKS = {47: 120, 49: 500}

# Deliberately broken frames (not JSON), each recorded once; parsers must reject them and go on.
MALFORMED_TEXTS: dict[str, str] = {
    "kalshi": kalshi.MALFORMED,
    "polymarket": polymarket.MALFORMED,
    "manifold": manifold.MALFORMED,
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# Book helpers (prices in integer cents, sizes in whole contracts)
# ---------------------------------------------------------------------------------------------

Levels = dict[int, int]


def _size(rng: random.Random) -> int:
    return rng.randint(1, 40) * rng.choice((5, 10, 25))


def _shape(levels: Levels, *, bid: bool, bound: int, rng: random.Random) -> Levels:
    """A copy of ``levels`` pulled behind ``bound`` (max bid / min ask), with 3-6 levels.

    This is what keeps every venue's book non-crossed and away from the other venues'
    opposite side: a quote never improves past the pair's fair price +- SPREAD.
    """
    bound = max(2, min(98, bound))
    new = {p: s for p, s in levels.items() if 2 <= p <= 98 and (p <= bound if bid else p >= bound)}
    away = -1 if bid else 1  # direction of a deeper (worse) level
    best = (max(new) if bid else min(new)) if new else None
    if best is None or abs(bound - best) > 2:
        new[bound + away * rng.randint(0, 1)] = _size(rng)
    while len(new) < 3:
        worst = min(new) if bid else max(new)
        price = worst + away * rng.randint(1, 2)
        if not 2 <= price <= 98:
            break
        new[price] = _size(rng)
    while len(new) > 6:
        del new[min(new) if bid else max(new)]
    return new


def _jiggle(levels: Levels, *, bid: bool, bound: int, rng: random.Random) -> Levels:
    """One small random change of a book side: a size change, a new level, or a pulled level."""
    new = dict(levels)
    roll = rng.random()
    if roll < 0.6 and new:
        price = rng.choice(sorted(new))
        new[price] = max(1, new[price] + rng.choice((-1, 1)) * rng.randint(1, 20) * 5)
    elif roll < 0.85:
        price = bound + (-1 if bid else 1) * rng.randint(0, 4)
        new[price] = min(2500, new.get(price, 0) + _size(rng))
    elif len(new) > 3:
        del new[rng.choice(sorted(new))]
    return _shape(new, bid=bid, bound=bound, rng=rng)


def _diff(old: Levels, new: Levels) -> list[tuple[int, int, int]]:
    """(price, old size, new size) of every changed level; removals first, so no interim cross."""
    changes = [(p, old.get(p, 0), new.get(p, 0)) for p in sorted(set(old) | set(new))]
    changes = [c for c in changes if c[1] != c[2]]
    return sorted(changes, key=lambda c: (c[2] != 0, c[0]))


def _best(levels: Levels, *, bid: bool) -> int | None:
    if not levels:
        return None
    return max(levels) if bid else min(levels)


def _iso(ms: int) -> str:
    moment = _EPOCH + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


# ---------------------------------------------------------------------------------------------
# Market state
# ---------------------------------------------------------------------------------------------


@dataclass
class _KalshiMarket:
    ticker: str
    market_id: str
    invert: bool
    yes: Levels = field(default_factory=dict)
    no: Levels = field(default_factory=dict)


@dataclass
class _PolyToken:
    asset_id: str
    bids: Levels = field(default_factory=dict)
    asks: Levels = field(default_factory=dict)


@dataclass
class _PolyMarket:
    condition_id: str
    invert: bool
    yes: _PolyToken
    no: _PolyToken | None


@dataclass
class _ManifoldMarket:
    slug: str
    contract_id: str
    invert: bool
    question: str
    prob: int = 5000  # basis points


@dataclass
class _Unit:
    """One binary market quoted on several venues: a binary pair or one outcome of a categorical."""

    pair_id: str
    name: str
    fair: int  # pair YES, basis points
    anchor: int  # mean-reversion target of the fair walk
    kalshi: _KalshiMarket | None = None
    poly: _PolyMarket | None = None
    manifold: _ManifoldMarket | None = None
    frozen: bool = False

    def venues(self) -> list[str]:
        out = []
        if self.kalshi is not None:
            out.append("kalshi")
        if self.poly is not None:
            out.append("polymarket")
        if self.manifold is not None:
            out.append("manifold")
        return out


def _center(unit: _Unit, invert: bool) -> int:
    """The venue's YES fair price in cents (the pair's NO when the venue's wording is inverted)."""
    fair = 10000 - unit.fair if invert else unit.fair
    return (fair + 50) // 100


# ---------------------------------------------------------------------------------------------
# The session
# ---------------------------------------------------------------------------------------------


class _Session:
    """Builds the frame list; ``window`` is (first recv_ts with the worked example, first without)."""

    def __init__(self, pairs_config: dict[str, Any], *, frames: int, seed: int, start_ms: int) -> None:
        if frames < MIN_FRAMES:
            raise ValueError(f"frames must be >= {MIN_FRAMES}, got {frames}")
        self.rng = random.Random(seed)
        self.target = frames
        self.now = start_ms
        self.frames: list[RecordedFrame] = []
        self.window: tuple[int, int] | None = None
        self._last_event: dict[str, int] = {}
        self._kalshi_seq: dict[int, int] = {}
        self._txid = 1
        self.units = self._units(pairs_config)
        self._worked = next(
            (
                u
                for u in self.units
                if u.pair_id == WORKED_EXAMPLE_PAIR
                and u.kalshi is not None
                and u.poly is not None
                and u.poly.no is not None
                and not u.kalshi.invert
                and not u.poly.invert
            ),
            None,
        )
        self._window_end: int | None = None
        fractions = (0.08, 0.21, 0.33, 0.68, 0.79, 0.9)
        kinds = ("kalshi_text", "kalshi_no_ticker", "poly_text", "manifold_text", "manifold_no_prob", "x")
        self._malformed = {
            int(frames * f) + self.rng.randint(0, 5): k for f, k in zip(fractions, kinds, strict=True)
        }

    # -- configuration ------------------------------------------------------------------------

    def _units(self, config: dict[str, Any]) -> list[_Unit]:
        pairs = config.get("pairs")
        if not isinstance(pairs, list) or not pairs:
            raise ValueError('pairs_config must be {"pairs": [...]} with at least one pair')
        units: list[_Unit] = []
        for pair in pairs:
            if pair.get("type", "binary") == "categorical":
                outcomes = pair.get("outcomes", [])
                share = 10000 // max(1, len(outcomes))
                for outcome in outcomes:
                    units.append(self._unit(pair["id"], outcome, pair.get("description", ""), share))
            else:
                anchor = 4700 if pair["id"] == WORKED_EXAMPLE_PAIR else self.rng.randint(2500, 7500)
                units.append(self._unit(pair["id"], pair, pair.get("description", ""), anchor))
        if not any(len(u.venues()) for u in units):
            raise ValueError("no venue in any pair")
        return units

    def _unit(self, pair_id: str, spec: dict[str, Any], question: str, anchor: int) -> _Unit:
        rng = self.rng
        name = str(spec.get("name", ""))
        unit = _Unit(pair_id, name, fair=anchor + rng.randint(-300, 300), anchor=anchor)
        if "kalshi" in spec:
            k = spec["kalshi"]
            unit.kalshi = _KalshiMarket(k["ticker"], self._uuid(), bool(k.get("invert", False)))
        if "polymarket" in spec:
            p = spec["polymarket"]
            no = _PolyToken(p["no_token_id"]) if p.get("no_token_id") else None
            unit.poly = _PolyMarket(
                f"0x{rng.getrandbits(256):064x}", bool(p.get("invert", False)), _PolyToken(p["token_id"]), no
            )
        if "manifold" in spec:
            m = spec["manifold"]
            contract_id = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(10))
            text = f"{question} ({name})" if name else question
            unit.manifold = _ManifoldMarket(m["slug"], contract_id, bool(m.get("invert", False)), text)
        return unit

    def _uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def _hash(self) -> str:
        return f"{self.rng.getrandbits(160):040x}"

    # -- frame plumbing -----------------------------------------------------------------------

    def _emit(self, venue: str, text: str, *, source: str = "ws", path: str | None = None) -> None:
        self.frames.append(RecordedFrame(venue, self.now, text, source, path))

    def _step(self, low: int = 1, high: int = 4) -> None:
        """A few ms between frames of one burst."""
        self.now += self.rng.randint(low, high)

    def _event_ts(self, venue: str) -> int:
        """Venue event time: a few ms before receipt, never going back per venue."""
        ts = max(self._last_event.get(venue, 0), self.now - self.rng.randint(1, 15))
        self._last_event[venue] = ts
        return ts

    def _seq(self, sid: int) -> int:
        self._kalshi_seq[sid] = self._kalshi_seq.get(sid, 0) + 1
        return self._kalshi_seq[sid]

    # -- Kalshi -------------------------------------------------------------------------------

    def _kalshi_subscribe(self) -> None:
        tickers = [u.kalshi for u in self.units if u.kalshi is not None]
        if not tickers:
            return
        for sid, channel in ((1, "orderbook_delta"), (2, "ticker")):
            self._emit("kalshi", kalshi.subscribed(1, channel, sid))
            self._step()
        for unit in self.units:
            market = unit.kalshi
            if market is None:
                continue
            c = _center(unit, market.invert)
            market.yes = _shape({}, bid=True, bound=c - SPREAD, rng=self.rng)
            market.no = _shape({}, bid=True, bound=100 - c - SPREAD, rng=self.rng)
            frame = kalshi.orderbook_snapshot(
                1, self._seq(1), market.ticker, market.market_id, market.yes, market.no
            )
            self._emit("kalshi", frame)
            self._step()

    def _kalshi_apply(self, market: _KalshiMarket, side: str, new: Levels) -> None:
        """Move one side of a Kalshi book to ``new``: one ``orderbook_delta`` frame per level."""
        old = market.yes if side == "yes" else market.no
        for price, before, after in _diff(old, new):
            self._kalshi_delta(market.ticker, side, price, after - before)
            self._step()
        if side == "yes":
            market.yes = dict(new)
        else:
            market.no = dict(new)

    def _kalshi_delta(self, ticker: str | None, side: str, price: int, delta: int) -> None:
        rng = self.rng
        event_ts = self._event_ts("kalshi")
        style = rng.random()
        # legacy integer cents only, current fixed point only, or (migration period) both
        fmt: DeltaFormat = "legacy" if style < 0.3 else "fixed" if style < 0.7 else "both"
        ts = _iso(event_ts) if rng.random() < 0.75 else event_ts // 1000
        self._emit(
            "kalshi", kalshi.orderbook_delta(1, self._seq(1), ticker, side, price, delta, fmt=fmt, ts=ts)
        )

    def _kalshi_ticker(self, unit: _Unit) -> None:
        market = unit.kalshi
        if market is None or not market.yes or not market.no:
            return
        bid = max(market.yes)
        ask = 100 - max(market.no)
        last = self.rng.randint(bid, ask)
        event_ts = self._event_ts("kalshi")
        volume = self.rng.randint(10_000, 900_000)
        open_interest = self.rng.randint(5_000, 400_000)
        frame = kalshi.ticker(
            2,
            self._seq(2),
            market.ticker,
            market_id=market.market_id,
            price=last,
            yes_bid=bid,
            yes_ask=ask,
            volume=volume,
            open_interest=open_interest,
            ts=event_ts // 1000,
            with_dollars=True,
        )
        self._emit("kalshi", frame)

    # -- Polymarket ---------------------------------------------------------------------------

    def _poly_tokens(self, market: _PolyMarket) -> list[_PolyToken]:
        return [market.yes] if market.no is None else [market.yes, market.no]

    def _poly_book_event(self, market: _PolyMarket, token: _PolyToken, event_ts: int) -> polymarket.Event:
        return polymarket.book(
            market.condition_id, token.asset_id, token.bids, token.asks, event_ts, self._hash()
        )

    def _poly_subscribe(self) -> None:
        for unit in self.units:
            market = unit.poly
            if market is None:
                continue
            c = _center(unit, market.invert)
            market.yes.bids = _shape({}, bid=True, bound=c - SPREAD, rng=self.rng)
            market.yes.asks = _shape({}, bid=False, bound=c + SPREAD, rng=self.rng)
            if market.no is not None:
                market.no.bids = _shape({}, bid=True, bound=100 - c - SPREAD, rng=self.rng)
                market.no.asks = _shape({}, bid=False, bound=100 - c + SPREAD, rng=self.rng)
            event_ts = self._event_ts("polymarket")
            events = [self._poly_book_event(market, t, event_ts) for t in self._poly_tokens(market)]
            self._emit("polymarket", polymarket.frame(events, array=True))
            self._step(5, 30)

    def _poly_apply(self, market: _PolyMarket, updates: list[tuple[_PolyToken, str, Levels]]) -> None:
        """Move token book sides to new levels in one ``price_change`` frame (current or legacy format)."""
        rng = self.rng
        event_ts = self._event_ts("polymarket")
        entries: list[tuple[_PolyToken, str, int, int]] = []  # token, side, price, new size
        trades: list[polymarket.Event] = []
        for token, side, new in updates:
            old = token.bids if side == "BUY" else token.asks
            best = _best(old, bid=side == "BUY")
            for price, before, after in _diff(old, new):
                entries.append((token, side, price, after))
                if price == best and after < before and rng.random() < 0.5:
                    taker = "SELL" if side == "BUY" else "BUY"
                    trades.append(
                        polymarket.last_trade_price(
                            token.asset_id, market.condition_id, price, taker, before - after, event_ts
                        )
                    )
        if not entries:
            return
        events: list[polymarket.Event] = list(trades)
        if rng.random() < 0.8:
            changes = []
            for token, side, price, size in entries:
                levels = token.bids if side == "BUY" else token.asks
                if size:
                    levels[price] = size
                else:
                    levels.pop(price, None)
                best_bid, best_ask = _best(token.bids, bid=True), _best(token.asks, bid=False)
                changes.append(
                    polymarket.price_change_entry(
                        token.asset_id,
                        price,
                        size,
                        side,
                        self._hash(),
                        polymarket.price(best_bid) if best_bid else "0",
                        polymarket.price(best_ask) if best_ask else "1",
                    )
                )
            events.append(polymarket.price_change(market.condition_id, changes, event_ts))
        else:  # pre-Sept-2025 format: one event per asset, changes at the top level
            for token in self._poly_tokens(market):
                mine = [e for e in entries if e[0] is token]
                if not mine:
                    continue
                for _, side, price, size in mine:
                    levels = token.bids if side == "BUY" else token.asks
                    if size:
                        levels[price] = size
                    else:
                        levels.pop(price, None)
                changes_of = [(p, s, z) for _, s, p, z in mine]
                events.append(
                    polymarket.legacy_price_change(
                        token.asset_id, market.condition_id, changes_of, event_ts, self._hash()
                    )
                )
        self._emit("polymarket", polymarket.frame(events))

    # -- Manifold -----------------------------------------------------------------------------

    def _manifold_rest(self) -> None:
        for unit in self.units:
            market = unit.manifold
            if market is None:
                continue
            market.prob = self._manifold_target(unit, market)
            pool_no = Decimal(market.prob) / 5  # pool total 2000 with p = 0.5: prob = NO / (YES + NO)
            creator_id = "".join(self.rng.choice(string.ascii_letters) for _ in range(28))
            volume = self.rng.randint(500, 90_000)
            last_updated = self.now - self.rng.randint(1_000, 600_000)
            body = manifold.market(
                market.contract_id,
                market.slug,
                market.question,
                market.prob,
                pool={"YES": float(2000 - pool_no), "NO": float(pool_no)},
                close_time=self.now + 200 * 86_400_000,
                last_updated=last_updated,
                creator=(creator_id, "EchoArbBot"),
                created_time=self.now - 45 * 86_400_000,
                url=f"https://manifold.markets/EchoArbBot/{market.slug}",
                volume=volume,
            )
            self._emit("manifold", manifold.dumps(body), source="rest", path=f"/slug/{market.slug}")
            self._step(20, 80)
        if any(u.manifold is not None for u in self.units):
            self._emit("manifold", manifold.ack(self._next_txid()))
            self._step()

    def _next_txid(self) -> int:
        txid = self._txid
        self._txid += 1
        return txid

    def _manifold_target(self, unit: _Unit, market: _ManifoldMarket) -> int:
        """The venue's YES probability: the pair's fair within +-0.3%, so no edge vs the books."""
        fair = 10000 - unit.fair if market.invert else unit.fair
        return max(150, min(9850, fair + self.rng.randint(-30, 30)))

    def _manifold_bet(self, unit: _Unit, market: _ManifoldMarket, *, drop_prob: bool = False) -> None:
        rng = self.rng
        target = self._manifold_target(unit, market)
        if target == market.prob:
            target += rng.choice((-1, 1))
        steps = [target] if rng.random() < 0.8 else [(market.prob + target) // 2, target]
        bets = []
        before = market.prob
        for after in steps:
            event_ts = self._event_ts("manifold")
            amount = rng.randint(1, 60) * 5
            outcome = "YES" if after > before else "NO"
            price = Decimal(after + before) / 20000
            price = price if outcome == "YES" else 1 - price
            bet_id = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(12))
            user_id = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(28))
            shares = float((amount / price).quantize(Decimal("0.01")))
            bet = manifold.bet(
                bet_id,
                user_id,
                market.contract_id,
                event_ts,
                amount,
                outcome,
                before,
                None if drop_prob else after,
                shares=shares,
            )
            bets.append(bet)
            before = after
        if not drop_prob:
            market.prob = target
        self._emit("manifold", manifold.new_bets(market.contract_id, bets))

    # -- events -------------------------------------------------------------------------------

    def _reprice(self, unit: _Unit) -> None:
        """Bring every venue of ``unit`` in line with its (new) fair price, venues in random order."""
        venues = unit.venues()
        self.rng.shuffle(venues)
        for venue in venues:
            if venue == "kalshi" and unit.kalshi is not None:
                k = unit.kalshi
                c = _center(unit, k.invert)
                self._kalshi_apply(k, "yes", _shape(k.yes, bid=True, bound=c - SPREAD, rng=self.rng))
                self._kalshi_apply(k, "no", _shape(k.no, bid=True, bound=100 - c - SPREAD, rng=self.rng))
            elif venue == "polymarket" and unit.poly is not None:
                m = unit.poly
                c = _center(unit, m.invert)
                updates = [
                    (m.yes, "BUY", _shape(m.yes.bids, bid=True, bound=c - SPREAD, rng=self.rng)),
                    (m.yes, "SELL", _shape(m.yes.asks, bid=False, bound=c + SPREAD, rng=self.rng)),
                ]
                if m.no is not None:
                    updates += [
                        (m.no, "BUY", _shape(m.no.bids, bid=True, bound=100 - c - SPREAD, rng=self.rng)),
                        (m.no, "SELL", _shape(m.no.asks, bid=False, bound=100 - c + SPREAD, rng=self.rng)),
                    ]
                self._poly_apply(m, updates)
            elif venue == "manifold" and unit.manifold is not None:
                self._manifold_bet(unit, unit.manifold)
            self._step(1, 6)

    def _fair_move(self, unit: _Unit) -> None:
        step = self.rng.choice((-25, -20, -15, -10, 10, 15, 20, 25)) + (unit.anchor - unit.fair) // 20
        unit.fair = max(1500, min(8500, unit.fair + step))
        self._reprice(unit)

    def _noise(self, unit: _Unit, venue: str) -> None:
        """A small book change on one venue that stays within the unit's bounds."""
        rng = self.rng
        if venue == "kalshi" and unit.kalshi is not None:
            k = unit.kalshi
            c = _center(unit, k.invert)
            if rng.random() < 0.5:
                self._kalshi_apply(k, "yes", _jiggle(k.yes, bid=True, bound=c - SPREAD, rng=rng))
            else:
                self._kalshi_apply(k, "no", _jiggle(k.no, bid=True, bound=100 - c - SPREAD, rng=rng))
        elif venue == "polymarket" and unit.poly is not None:
            m = unit.poly
            token = m.yes if m.no is None or rng.random() < 0.5 else m.no
            c = _center(unit, m.invert)
            c = c if token is m.yes else 100 - c
            if rng.random() < 0.5:
                self._poly_apply(
                    m, [(token, "BUY", _jiggle(token.bids, bid=True, bound=c - SPREAD, rng=rng))]
                )
            else:
                self._poly_apply(
                    m, [(token, "SELL", _jiggle(token.asks, bid=False, bound=c + SPREAD, rng=rng))]
                )
        elif venue == "manifold" and unit.manifold is not None:
            self._manifold_bet(unit, unit.manifold)

    def _open_window(self, unit: _Unit) -> None:
        """Put the worked example of edge.md on the ``fed-rate-march`` books and freeze them."""
        assert unit.kalshi is not None and unit.poly is not None and unit.poly.no is not None
        unit.frozen = True
        unit.fair = unit.anchor
        self._kalshi_apply(unit.kalshi, "yes", WORKED_KALSHI_YES)
        self._kalshi_apply(unit.kalshi, "no", WORKED_KALSHI_NO)
        m = unit.poly
        assert m.no is not None
        m.yes.bids, m.yes.asks = dict(WORKED_POLY_YES_BIDS), dict(WORKED_POLY_YES_ASKS)
        m.no.bids, m.no.asks = dict(WORKED_POLY_NO_BIDS), dict(WORKED_POLY_NO_ASKS)
        self._step(2, 8)
        event_ts = self._event_ts("polymarket")
        books = [self._poly_book_event(m, t, event_ts) for t in (m.yes, m.no)]
        self._emit("polymarket", polymarket.frame(books, array=True))
        self.window = (self.now, self.now)
        self._window_end = event_ts + WINDOW_MS

    def _close_window(self, unit: _Unit) -> None:
        """The edge is taken: the Polymarket NO asks are lifted and Kalshi's NO bid is pulled."""
        assert self.window is not None
        self.window = (self.window[0], self.now)
        unit.frozen = False
        self._window_end = None
        self._reprice(unit)

    def _malformed_frame(self, kind: str) -> None:
        if kind == "kalshi_text":
            self._emit("kalshi", MALFORMED_TEXTS["kalshi"])
        elif kind == "poly_text":
            self._emit("polymarket", MALFORMED_TEXTS["polymarket"])
        elif kind == "manifold_text":
            self._emit("manifold", MALFORMED_TEXTS["manifold"])
        elif kind == "kalshi_no_ticker":
            market = next((u.kalshi for u in self.units if u.kalshi is not None), None)
            if market is not None:  # a delta the venue mangled: no ticker, so it cannot be applied
                self._kalshi_delta(None, "yes", 30, 10)
        elif kind == "manifold_no_prob":
            unit = next((u for u in self.units if u.manifold is not None and not u.frozen), None)
            if unit is not None and unit.manifold is not None:
                self._manifold_bet(unit, unit.manifold, drop_prob=True)
        else:
            self._emit("polymarket", polymarket.PONG)  # a second keep-alive where a frame is expected

    def run(self) -> list[RecordedFrame]:
        rng = self.rng
        self._kalshi_subscribe()
        self.now += rng.randint(20, 60)
        self._poly_subscribe()
        self.now += rng.randint(20, 60)
        self._manifold_rest()
        next_ping = self.now + PING_EVERY_MS
        next_manifold_ping = self.now + MANIFOLD_PING_EVERY_MS
        done_malformed: set[int] = set()
        while len(self.frames) < self.target:
            self.now += max(1, int(rng.expovariate(1 / EVENT_GAP_MS)))
            worked = self._worked
            if worked is not None and self.window is None and len(self.frames) >= self.target // 2:
                self._open_window(worked)
                continue
            if worked is not None and self._window_end is not None and self.now >= self._window_end:
                self._close_window(worked)
                continue
            if self.now >= next_ping:
                self._emit("polymarket", polymarket.PONG)
                next_ping += PING_EVERY_MS
                continue
            if self.now >= next_manifold_ping and any(u.manifold for u in self.units):
                self._emit("manifold", manifold.ack(self._next_txid()))
                next_manifold_ping += MANIFOLD_PING_EVERY_MS
                continue
            due = [i for i in sorted(self._malformed) if i <= len(self.frames) and i not in done_malformed]
            if due and self._window_end is None:
                done_malformed.add(due[0])
                self._malformed_frame(self._malformed[due[0]])
                continue
            live = [u for u in self.units if not u.frozen and u.venues()]
            unit = rng.choice(live)
            roll = rng.random()
            if roll < 0.14:
                self._fair_move(unit)
            elif roll < 0.15 and unit.kalshi is not None:
                self._kalshi_ticker(unit)
            else:
                venues = unit.venues()
                weights = [{"kalshi": 1.6, "polymarket": 0.9, "manifold": 0.22}[v] for v in venues]
                self._noise(unit, rng.choices(venues, weights)[0])
        return self.frames[: self.target]


def generate_recording(
    pairs_config: dict[str, Any], *, frames: int, seed: int, start_ms: int = DEFAULT_START_MS
) -> list[RecordedFrame]:
    """A deterministic realistic session of ``frames`` received frames for the configured pairs.

    Same config and seed give the same frames byte for byte (only ``random.Random(seed)``
    drives it). When the config has a ``fed-rate-march`` pair on Kalshi and Polymarket (with
    a NO token), its books show the worked example of edge.md for ``WINDOW_MS`` at mid-session.
    """
    return _Session(pairs_config, frames=frames, seed=seed, start_ms=start_ms).run()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m echoarb.venues.sample",
        description="Write a deterministic, realistic recording (JSON Lines of venue frames) for the "
        "pairs of a market_pairs.json: snapshots, legacy and current delta formats, keep-alives, a few "
        "malformed frames, and the worked example of docs/edge.md on fed-rate-march at mid-session.",
    )
    parser.add_argument(
        "--pairs", default=str(EXAMPLE_PAIRS), help="pairs config (default: the example pairs)"
    )
    parser.add_argument("--frames", type=int, default=3000, help="number of frames (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default: %(default)s)")
    parser.add_argument(
        "--start-ms",
        type=int,
        default=DEFAULT_START_MS,
        help="first recv_ts, epoch ms (default: %(default)s)",
    )
    parser.add_argument("--out", required=True, help="output recording (.jsonl)")
    args = parser.parse_args(argv)
    try:
        config = json.loads(Path(args.pairs).read_text(encoding="utf-8"))
        session = _Session(config, frames=args.frames, seed=args.seed, start_ms=args.start_ms)
        frames = session.run()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"echoarb.venues.sample: error: {exc}", file=sys.stderr)
        return 2
    with RecordingWriter(args.out) as writer:
        for frame in frames:
            writer.write(frame)
    summary = f"wrote {len(frames)} frames to {args.out}, recv_ts {frames[0].recv_ts}..{frames[-1].recv_ts}"
    if session.window is not None:
        summary += (
            f"; worked example on {WORKED_EXAMPLE_PAIR} for recv_ts {session.window[0]}..{session.window[1]}"
        )
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
