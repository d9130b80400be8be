"""The sample generator and the bundled recording: realistic, deterministic, one known edge.

The book reconstruction here is deliberately independent of the project's parsers (crude,
top of book only) so a parser bug cannot hide a generator bug and vice versa.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from echoarb.ingest.frames import VenueParser
from echoarb.venues.kalshi.protocol import KalshiProtocol
from echoarb.venues.manifold.protocol import ManifoldProtocol
from echoarb.venues.polymarket.protocol import PolymarketProtocol
from echoarb.venues.recording import RecordedFrame, read_recording
from echoarb.venues.sample import MALFORMED_TEXTS, generate_recording, main

ROOT = Path(__file__).resolve().parents[2]
PAIRS_PATH = ROOT / "config" / "market_pairs.json"
SAMPLE_PATH = ROOT / "config" / "recordings" / "sample.jsonl"
ONE = Decimal(1)
D = Decimal


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(PAIRS_PATH.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def sample() -> list[RecordedFrame]:
    return list(read_recording(SAMPLE_PATH))


def _load(frame: RecordedFrame) -> Any:
    return json.loads(frame.frame, parse_float=Decimal)


# -- crude independent book reconstruction ------------------------------------------------------


@dataclass
class Books:
    kalshi: dict[str, dict[str, dict[Decimal, Decimal]]] = field(default_factory=dict)  # ticker->yes/no->bids
    poly: dict[str, dict[str, dict[Decimal, Decimal]]] = field(default_factory=dict)  # token->bids/asks
    manifold: dict[str, Decimal] = field(default_factory=dict)  # slug -> probability
    manifold_ids: dict[str, str] = field(default_factory=dict)  # contract id -> slug

    def apply(self, frame: RecordedFrame) -> None:
        try:
            data = _load(frame)
        except ValueError:
            return
        if frame.venue == "kalshi" and isinstance(data, dict):
            self._kalshi(data)
        elif frame.venue == "polymarket":
            for event in data if isinstance(data, list) else [data]:
                self._poly(event)
        elif frame.venue == "manifold":
            self._manifold(frame, data)

    def _kalshi(self, data: dict[str, Any]) -> None:
        msg = data.get("msg", {})
        ticker = msg.get("market_ticker")
        if data.get("type") == "orderbook_snapshot":
            self.kalshi[ticker] = {
                side: {D(p): D(s) for p, s in msg.get(f"{side}_dollars_fp", [])} for side in ("yes", "no")
            }
        elif data.get("type") == "orderbook_delta" and ticker:
            price = D(msg["price_dollars"]) if "price_dollars" in msg else D(msg["price"]) / 100
            delta = D(msg["delta_fp"]) if "delta_fp" in msg else D(msg["delta"])
            side = self.kalshi[ticker][msg["side"]]
            side[price] = side.get(price, D(0)) + delta
            if side[price] == 0:
                del side[price]
            assert side.get(price, 1) > 0, f"negative Kalshi level {ticker} {price}"

    def _poly(self, event: dict[str, Any]) -> None:
        kind = event.get("event_type")
        if kind == "book":
            self.poly[event["asset_id"]] = {
                side: {D(lv["price"]): D(lv["size"]) for lv in event[side]} for side in ("bids", "asks")
            }
        elif kind == "price_change":
            changes = event.get("price_changes") or [
                {**c, "asset_id": event["asset_id"]} for c in event.get("changes", [])
            ]
            for change in changes:
                side = self.poly[change["asset_id"]]["bids" if change["side"] == "BUY" else "asks"]
                side[D(change["price"])] = D(change["size"])
                if D(change["size"]) == 0:
                    del side[D(change["price"])]

    def _manifold(self, frame: RecordedFrame, data: Any) -> None:
        if frame.source == "rest":
            self.manifold_ids[data["id"]] = data["slug"]
            self.manifold[data["slug"]] = data["probability"]
        elif isinstance(data, dict) and data.get("type") == "broadcast":
            bets = [b for b in data["data"]["bets"] if "probAfter" in b]
            if bets:
                contract = data["topic"].split("/")[1]
                self.manifold[self.manifold_ids[contract]] = bets[-1]["probAfter"]

    def quotes(self, pair: dict[str, Any]) -> dict[str, tuple[Decimal, Decimal]]:
        """Best (YES ask, NO ask) of the pair's YES per venue."""
        out: dict[str, tuple[Decimal, Decimal]] = {}
        if "kalshi" in pair:
            book = self.kalshi[pair["kalshi"]["ticker"]]
            out["kalshi"] = (ONE - max(book["no"]), ONE - max(book["yes"]))
        if "polymarket" in pair:
            spec = pair["polymarket"]
            yes = self.poly[spec["token_id"]]
            no_ask = (
                min(self.poly[spec["no_token_id"]]["asks"])
                if "no_token_id" in spec
                else ONE - max(yes["bids"])
            )
            out["polymarket"] = (min(yes["asks"]), no_ask)
        if "manifold" in pair:
            prob = self.manifold[pair["manifold"]["slug"]]
            out["manifold"] = (prob, ONE - prob)
        for venue, (yes_ask, no_ask) in list(out.items()):
            if pair[venue].get("invert"):
                out[venue] = (no_ask, yes_ask)
        return out

    def is_worked_example(self, pair: dict[str, Any]) -> bool:
        kalshi = self.kalshi[pair["kalshi"]["ticker"]]
        poly = pair["polymarket"]
        return (
            kalshi == {"yes": {D("0.41"): 50, D("0.40"): 100}, "no": {D("0.52"): 80, D("0.50"): 200}}
            and self.poly[poly["token_id"]]["asks"] == {D("0.55"): 300}
            and bool(self.poly[poly["token_id"]]["bids"])
            and self.poly[poly["no_token_id"]]["asks"] == {D("0.47"): 120, D("0.49"): 500}
        )


