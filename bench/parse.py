"""Parse benchmark: recorded frames -> venue parser -> normaliser -> Avro TickBatch, per venue.

Single core, in process. Baseline: ``json.loads`` of the same frames. Frames come from
``echoarb.sample.generate_recording`` for a generated pairs config (every pair on all three
venues). Each venue's frames run through their own ``FrameHandler`` (parsers are stateful:
snapshots before deltas), ticks are encoded as TickBatch records of up to 100 ticks.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from typing import Any

from bench.common import median, pairs_config, save
from echoarb.codec import load_codecs
from echoarb.frames import FrameHandler
from echoarb.pairs import parse_pairs
from echoarb.records import tick_to_record
from echoarb.sample import generate_recording

BATCH = 100


def _pipeline_once(config: Any, frames: list[Any], codec: Any) -> tuple[float, int]:
    handler = FrameHandler(config)
    encode = codec.encode
    pending: list[dict[str, Any]] = []
    ticks = 0
    gc.disable()
    t0 = time.perf_counter()
    for frame in frames:
        outcome = handler.handle(
            frame.venue, frame.frame, frame.recv_ts, source=frame.source, path=frame.path
        )
        for tick in outcome.ticks:
            pending.append(tick_to_record(tick))
        if len(pending) >= BATCH:
            ticks += len(pending)
            encode(
                {
                    "venue": frame.venue,
                    "producer_id": "bench",
                    "watermark": frame.recv_ts,
                    "end_of_stream": False,
                    "ticks": pending,
                }
            )
            pending = []
    if pending:
        ticks += len(pending)
        encode(
            {
                "venue": frames[-1].venue,
                "producer_id": "bench",
                "watermark": 0,
                "end_of_stream": False,
                "ticks": pending,
            }
        )
    elapsed = time.perf_counter() - t0
    gc.enable()
    return elapsed, ticks


def _json_once(frames: list[Any]) -> float:
    loads = json.loads
    texts = [f.frame for f in frames]
    t0 = time.perf_counter()
    for text in texts:
        try:  # noqa: SIM105 - contextlib.suppress would time a context manager per frame
            loads(text)
        except ValueError:  # the recording's few malformed frames
            pass
    return time.perf_counter() - t0


def run(n_pairs: int = 100, n_frames: int = 20_000, repeats: int = 5, seed: int = 11) -> dict[str, Any]:
    raw = pairs_config(n_pairs)
    config = parse_pairs(raw)
    codec = load_codecs().tick_batch
    recording = generate_recording(raw, frames=n_frames, seed=seed)
    by_venue: dict[str, list[Any]] = {}
    for frame in recording:
        by_venue.setdefault(frame.venue, []).append(frame)
    rows = {}
    for venue in sorted(by_venue):
        frames = by_venue[venue]
        runs = [_pipeline_once(config, frames, codec) for _ in range(repeats)]
        rate = median([len(frames) / e for e, _ in runs])
        ticks = runs[0][1]
        base = median([len(frames) / _json_once(frames) for _ in range(repeats)])
        rows[venue] = {
            "frames": len(frames),
            "ticks": ticks,
            "frames_per_s": round(rate),
            "ticks_per_s": round(rate * ticks / len(frames)),
            "json_loads_frames_per_s": round(base),
            "ratio_vs_json_loads": round(rate / base, 3),
            "samples_frames_per_s": [round(len(frames) / e) for e, _ in runs],
        }
    return {"pairs": n_pairs, "frames": n_frames, "repeats": repeats, "venues": rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=100)
    ap.add_argument("--frames", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args(argv)
    result = run(args.pairs, args.frames, args.repeats)
    if not args.no_save:
        save("parse", result)
    json.dump(result, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
