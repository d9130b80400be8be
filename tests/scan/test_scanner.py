"""Frames -> parsers -> normaliser -> scanner, with no broker: the worked example of edge.md."""

import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from echoarb.ingest.frames import FrameHandler
from echoarb.model import Opportunity
from echoarb.pairs import PairsConfig, parse_pairs
from echoarb.scan.scanner import PartitionScanner, ScanParams
from echoarb.scan.state import encode_state

Frame = tuple[str, str, int]
Book = list[tuple[str, str]]

PAIRS = parse_pairs(
    {
        "pairs": [
            {
                "id": "fed",
                "kalshi": {"ticker": "FED-25MAR-T4.75"},
                "polymarket": {"token_id": "111", "no_token_id": "222", "fee_rate": "0.04"},
            }
        ]
    }
)


def kalshi_snapshot(seq: int, yes: Book, no: Book, ticker: str = "FED-25MAR-T4.75") -> str:
    return json.dumps(
        {
            "type": "orderbook_snapshot",
            "sid": 1,
            "seq": seq,
            "msg": {
                "market_ticker": ticker,
                "market_id": "m",
                "yes_dollars_fp": [[p, s] for p, s in yes],
                "no_dollars_fp": [[p, s] for p, s in no],
            },
        }
    )


def poly_book(asset: str, bids: Book, asks: Book, ts: int) -> str:
    return json.dumps(
        {
            "event_type": "book",
            "asset_id": asset,
            "market": "0xc",
            "timestamp": str(ts),
            "bids": [{"price": p, "size": s} for p, s in bids],
            "asks": [{"price": p, "size": s} for p, s in asks],
            "hash": "h",
        }
    )


def run(
    frames: Iterable[Frame], pairs: PairsConfig = PAIRS, **params: Any
) -> tuple[list[Opportunity], PartitionScanner]:
    handler = FrameHandler(pairs)
    scanner = PartitionScanner(pairs.by_id(), ScanParams(**params))
    emitted: list[Opportunity] = []
    for venue, frame, ts in frames:
        outcome = handler.handle(venue, frame, ts)
        assert not outcome.errors
        for tick in outcome.ticks:
            emitted.extend(scanner.apply(tick))
    return emitted, scanner


T = 1_767_225_600_000  # venue timestamps are epoch ms
WORKED: list[Frame] = [
    ("kalshi", kalshi_snapshot(1, [("0.41", "50"), ("0.40", "100")], [("0.52", "80"), ("0.50", "200")]), T),
    ("polymarket", poly_book("111", [("0.44", "100")], [("0.55", "300")], T + 1), T + 1),
    ("polymarket", poly_book("222", [], [("0.47", "120"), ("0.49", "500")], T + 2), T + 2),
]


def test_worked_example_from_frames() -> None:
    emitted, _ = run(WORKED)
    assert len(emitted) == 1  # only the direction with an edge; "no opportunity" is not emitted
    opp = emitted[0]
    assert [(leg.venue, leg.side) for leg in opp.legs] == [("kalshi", "yes"), ("polymarket", "no")]
    assert (opp.size, opp.cost, opp.fees, opp.net_profit) == (
        Decimal(120),
        Decimal("114.80"),
        Decimal("3.2957"),
        Decimal("1.9043"),
    )
    assert opp.gross_edge == Decimal("0.05") and opp.executable


def test_unchanged_result_not_re_emitted_and_disappearance_is() -> None:
    frames = [*WORKED, ("polymarket", poly_book("111", [("0.44", "100")], [("0.56", "300")], T + 3), T + 3)]
    emitted, _ = run(frames)
    assert len(emitted) == 1  # YES-token change does not affect kalshi:yes + polymarket:no
    gone = [*WORKED, ("polymarket", poly_book("222", [], [("0.60", "120")], T + 4), T + 4)]
    emitted, scanner = run(gone)
    assert [o.size for o in emitted] == [Decimal(120), Decimal(0)]
    assert not emitted[-1].executable and not scanner.states["fed"].executable


def test_stale_leg_is_not_executable() -> None:
    frames = [*WORKED[:2], ("polymarket", poly_book("222", [], [("0.47", "120")], T + 40_000), T + 40_000)]
    emitted, _ = run(frames, max_quote_age_ms=30_000)
    assert emitted and not emitted[-1].executable and emitted[-1].quote_age_ms == 40_000


