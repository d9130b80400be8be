"""``make bench``: every benchmark, one table, and ``bench/results/summary.json``.

Phases: parse (in process), pipeline (embedded Tansu broker + real stream workers:
throughput and latency at 250 / 2,500 / 10,000 ticks/s beside a bare aiokafka loop and
Quix Streams (its own venv, installed on first use) in the same run, each once copying ticks
and once doing EchoArb's edge work (latency only, ``bench/edge_work.py``), latency vs pairs,
memory with 1,000 pairs, scaling over 1/2/4 workers), sink (``bench/sink_insert.py`` into embedded
ClickHouse). ``--quick`` shrinks every input (the smoke test uses it).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import core as core_bench
from bench import edge_engine as edge_bench
from bench import parse as parse_bench
from bench import pipeline as pipeline_bench
from bench.common import machine, save

HERE = Path(__file__).resolve().parent
#: The latency rows' comparison points: copying each tick (the framework alone), then doing
#: EchoArb's edge work (bench/edge_work.py).
PEER_NAMES = (("bare", "bare"), ("quix", "Quix"), ("bare-edge", "bare+edge"), ("quix-edge", "Quix+edge"))
SINK_LINE = re.compile(r"^\s*(\w+)\s+([\d,]+) rows in\s+([\d.]+) s =\s+([\d,]+) rows/s")


def sink(rows: int, batch: int | None) -> dict[str, Any]:
    """``batch`` None: the sink's default rows per insert (SINK_BATCH_ROWS)."""
    script = HERE / "sink_insert.py"
    if not script.exists():
        return {"skipped": "bench/sink_insert.py not present"}
    proc = subprocess.run(
        [sys.executable, str(script), "--rows", str(rows), *(["--batch", str(batch)] if batch else [])],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=HERE.parent,
    )
    out: dict[str, Any] = {"rows": rows, "batch": batch}
    for line in proc.stdout.splitlines():
        m = SINK_LINE.match(line)
        if m:
            out[f"{m.group(1)}_rows_per_s"] = int(m.group(4).replace(",", ""))
    if proc.returncode:
        out["error"] = proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
    return out


def _cut(rate: dict[str, Any]) -> str:
    """A mark for a pass that was still behind when the bench stopped waiting (its slowest
    outputs are not in its figures, which are therefore better than the truth)."""
    return " (still behind: cut off)" if rate.get("drained") is False else ""


def table(r: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str]] = []
    m = r["machine"]
    rows.append(
        ("machine", f"{m['cores']} cores, Python {m['python']}", f"load avg 1m at start {m['loadavg_1m']}")
    )
    for venue, v in r.get("parse", {}).get("venues", {}).items():
        rows.append(
            (
                f"parse {venue}",
                f"{v['frames_per_s']:,} frames/s",
                f"json.loads {v['json_loads_frames_per_s']:,}/s, ratio {v['ratio_vs_json_loads']}",
            )
        )
    if "core" in r:
        c = r["core"]
        rows.append(
            (
                "worker core, no Kafka (1 core)",
                f"{c['fast']['ticks_per_s']:,} ticks/s",
                f"without the uncrossed-tick skip {c['slow_path']['ticks_per_s']:,}/s",
            )
        )
    if "edge" in r:
        e = r["edge"]
        rows.append(
            (
                "edge engine, CPU per crossed tick",
                f"scan {e['scan']['fast_us_per_tick']} us, core {e['core']['fast_us_per_tick']} us",
                f"reference {e['scan']['reference_us_per_tick']} / {e['core']['reference_us_per_tick']} us "
                f"({e['scan']['speedup']}x / {e['core']['speedup']}x), "
                f"identical outputs: {e['identical_outputs']}",
            )
        )
    p = r.get("pipeline", {})
    if "throughput" in p:
        t = p["throughput"]
        quix = t.get("quix_ticks_per_s")
        rows.append(
            (
                f"pipeline 1 worker, {t['pairs']} pairs x 3",
                f"{t['worker_ticks_per_s']:,} ticks/s",
                f"bare aiokafka {_num(t.get('baseline_ticks_per_s'))}/s, "
                f"ratio {t.get('ratio_worker_vs_baseline')}; "
                + (f"Quix Streams {quix:,}/s" if quix else f"Quix: {t.get('quix_error', 'not run')[:60]}"),
            )
        )
    peers = p.get("latency_peers", {})
    for rate, v in p.get("latency", {}).get("rates", {}).items():
        beside = []
        for kind, name in PEER_NAMES:
            pv = peers.get(kind, {}).get("rates", {}).get(rate)
            if pv:
                beside.append(
                    f"{name} p50 {pv['p50_ms']} / p99 {pv['p99_ms']} / max {pv['max_ms']}" + _cut(pv)
                )
            elif "error" in peers.get(kind, {}):
                beside.append(f"{name}: {peers[kind]['error'][:50]}")
        rows.append(
            (
                f"latency @{int(rate):,} ticks/s",
                f"p50 {v['p50_ms']} / p99 {v['p99_ms']} / max {v['max_ms']} ms" + _cut(v),
                "; ".join(beside) + f" ({v['spread_events']} events, {v['tick_records_per_s']:,} records/s)",
            )
        )
    for rate, v in p.get("latency_queryable", {}).get("rates", {}).items():
        if v.get("clickhouse_rows"):
            rows.append(
                (
                    f"  -> queryable in ClickHouse @{int(rate):,}",
                    f"p50 {v['clickhouse_p50_ms']} / p99 {v['clickhouse_p99_ms']} ms",
                    f"own pass with the sink: {v['clickhouse_rows']} rows, sink flush {v['sink_flush_s']} s; "
                    f"spread event p50 {v['p50_ms']} / p99 {v['p99_ms']} ms",
                )
            )
    for n, v in p.get("latency_vs_pairs", {}).items():
        rows.append(
            (
                f"latency {n} pairs",
                f"p50 {v['p50_ms']} / p99 {v['p99_ms']} / max {v['max_ms']} ms",
                f"@{v['offered_ticks_per_s']:,} ticks/s, {v['spread_events']} events",
            )
        )
    if "memory" in p:
        v = p["memory"]
        rows.append(
            (
                f"memory {v['pairs']} pairs",
                f"peak RSS {v['worker_peak_rss_mb']} MB",
                f"{v['worker_ticks_per_s']:,} ticks/s",
            )
        )
    for n, v in p.get("scaling", {}).items():
        rows.append(
            (f"scaling {n} worker(s)", f"{v['ticks_per_s']:,} ticks/s", f"peak RSS {v['peak_rss_mb']} MB")
        )
    if "failover" in p:
        v = p["failover"]
        rows.append(
            (
                "failover: SIGKILL 1 of 2 workers",
                f"survivor ready in {v['kill_to_survivor_ready_s']} s",
                f"session timeout {v['session_timeout_s']} s, {v['pairs']} pairs",
            )
        )
    for n, v in p.get("recovery", {}).items():
        rows.append(
            (
                f"recovery: restart with {n} pairs",
                f"ready in {v['restart_to_ready_s']} s",
                f"empty start {v['empty_start_to_ready_s']} s, ratio {v['ratio']}",
            )
        )
    s = r.get("sink", {})
    if "sink_rows_per_s" in s:
        rows.append(
            (
                "sink (ClickHouse), full path",
                f"{s['sink_rows_per_s']:,} rows/s",
                f"bare insert {s.get('baseline_rows_per_s', 0):,}/s, "
                f"ratio {s['sink_rows_per_s'] / max(1, s.get('baseline_rows_per_s', 0)):.2f}; "
                f"ClickHouse-alone floor {s.get('floor_rows_per_s', 0):,}/s",
            )
        )
    elif s:
        rows.append(("sink (ClickHouse)", "-", json.dumps(s)[:80]))
    w = [max(len(x[i]) for x in rows) for i in range(3)]
    lines = [f"{a:<{w[0]}}  {b:<{w[1]}}  {c}" for a, b, c in rows]
    bar = "-" * (w[0] + w[1] + 4 + w[2])
    return "\n".join([bar, *lines, bar])


