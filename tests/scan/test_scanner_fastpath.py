"""The scanner's skip of ticks that cannot cross changes nothing: same events, same state."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

from echoarb.ingest.frames import FrameHandler
from echoarb.model import Tick
from echoarb.pairs import PairsConfig, parse_pairs
from echoarb.scan.scanner import PartitionScanner, ScanParams
from echoarb.venues.sample import generate_recording
from echoarb.wire.records import spread_id


def _config(n: int) -> dict[str, Any]:
    pairs = []
    for i in range(n):
        base = str(10**40 + i)
        pairs.append(
            {
                "id": f"p{i}",
                "kalshi": {"ticker": f"K-{i}"},
                "polymarket": {"token_id": base + "1", "no_token_id": base + "2", "fee_rate": "0.04"},
                "manifold": {"slug": f"m-{i}"},
            }
        )
    return {"pairs": pairs}


def _run(
    ticks: list[Tick], pairs: PairsConfig, params: ScanParams, *, fast: bool
) -> tuple[list[str], list[str], PartitionScanner]:
    scanner = PartitionScanner(pairs.by_id(), params)
    if not fast:
        scanner._uncrossed = lambda *a: False  # type: ignore[method-assign]
    events: list[str] = []
    snapshots: list[str] = []
    for i, tick in enumerate(ticks):
        events.extend(spread_id(o) for o in scanner.apply(tick))
        if i % 50 == 0:
            scanner.close_windows()
            snapshots.append(json.dumps([s.to_json() for s in scanner.take_dirty()], sort_keys=True))
    scanner.close_windows(final=True)
    snapshots.append(json.dumps([s.to_json() for s in scanner.take_dirty()], sort_keys=True))
    return events, snapshots, scanner


def test_fast_path_is_invisible() -> None:
    raw = _config(6)
    pairs = parse_pairs(raw)
    handler = FrameHandler(pairs)
    ticks: list[Tick] = []
    for f in generate_recording(raw, frames=3000, seed=3):
        ticks.extend(handler.handle(f.venue, f.frame, f.recv_ts, source=f.source, path=f.path).ticks)
    # Cross some books on purpose so both paths get exercised.
    crossed = [
        replace(t, no_asks=tuple(replace(lv, price=lv.price - Decimal("0.3")) for lv in t.no_asks))
        if i % 97 < 7 and t.venue == "polymarket"
        else t
        for i, t in enumerate(ticks)
    ]
    for min_edge in (Decimal(0), Decimal("0.02")):
        params = ScanParams(min_edge=min_edge)
        fast = _run(crossed, pairs, params, fast=True)
        slow = _run(crossed, pairs, params, fast=False)
        assert fast[0] == slow[0]
        assert fast[1] == slow[1]
        assert fast[0], "the crossed books produced events"
        assert fast[2].skipped > len(crossed) // 2
