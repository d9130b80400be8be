"""The bundled sample's backtest, pinned: headline figures and the decay curve (golden file).

After a deliberate change to the engine, the fee rules or the sample, regenerate the golden
file with ``ECHOARB_REGEN_GOLDEN=1 pytest tests/backtest/test_sample_golden.py`` and review
the diff: every changed number is a changed claim about the sample's one opportunity.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from echoarb.backtest.latency import LatencyModel
from echoarb.backtest.run import Backtest, BacktestConfig
from echoarb.backtest.stats import summarise
from echoarb.pairs import load_pairs
from echoarb.settings import Settings
from echoarb.venues.recording import read_recording
from tests.paths import PAIRS, SAMPLE

GOLDEN = Path(__file__).parent / "golden" / "sample_summary.json"


def _summary() -> dict[str, Any]:
    backtest = Backtest(Settings(), load_pairs(PAIRS))

    async def feed() -> None:
        for frame in read_recording(SAMPLE):
            await backtest.feed(frame)
        await backtest.finish()

    asyncio.run(feed())
    # The CLI's defaults: simultaneous legs, unwind, kalshi=150ms,polymarket=300ms, 0..5 s decay.
    config = BacktestConfig(latency=LatencyModel.parse("kalshi=150ms,polymarket=300ms"))
    return summarise(backtest.evaluate(config)).to_json()


def test_sample_summary_matches_the_golden_file() -> None:
    summary = _summary()
    if os.environ.get("ECHOARB_REGEN_GOLDEN"):
        GOLDEN.write_text(json.dumps(summary, indent=2) + "\n")
    assert summary == json.loads(GOLDEN.read_text())


def test_sample_headline() -> None:
    """The figures docs/backtest.md quotes (the golden file holds all of them)."""
    golden = json.loads(GOLDEN.read_text())
    total = golden["total"]
    assert (golden["frames"], golden["rejected_frames"], golden["spread_events"]) == (3000, 5, 4)
    assert (total["seen"], total["taken"], total["fully_filled"], total["one_legged"]) == (1, 1, 1, 0)
    assert (total["reported_profit"], total["realised_pnl"]) == ("1.9043", "1.9043")
    curve = {p["delay_ms"]: (p["share_takeable"], p["realised_pnl"]) for p in golden["decay"]}
    # The fed-rate-march edge lives 4 s on the merge clock: takeable up to 3 s, gone at 4 s.
    assert curve[3000] == ("1", "1.9043")
    assert curve[4000][0] == "0" and curve[5000][0] == "0"
