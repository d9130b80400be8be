"""A hand-built recording whose books change between the signal and the fills, end to end.

The frames build the worked example of docs/edge.md (size 120, net profit 1.9043); then,
before the orders arrive, Polymarket's NO 0.47 level shrinks to 50 and Kalshi's NO asks
improve to 0.56 (its YES bids rise to 0.44). The figures are those of
``test_trade.test_short_second_leg_unwound_at_market``, computed by hand there.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest

from echoarb.backtest.latency import LatencyModel
from echoarb.backtest.run import Backtest, BacktestConfig, BacktestResult
from echoarb.backtest.stats import summarise
from echoarb.backtest.trade import Strategy
from echoarb.pairs import parse_pairs
from echoarb.settings import Settings
from echoarb.venues.recording import RecordedFrame, RecordingWriter
from tests.paths import REPO
from tests.scan.test_scanner import kalshi_snapshot, poly_book

T = 1_767_225_600_000
PAIRS_JSON = {
    "pairs": [
        {
            "id": "fed",
            "description": "Fed cuts in March",
            "kalshi": {"ticker": "FED-25MAR-T4.75"},
            "polymarket": {"token_id": "111", "no_token_id": "222", "fee_rate": "0.04"},
        }
    ]
}
K_NO_BIDS = [("0.52", "80"), ("0.50", "200")]  # Kalshi YES asks 0.48 x80, 0.50 x200
FRAMES = [
    RecordedFrame("kalshi", T, kalshi_snapshot(1, [("0.41", "50"), ("0.40", "100")], K_NO_BIDS)),
    RecordedFrame("polymarket", T + 1, poly_book("111", [("0.44", "100")], [("0.55", "300")], T + 1)),
    # The signal: merge time T + 2.
    RecordedFrame("polymarket", T + 2, poly_book("222", [], [("0.47", "120"), ("0.49", "500")], T + 2)),
    # Kalshi NO asks 0.56 x100, 0.60 x100 (YES asks unchanged): no new spread event.
    RecordedFrame("kalshi", T + 100, kalshi_snapshot(2, [("0.44", "100"), ("0.40", "100")], K_NO_BIDS)),
    # Polymarket NO 0.47 down to 50: the opportunity shrinks (an update of the same episode).
    RecordedFrame("polymarket", T + 200, poly_book("222", [], [("0.47", "50"), ("0.49", "500")], T + 200)),
    # Gone 3 s after the signal.
    RecordedFrame("polymarket", T + 3_002, poly_book("222", [], [("0.53", "500")], T + 3_002)),
]


def _settings() -> Settings:
    return Settings(partitions=4)


def backtest(config: BacktestConfig) -> tuple[Backtest, BacktestResult]:
    bt = Backtest(_settings(), parse_pairs(PAIRS_JSON))

    async def feed() -> None:
        for frame in FRAMES:
            await bt.feed(frame)
        await bt.finish()

    asyncio.run(feed())
    return bt, bt.evaluate(config)


CONFIG = BacktestConfig(
    strategy=Strategy(policy="unwind"),
    latency=LatencyModel.parse("kalshi=150ms,polymarket=300ms"),
    decay_delays_ms=(0, 100, 250, 1000, 3000, 5000),
)


def test_every_fill_fee_and_pnl_figure() -> None:
    _, result = backtest(CONFIG)
    assert (result.frames, result.parse_errors, result.signals) == (6, 0, 2)
    [taken] = result.taken
    episode, trade = taken.episode, taken.trade
    assert trade is not None
    assert (episode.start_ts, episode.end_ts, episode.lifetime_ms, episode.updates) == (
        T + 2,
        T + 3_002,
        3_000,
        1,
    )
    assert trade.signal.limits == (D("0.50"), D("0.47"))
    assert [
        (f.order.purpose, f.order.venue, f.order.side, f.order.ts - T, f.filled, f.notional, f.fees)
        for f in trade.orders
    ] == [
        ("entry", "kalshi", "yes", 152, D(120), D("58.40"), D("2.10")),
        ("entry", "polymarket", "no", 302, D(50), D("23.50"), D("0.4982")),
        ("unwind", "kalshi", "no", 452, D(70), D("39.20"), D("1.21")),
    ]
    assert (trade.outlay, trade.pnl) == (D("124.9082"), D("-4.9082"))

    summary = summarise(result).to_json()
    total = summary["total"]
    assert {k: total[k] for k in ("seen", "taken", "filled_any", "fully_filled", "one_legged")} == {
        "seen": 1,
        "taken": 1,
        "filled_any": 1,
        "fully_filled": 0,
        "one_legged": 1,
    }
    assert (total["reported_profit"], total["realised_pnl"], total["fees"]) == ("1.9043", "-4.9082", "3.8082")
    assert total["one_legged_cost"] == "6.8125"  # 1.9043 - (-4.9082)


def test_decay_curve() -> None:
    _, result = backtest(CONFIG)
    decay = {p["delay_ms"]: p for p in summarise(result).to_json()["decay"]}
    # Up to 197 ms every venue still meets the signal's books (Polymarket changes at T + 200).
    for delay in (0, 100):
        assert (decay[delay]["takeable"], decay[delay]["realised_pnl"]) == (1, "1.9043")
    # 250 ms: Polymarket gets 50, the 70 Kalshi YES are unwound 250 ms later on the 0.56 asks:
    # the unwind case of test_trade, to the cent.
    assert (decay[250]["takeable"], decay[250]["realised_pnl"]) == (0, "-4.9082")
    # 5 s: Polymarket has no NO ask at or under 0.47 any more: all 120 Kalshi YES unwound:
    # 100 x 0.56 + 20 x 0.60 = 68.00, fees ceil_cent(1.7248) + ceil_cent(0.336) = 1.73 + 0.34.
    assert decay[5000]["realised_pnl"] == str(D(120) - D("58.40") - D("2.10") - D("68.00") - D("2.07"))
    assert decay[5000]["share_takeable"] == "0"


def test_policies_on_the_same_recording() -> None:
    hedge = backtest(BacktestConfig(strategy=Strategy(policy="hedge"), latency=CONFIG.latency))[1]
    assert hedge.taken[0].trade is not None and hedge.taken[0].trade.pnl == D("0.5020")
    seq = backtest(BacktestConfig(strategy=Strategy("polymarket-first"), latency=CONFIG.latency))[1]
    assert seq.taken[0].trade is not None and seq.taken[0].trade.pnl == D("1.1218")


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP", "CLICKHOUSE_URL")}
    env["DATA_DIR"] = str(cwd / "data")
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "echoarb", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
    )


def _write(tmp_path: Path) -> tuple[Path, Path]:
    rec = tmp_path / "hand.jsonl"
    with RecordingWriter(rec) as writer:
        for frame in FRAMES:
            writer.write(frame)
    pairs = tmp_path / "pairs.json"
    pairs.write_text(json.dumps(PAIRS_JSON))
    return rec, pairs


def test_cli_end_to_end_writes_the_report(tmp_path: Path) -> None:
    rec, pairs = _write(tmp_path)
    out = tmp_path / "report"
    proc = _cli(
        [
            "backtest",
            str(rec),
            "--pairs",
            str(pairs),
            "--latency",
            "kalshi=150ms,polymarket=300ms",
            "--policy",
            "unwind",
            "--decay",
            "0,250ms,5s",
            "--resolves",
            "fed=2027-03-19",
            "--out",
            str(out),
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert "seen 1, taken 1, filled 1, fully filled 0 (0.0%), one-legged 1" in proc.stdout
    assert "reported 1.9043, realised -4.9082" in proc.stdout
    for name in (
        "summary.json",
        "trades.csv",
        "report.md",
        "funnel.png",
        "pnl_by_pair.png",
        "decay.png",
        "lifetimes.png",
    ):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["total"]["realised_pnl"] == "-4.9082"
    assert [p["delay_ms"] for p in summary["decay"]] == [0, 250, 5000]
    [pair] = summary["pairs"]
    assert (
        pair["capital"] == "124.9082"
        and pair["annualised_return"] is not None
        and pair["annualised_return"] < 0
    )
    md = (out / "report.md").read_text()
    assert "| 1.9043 | -4.9082 |" in md and "2027-03-19" in md and "![edge decay](decay.png)" in md
    rows = list(csv.DictReader((out / "trades.csv").open()))
    assert [(r["purpose"], r["venue"], r["filled"], r["fees"]) for r in rows] == [
        ("entry", "kalshi", "120", "2.10"),
        ("entry", "polymarket", "50", "0.4982"),
        ("unwind", "kalshi", "70", "1.21"),
    ]
    assert (out / "decay.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_bad_recording_line_is_one_clear_line(tmp_path: Path) -> None:
    rec, pairs = _write(tmp_path)
    lines = rec.read_text().splitlines()
    rec.write_text("\n".join([*lines[:2], "{not json", *lines[2:]]) + "\n")
    proc = _cli(["backtest", str(rec), "--pairs", str(pairs), "--out", str(tmp_path / "r")], tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("echoarb: error:")]
    assert len(errors) == 1 and f"{rec}:3:" in errors[0] and "--skip-bad-lines" in errors[0], proc.stderr
    skipped = _cli(
        ["backtest", str(rec), "--pairs", str(pairs), "--skip-bad-lines", "--out", str(tmp_path / "r")],
        tmp_path,
    )
    assert skipped.returncode == 0, skipped.stderr[-2000:]
    assert "1 bad lines skipped" in skipped.stdout


def test_cli_bad_options_are_one_clear_line(tmp_path: Path) -> None:
    rec, pairs = _write(tmp_path)
    for args, needle in (
        (["--latency", "kalshi=fast"], "--latency: 'fast' is not a duration"),
        (["--resolves", "nope=2027-01-01"], "unknown pair 'nope'"),
        (["--decay", "soon"], "--decay"),
        (["--paper"], "--paper reads a running pipeline's topics: set KAFKA_BOOTSTRAP"),
    ):
        proc = _cli(["backtest", str(rec), "--pairs", str(pairs), *args], tmp_path)
        assert proc.returncode == 2, proc.stderr
        errors = [line for line in proc.stderr.splitlines() if line.startswith("echoarb: error:")]
        assert len(errors) == 1 and needle in errors[0], proc.stderr


def test_help_explains_the_options(tmp_path: Path) -> None:
    proc = _cli(["backtest", "--help"], tmp_path)
    assert proc.returncode == 0
    for needle in (
        "--latency",
        "normal:MEAN:SD",
        "--legs",
        "hedge",
        "unwind",
        "hold",
        "--decay",
        "summary.json",
    ):
        assert needle in proc.stdout, needle


def test_report_without_matplotlib_still_has_every_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from echoarb.backtest import report

    def no_matplotlib(*_: object) -> list[Path]:
        raise ImportError("No module named 'matplotlib'")

    monkeypatch.setattr(report, "write_charts", no_matplotlib)
    _, result = backtest(CONFIG)
    files = report.write_report(summarise(result), result, tmp_path, recording="hand.jsonl", seconds=0)
    assert files.charts == () and "matplotlib is not installed" in files.charts_missing
    md = files.markdown.read_text()
    assert "Recording `hand.jsonl`: 6 frames" in md and "| 1.9043 | -4.9082 |" in md
    assert "![" not in md and "matplotlib is not installed" in md
    assert not list(tmp_path.glob("*.png"))
