"""Backtest benchmark: frames/s of ``echoarb backtest`` beside its baseline and ``echoarb replay``.

Recordings: the bundled sample (3,000 frames, 4 pairs) and a generated one-hour recording of
100 pairs (``fed-rate-march`` plus 99 ``bench`` pairs; the generator writes about 10 frames per
second of recording, so an hour is ~37,200 frames). In one run, on the same recording:

- baseline: the ingest pipeline alone (parsers, books, normaliser, batching into a
  ``MemorySink``), the part the backtest cannot skip;
- backtest: the whole in-process run (pipeline, merge and scanner, the trades at the
  configured latency and the 11-point decay sweep), wall and CPU time;
- peer: ``echoarb replay`` of the same recording (embedded broker, Faust worker, ClickHouse
  sink), wall time of the command (``--no-replay`` skips it: about 2 minutes for the hour).

``python -m bench.backtest [--frames 37200] [--repeat 3] [--no-replay]``; results in
``bench/results/backtest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import machine, median, pairs_config, save
from echoarb.backtest.latency import LatencyModel
from echoarb.backtest.run import Backtest, BacktestConfig
from echoarb.ingest.pipeline import FramePipeline, MemorySink, frame_handler, tick_batcher
from echoarb.pairs import load_pairs
from echoarb.resources import EXAMPLE_PAIRS, SAMPLE_RECORDING
from echoarb.settings import Settings
from echoarb.venues.recording import RecordedFrame, RecordingWriter, read_recording
from echoarb.venues.sample import generate_recording

CONFIG = BacktestConfig(latency=LatencyModel.parse("kalshi=150ms,polymarket=300ms"))


def _baseline(settings: Settings, pairs_file: Path, frames: list[RecordedFrame]) -> tuple[float, float]:
    pairs = load_pairs(pairs_file)
    sink = MemorySink(tick_batcher(settings, pairs), linger_ms=settings.batch_linger_ms)
    pipeline = FramePipeline(frame_handler(settings, pairs), sink)

    async def feed() -> None:
        for frame in frames:
            await pipeline.feed(frame)
            sink.batches.clear()
        await sink.flush(end_of_stream=True)

    c0, t0 = time.process_time(), time.perf_counter()
    asyncio.run(feed())
    return time.perf_counter() - t0, time.process_time() - c0


def _backtest(settings: Settings, pairs_file: Path, frames: list[RecordedFrame]) -> tuple[float, float, int]:
    backtest = Backtest(settings, load_pairs(pairs_file))

    async def feed() -> None:
        for frame in frames:
            await backtest.feed(frame)
        await backtest.finish()

    c0, t0 = time.process_time(), time.perf_counter()
    asyncio.run(feed())
    result = backtest.evaluate(CONFIG)
    return time.perf_counter() - t0, time.process_time() - c0, result.spreads


def _replay(recording: Path, pairs_file: Path, workdir: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP", "CLICKHOUSE_URL")}
    env["DATA_DIR"] = str(workdir / "data")
    out = workdir / "replay-spreads.jsonl"
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "echoarb",
            "replay",
            str(recording),
            "--pairs",
            str(pairs_file),
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:] or ["failed"]}
    return {"seconds": round(seconds, 2), "spreads": sum(1 for _ in out.open())}


def measure(
    name: str, recording: Path, pairs_file: Path, repeat: int, with_replay: bool, workdir: Path
) -> dict[str, Any]:
    settings = Settings()
    frames = list(read_recording(recording))
    n = len(frames)
    base = [_baseline(settings, pairs_file, frames) for _ in range(repeat)]
    runs = [_backtest(settings, pairs_file, frames) for _ in range(repeat)]
    wall = median([r[0] for r in runs])
    cpu = median([r[1] for r in runs])
    base_wall = median([b[0] for b in base])
    base_cpu = median([b[1] for b in base])
    row: dict[str, Any] = {
        "recording": name,
        "frames": n,
        "spread_events": runs[0][2],
        "baseline_pipeline_frames_per_s": round(n / base_wall),
        "baseline_pipeline_cpu_frames_per_s": round(n / base_cpu),
        "backtest_frames_per_s": round(n / wall),
        "backtest_cpu_frames_per_s": round(n / cpu),
        "backtest_seconds": round(wall, 3),
        # Of the backtest's CPU time, what the merge, scanner, timeline and trades add to the pipeline.
        "scan_and_simulation_cpu_share": round(1 - base_cpu / cpu, 3),
    }
    if with_replay:
        replay = _replay(recording, pairs_file, workdir)
        row["replay"] = replay
        if "seconds" in replay:
            row["replay_frames_per_s"] = round(n / replay["seconds"])
            row["speedup_vs_replay"] = round(replay["seconds"] / wall, 1)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backtest", description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=37_200, help="frames of the generated recording (~1 h)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--no-replay", action="store_true", help="skip the echoarb replay peer")
    parser.add_argument("--out", help="write the results here (default: bench/results/backtest.json)")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # the sample's deliberately malformed frames
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
        work = Path(tmp)
        config = pairs_config(99)
        fed = [p for p in json.loads(EXAMPLE_PAIRS.read_text())["pairs"] if p["id"] == "fed-rate-march"]
        config["pairs"] = fed + config["pairs"]
        pairs_file = work / "pairs.json"
        pairs_file.write_text(json.dumps(config))
        hour = work / "hour.jsonl"
        with RecordingWriter(hour) as writer:
            for frame in generate_recording(config, frames=args.frames, seed=7):
                writer.write(frame)
        rows = [
            measure(
                "bundled sample (4 pairs)",
                SAMPLE_RECORDING,
                EXAMPLE_PAIRS,
                args.repeat,
                not args.no_replay,
                work,
            ),
            measure(
                f"generated, 100 pairs, {args.frames} frames",
                hour,
                pairs_file,
                args.repeat,
                not args.no_replay,
                work,
            ),
        ]
    for row in rows:
        peer = f", replay {row['replay_frames_per_s']:,} frames/s" if "replay_frames_per_s" in row else ""
        print(
            f"{row['recording']:<40} {row['frames']:>7} frames: "
            f"backtest {row['backtest_frames_per_s']:,} frames/s (CPU {row['backtest_cpu_frames_per_s']:,}), "
            f"pipeline alone {row['baseline_pipeline_frames_per_s']:,} "
            f"(CPU {row['baseline_pipeline_cpu_frames_per_s']:,}){peer}"
        )
    if args.out:
        path = Path(args.out)
        path.write_text(
            json.dumps({"benchmark": "backtest", "machine": machine(), "rows": rows}, indent=1) + "\n"
        )
    else:
        path = save("backtest", {"rows": rows})
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
