"""``bench/backtest.py`` runs end to end on a tiny input (no timings are checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.paths import REPO


def test_backtest_bench_quick(tmp_path: Path) -> None:
    out = tmp_path / "backtest.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.backtest",
            "--frames",
            "400",
            "--repeat",
            "1",
            "--no-replay",
            "--out",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads(out.read_text())["rows"]
    assert [r["frames"] for r in rows] == [3000, 400]
    assert rows[0]["spread_events"] == 4
    assert all(r["backtest_frames_per_s"] > 0 and r["baseline_pipeline_frames_per_s"] > 0 for r in rows)