def _replay(frames: list[RecordedFrame], config: dict[str, Any]) -> Iterator[tuple[RecordedFrame, Books]]:
    """Yield (frame, books after it) once every configured market has its first snapshot."""
    books = Books()
    ready = False
    for frame in frames:
        books.apply(frame)
        if not ready:
            try:
                for pair in config["pairs"]:
                    books.quotes(pair)
                ready = True
            except (KeyError, ValueError):
                continue
        yield frame, books


# -- generator ------------------------------------------------------------------------------------


def test_generator_is_deterministic(config: dict[str, Any]) -> None:
    first = generate_recording(config, frames=400, seed=3)
    assert first == generate_recording(config, frames=400, seed=3)
    assert first != generate_recording(config, frames=400, seed=4)
    assert len(first) == 400
    assert first[0].recv_ts == 1767225600000
    assert generate_recording(config, frames=400, seed=3, start_ms=1000)[0].recv_ts == 1000


def test_generator_rejects_tiny_sessions(config: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="frames"):
        generate_recording(config, frames=10, seed=1)


def test_bundled_sample_is_the_generator_output(config: dict[str, Any], sample: list[RecordedFrame]) -> None:
    assert generate_recording(config, frames=3000, seed=7) == sample


def test_main_writes_a_recording(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rec.jsonl"
    args = ["--pairs", str(PAIRS_PATH), "--frames", "300", "--seed", "5", "--out", str(out)]
    assert main(args) == 0
    assert len(list(read_recording(out))) == 300
    assert "worked example" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0


# -- the bundled sample ---------------------------------------------------------------------------


def test_sample_shape(sample: list[RecordedFrame]) -> None:
    assert SAMPLE_PATH.stat().st_size < 1_000_000
    assert 2500 <= len(sample) <= 3500
    span = sample[-1].recv_ts - sample[0].recv_ts
    assert 240_000 <= span <= 360_000
    assert all(a.recv_ts <= b.recv_ts for a, b in itertools.pairwise(sample))
    assert {f.venue for f in sample} == {"kalshi", "polymarket", "manifold"}
    rest = [f for f in sample if f.source == "rest"]
    assert rest and all(f.venue == "manifold" and f.path and f.path.startswith("/slug/") for f in rest)


def test_sample_is_json_except_deliberate_malformed_frames(sample: list[RecordedFrame]) -> None:
    not_json: set[tuple[str, str]] = set()
    no_ticker = no_prob = 0
    for frame in sample:
        if frame.frame == "PONG":
            assert frame.venue == "polymarket"
            continue
        try:
            data = _load(frame)
        except ValueError:
            not_json.add((frame.venue, frame.frame))
            continue
        if isinstance(data, dict) and data.get("type") == "orderbook_delta":
            no_ticker += "market_ticker" not in data["msg"]
        if isinstance(data, dict) and data.get("type") == "broadcast":
            no_prob += any("probAfter" not in bet for bet in data["data"]["bets"])
    assert not_json == set(MALFORMED_TEXTS.items())
    assert (no_ticker, no_prob) == (1, 1)


def test_sample_wire_formats(sample: list[RecordedFrame]) -> None:
    """Both Kalshi field generations, both Polymarket price_change formats, batches, ISO and second ts."""
    seen: set[str] = set()
    for frame in sample:
        try:
            data = _load(frame)
        except ValueError:
            continue
        if frame.venue == "kalshi" and data.get("type") == "orderbook_delta":
            msg = data["msg"]
            seen |= {k for k in ("price", "price_dollars", "delta", "delta_fp") if k in msg}
            seen.add("ts_iso" if isinstance(msg["ts"], str) else "ts_seconds")
        elif frame.venue == "polymarket":
            seen.add("poly_array" if isinstance(data, list) else "poly_object")
            for event in data if isinstance(data, list) else [data]:
                if event["event_type"] == "price_change":
                    seen.add("price_changes" if "price_changes" in event else "changes")
                    assert int(event["timestamp"]) <= frame.recv_ts
    assert seen >= {"price", "price_dollars", "delta", "delta_fp", "ts_iso", "ts_seconds"}
    assert seen >= {"poly_array", "poly_object", "price_changes", "changes"}


def test_sample_kalshi_seq_has_no_gaps(sample: list[RecordedFrame]) -> None:
    last: dict[int, int] = {}
    for frame in sample:
        try:
            data = _load(frame)
        except ValueError:
            continue
        if frame.venue == "kalshi" and "seq" in data:
            assert data["seq"] == last.get(data["sid"], 0) + 1
            last[data["sid"]] = data["seq"]
    assert last[1] > 1000


def test_sample_books_sane_and_only_one_known_edge(
    config: dict[str, Any], sample: list[RecordedFrame]
) -> None:
    worked: list[int] = []
    fed = next(p for p in config["pairs"] if p["id"] == "fed-rate-march")
    states: list[tuple[int, dict[str, dict[str, tuple[Decimal, Decimal]]]]] = []
    for frame, books in _replay(sample, config):
        for levels in [*(s for b in books.kalshi.values() for s in b.values())]:
            assert all(D("0.01") < p < D("0.99") and s > 0 for p, s in levels.items())
        for book in books.kalshi.values():
            assert max(book["yes"]) + max(book["no"]) < ONE  # not crossed
        for book in books.poly.values():
            assert max(book["bids"]) < min(book["asks"])
            assert all(D("0.01") < p < D("0.99") for side in book.values() for p in side)
        if books.is_worked_example(fed):
            worked.append(frame.recv_ts)
        states.append((frame.recv_ts, {p["id"]: books.quotes(p) for p in config["pairs"]}))
    assert worked, "the worked example of edge.md never appears"
    start, end = worked[0], worked[-1]
    assert 3000 <= end - start <= 6000
    assert 0.4 <= (start - sample[0].recv_ts) / (sample[-1].recv_ts - sample[0].recv_ts) <= 0.6
    # Inside the window: Kalshi YES ask 0.48 + Polymarket NO ask 0.47.
    inside = next(q for ts, q in states if ts == start)["fed-rate-march"]
    assert inside["kalshi"][0] == D("0.48") and inside["polymarket"][1] == D("0.47")
    # Everywhere else no venue pair sums below 1 (the generator keeps ~1.02 or more).
    near = 0
    for ts, quotes in states:
        for pair_id, venues in quotes.items():
            if pair_id == "fed-rate-march" and start - 1000 <= ts <= end + 1000:
                continue
            for a, (yes_a, _) in venues.items():
                for b, (_, no_b) in venues.items():
                    if a != b:
                        assert yes_a + no_b >= ONE, (ts, pair_id, a, b, yes_a, no_b)
                        near += yes_a + no_b < D("1.02")
    assert near < len(states) // 20


def test_sample_parses_with_the_venue_parsers(sample: list[RecordedFrame]) -> None:
    """Only the deliberate malformed frames are rejected, and no book ever needs a resync."""
    parsers: dict[str, VenueParser] = {
        "kalshi": KalshiProtocol(),
        "polymarket": PolymarketProtocol(),
        "manifold": ManifoldProtocol(),
    }
    errors: list[str] = []
    quotes = 0
    for frame in sample:
        result = parsers[frame.venue].receive(
            frame.frame, frame.recv_ts, source=frame.source, path=frame.path
        )
        errors += result.errors
        assert not result.resync, (frame, result.resync)
        quotes += len(result.quotes)
        for quote in result.quotes:
            if frame.source == "rest":  # the contract's lastUpdatedTime: any time before receipt
                assert quote.event_ts <= frame.recv_ts
            else:
                assert frame.recv_ts - 1100 <= quote.event_ts <= frame.recv_ts  # "ts" in seconds: floor
    assert len(errors) == 5, errors
    assert quotes > 2500