def test_inverted_venue_swaps_yes_and_no() -> None:
    pairs = parse_pairs(
        {
            "pairs": [
                {
                    "id": "fed",
                    "kalshi": {"ticker": "FED-25MAR-T4.75"},
                    "polymarket": {
                        "token_id": "222",
                        "no_token_id": "111",
                        "fee_rate": "0.04",
                        "invert": True,
                    },
                }
            ]
        }
    )
    emitted, _ = run(WORKED, pairs=pairs)
    # Inverted twice (tokens swapped AND invert) is the same market as WORKED.
    assert [(o.size, o.net_profit) for o in emitted] == [(Decimal(120), Decimal("1.9043"))]


def test_state_round_trips_through_json() -> None:
    _, scanner = run(WORKED)
    state = scanner.states["fed"]
    raw = encode_state(state.to_json())  # the pair-state table's value
    restored = PartitionScanner(PAIRS.by_id(), ScanParams(), load=lambda pid: raw)
    assert restored.state("fed").to_json() == state.to_json()
    back = restored.state("fed")
    assert (back.best, back.last_spread) == (state.best, state.last_spread)
    assert back.recent_windows == state.recent_windows
    assert back.quotes == state.quotes and back.applied == state.applied
    # The restored detector remembers what was emitted: the same books emit nothing new.
    assert restored.apply(state.quotes["polymarket"]) == []


def test_late_tick_still_updates_quote_and_late_event_is_counted() -> None:
    """A tick whose event time is older than closed windows: quote updated, window event counted late."""
    pairs = PAIRS
    handler = FrameHandler(pairs)
    scanner = PartitionScanner(
        pairs.by_id(),
        ScanParams(tumbling_ms=60_000, hopping_ms=300_000, hopping_step_ms=60_000, window_grace_ms=0),
    )
    for venue, frame, ts in WORKED:
        for tick in handler.handle(venue, frame, ts).ticks:
            scanner.apply(tick)
    # Event clock moves two minutes on: the first minute's windows close.
    later = T + 120_000
    for tick in handler.handle(
        "polymarket", poly_book("111", [("0.44", "100")], [("0.55", "300")], later), later
    ).ticks:
        scanner.apply(tick)
    closed = scanner.close_windows()
    assert any(c.window == "tumbling" and c.start == (T // 60_000) * 60_000 for c in closed)
    # A late Polymarket NO book stamped in the closed minute arrives now.
    late = handler.handle("polymarket", poly_book("222", [], [("0.60", "120")], T + 5), later + 1).ticks
    emitted = [o for tick in late for o in scanner.apply(tick)]
    assert emitted and emitted[0].size == 0  # the opportunity disappears...
    state = scanner.states["fed"]
    assert state.quotes["polymarket"].no_asks[0].price == Decimal("0.60")  # ...the quote is the newest
    assert scanner.late_window_events == 0  # the event's time is the pair's newest input (not late)


def test_reapplied_ticks_are_skipped_per_venue_and_old_states_restore() -> None:
    from dataclasses import replace

    _, scanner = run(WORKED)
    state = scanner.state("fed")
    kalshi, poly = state.quotes["kalshi"], state.quotes["polymarket"]
    assert set(state.applied) == {"kalshi", "polymarket"}
    # A kalshi tick stamped before the newest polymarket one (live merge: arrival order) applies.
    late = replace(kalshi, recv_ts=kalshi.recv_ts + 1, seq=kalshi.seq + 1)
    assert late.recv_ts < poly.recv_ts
    before = scanner.reapplied
    scanner.apply(late)
    assert scanner.reapplied == before and state.quotes["kalshi"] is late
    scanner.apply(late)  # the same tick re-read after a crash: skipped
    assert scanner.reapplied == before + 1
    # A state saved with one position for the whole pair: every venue resumes after it.
    raw = json.loads(json.dumps(state.to_json()))
    raw["applied"] = [poly.recv_ts, 1, poly.seq]
    old = encode_state(raw)
    restored = PartitionScanner(PAIRS.by_id(), ScanParams(), load=lambda pid: old)
    assert restored.apply(late) == [] and restored.reapplied == 1
