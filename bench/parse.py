"""Parse benchmark: recorded frames -> venue parser -> normaliser -> Avro TickBatch, per venue.

Single core, in process. Baseline: ``json.loads`` of the same frames. Frames come from
``echoarb.venues.sample.generate_recording`` for a generated pairs config (every pair on all three
venues). Each venue's frames run through their own ``FrameHandler`` (parsers are stateful:
snapshots before deltas), ticks are encoded as TickBatch records of up to 100 ticks.

Rates are reported twice: wall clock (``frames_per_s``, as before) and CPU time of this
process (``cpu_*``), which is the steadier figure on a machine shared with other work; the
json.loads baseline is measured both ways in the same run.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from typing import Any

from bench.common import median, pairs_config, save
from echoarb.ingest.frames import FrameHandler
from echoarb.pairs import parse_pairs
from echoarb.venues.sample import generate_recording
from echoarb.wire.codec import load_codecs
from echoarb.wire.records import tick_to_record

BATCH = 100


def _pipeline_once(config: Any, frames: list[Any], codec: Any) -> tuple[float, int, float]:
    """(wall seconds, ticks, CPU seconds) of parse + normalise + Avro encode of ``frames``."""
    handler = FrameHandler(config)
    encode = codec.encode
    pending: list[dict[str, Any]] = []
    ticks = 0
    gc.disable()
    c0 = time.process_time()
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
    cpu = time.process_time() - c0
    gc.enable()
    return elapsed, ticks, cpu


def _stages_once(config: Any, frames: list[Any], codec: Any) -> tuple[float, float, int]:
    """CPU seconds of (parse + normalise alone, Avro encode alone) and the tick count.

    Splits the pipeline's time: the records of one pass are kept and then encoded on their
    own, in the same batches, so the encode share (fastavro, which stays) is seen apart.
    """
    handler = FrameHandler(config)
    outcomes = []
    gc.disable()
    c0 = time.process_time()
    for frame in frames:
        outcomes.append(
            handler.handle(frame.venue, frame.frame, frame.recv_ts, source=frame.source, path=frame.path)
        )
    parse_cpu = time.process_time() - c0
    gc.enable()
    records = [tick_to_record(t) for outcome in outcomes for t in outcome.ticks]
    batches = [
        {
            "venue": frames[0].venue,
            "producer_id": "bench",
            "watermark": 0,
            "end_of_stream": False,
            "ticks": records[i : i + BATCH],
        }
        for i in range(0, len(records), BATCH)
    ]
    encode = codec.encode
    gc.disable()
    c0 = time.process_time()
    for batch in batches:
        encode(batch)
    encode_cpu = time.process_time() - c0
    gc.enable()
    return parse_cpu, encode_cpu, len(records)


def _json_once(frames: list[Any]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of ``json.loads`` of every frame."""
    loads = json.loads
    texts = [f.frame for f in frames]
    c0 = time.process_time()
    t0 = time.perf_counter()
    for text in texts:
        try:  # noqa: SIM105 - contextlib.suppress would time a context manager per frame
            loads(text)
        except ValueError:  # the recording's few malformed frames
            pass
    return time.perf_counter() - t0, time.process_time() - c0


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
        runs = []
        base_runs = []
        stage_runs = []
        for _ in range(repeats):  # interleaved, so both see the same machine load
            runs.append(_pipeline_once(config, frames, codec))
            base_runs.append(_json_once(frames))
            stage_runs.append(_stages_once(config, frames, codec))
        n = len(frames)
        rate = median([n / e for e, _, _ in runs])
        cpu_rate = median([n / c for _, _, c in runs])
        ticks = runs[0][1]
        base = median([n / e for e, _ in base_runs])
        cpu_base = median([n / c for _, c in base_runs])
        rows[venue] = {
            "frames": n,
            "ticks": ticks,
            "frames_per_s": round(rate),
            "ticks_per_s": round(rate * ticks / n),
            "json_loads_frames_per_s": round(base),
            "ratio_vs_json_loads": round(rate / base, 3),
            "samples_frames_per_s": [round(n / e) for e, _, _ in runs],
            "cpu_frames_per_s": round(cpu_rate),
            "cpu_json_loads_frames_per_s": round(cpu_base),
            "cpu_ratio_vs_json_loads": round(cpu_rate / cpu_base, 3),
            # The split of the same work: frames/s of parse + normalise alone, ticks/s of the
            # Avro TickBatch encode alone (fastavro; records prepared beforehand).
            "cpu_parse_normalise_frames_per_s": round(median([n / p for p, _, _ in stage_runs])),
            "cpu_avro_encode_ticks_per_s": round(median([t / e for _, e, t in stage_runs if e > 0])),
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
