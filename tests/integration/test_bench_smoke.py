"""Smoke test of the benchmark suite: every script runs end to end on a tiny input.

Benchmarks are not tests: nothing here looks at timings, only that each phase produced
its figures (a broken bench is found here rather than on ``make bench`` day).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_quick(tmp_path: Path) -> None:
    out = tmp_path / "summary.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run_all", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,  # ~50 s on a quiet machine; CI shares its cores
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["machine"]["cores"] >= 1
    assert set(result["parse"]["venues"]) == {"kalshi", "polymarket", "manifold"}
    assert result["pipeline"]["throughput"]["worker_ticks_per_s"] > 0
    assert result["pipeline"]["throughput"]["baseline_ticks_per_s"] > 0
    assert "500" in result["pipeline"]["latency"]["rates"]
    assert "clickhouse_p99_ms" not in result["pipeline"]["latency"]["rates"]["500"]  # no sink beside peers
    edge_peer = result["pipeline"]["latency_peers"]["bare-edge"]["rates"]["500"]  # EchoArb's edge work
    assert edge_peer["spread_events"] > 0, edge_peer
    assert "bare-edge_ticks_per_s" not in result["pipeline"]["throughput"]  # latency only
    assert result["pipeline"]["latency_queryable"]["rates"]["500"]["clickhouse_rows"] > 0
    assert "sink" in result
    assert result["edge"]["identical_outputs"] is True  # fast path vs reference evaluation
    assert "pipeline 1 worker" in proc.stdout


def test_fanout_bench_quick(tmp_path: Path) -> None:
    out = tmp_path / "fanout.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.fanout", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    cases = json.loads(out.read_text())["cases"]
    assert {c["server"] for c in cases} == {"echoarb", "naive await-each", "websockets.broadcast"}
    assert all(c["sent"] > 0 and c["delivered_pct"] > 0 for c in cases)