def _progress(started: float, what: str) -> None:
    """One line per phase on stderr: a full run takes tens of minutes and prints its table last."""
    print(f"bench: {time.monotonic() - started:6.0f} s  {what}", file=sys.stderr, flush=True)


def _num(value: Any) -> str:
    return f"{value:,}" if isinstance(value, (int, float)) else "-"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny inputs (smoke test)")
    ap.add_argument("--only", default="parse,core,edge,pipeline,sink")
    ap.add_argument("--out", default=str(HERE / "results" / "summary.json"))
    args = ap.parse_args(argv)
    only = args.only.split(",")
    started = time.monotonic()
    result: dict[str, Any] = {"machine": machine()}
    if "parse" in only:
        _progress(started, "parse (in process)")
        result["parse"] = parse_bench.run(100, 600 if args.quick else 20_000, 1 if args.quick else 5)
    if "core" in only:
        _progress(started, "core (worker code without Kafka)")
        n, k = (600, 1) if args.quick else (60_000, 3)
        result["core"] = {
            "fast": core_bench.run(100, n, k),
            "slow_path": core_bench.run(100, n, k, slow_path=True),
        }
    if "edge" in only:
        _progress(started, "edge engine")
        result["edge"] = edge_bench.run(100, 600 if args.quick else 20_000, 1 if args.quick else 3)
    if "pipeline" in only:
        pargs = ["--no-save"]
        if args.quick:
            pargs += [
                "--phases",
                "throughput,latency,queryable",
                "--pairs",
                "10",
                "--ticks",
                "600",
                "--repeats",
                "1",
                "--rates",
                "500",
                "--seconds",
                "1",
                "--systems",
                "echoarb,bare,bare-edge",  # Quix needs its own venv from PyPI: make bench only
            ]
        ns = _pipeline_args(pargs)
        _progress(started, "pipeline (embedded broker, workers and peers: the longest phase)")
        import asyncio

        result["pipeline"] = asyncio.run(pipeline_bench.run(ns))
    if "sink" in only:
        _progress(started, "sink (embedded ClickHouse)")
        result["sink"] = sink(2_000 if args.quick else 200_000, 1_000 if args.quick else None)
    result["seconds"] = round(time.monotonic() - started, 1)
    _progress(started, "done")
    text = table(result)
    print(text)
    if not args.quick:
        save("summary", result)
        (HERE / "results" / "summary.txt").write_text(text + "\n")
    else:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1))
    return 0


def _pipeline_args(argv: list[str]) -> argparse.Namespace:
    return pipeline_bench.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
