"""Frames/s of one connector's hot path: parse + normalise + batch + Avro-encode (no Kafka, no socket).

Runs the venue's frames from a recording through exactly what ``echoarb ingest`` does per
frame (``FrameHandler.handle``, ``TickBatcher``, the tick batch record and its Avro
encoding), and measures plain ``json.loads`` of the same frames in the same run as the
baseline, so the ratio says what the parsing and normalising cost beyond decoding JSON.

Usage: .venv/bin/python bench/parse_publish.py [--venue kalshi] [--recording FILE] [--repeat 20]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from pathlib import Path

from echoarb.ingest.batching import TickBatcher
from echoarb.ingest.frames import FrameHandler
from echoarb.pairs import PairsConfig, load_pairs
from echoarb.partitioning import venue_streams
from echoarb.resources import EXAMPLE_PAIRS, SAMPLE_RECORDING
from echoarb.venues.recording import RecordedFrame, read_recording
from echoarb.wire.codec import AvroCodec, load_codecs
from echoarb.wire.records import tick_to_record


def hot_path(frames: list[RecordedFrame], pairs: PairsConfig, codec: AvroCodec) -> tuple[int, int]:
    """One pass with fresh parser state (books start empty, as after a connect)."""
    handler = FrameHandler(pairs)
    batcher = TickBatcher(8, venue_streams(pairs, 8), max_ticks=200)
    ticks = encoded = 0
    for frame in frames:
        batcher.advance(frame.recv_ts - 1)
        outcome = handler.handle(
            frame.venue, frame.frame, frame.recv_ts, source=frame.source, path=frame.path
        )
        for tick in outcome.ticks:
            batcher.add(tick)
        ticks += len(outcome.ticks)
        for batch in batcher.drain():  # one flush per frame: the worst case for batching
            record = {
                "venue": batch.venue,
                "producer_id": "bench",
                "watermark": batch.watermark,
                "end_of_stream": False,
                "ticks": [tick_to_record(t) for t in batch.ticks],
            }
            encoded += len(codec.encode(record))
    return ticks, encoded


def baseline(frames: list[RecordedFrame]) -> int:
    count = 0
    for frame in frames:
        with contextlib.suppress(ValueError):
            json.loads(frame.frame)
        count += 1
    return count


def best_of(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--venue", default="kalshi", choices=("kalshi", "polymarket", "manifold"))
    parser.add_argument("--recording", default=str(SAMPLE_RECORDING))
    parser.add_argument("--pairs", default=str(EXAMPLE_PAIRS))
    parser.add_argument("--repeat", type=int, default=20, help="runs; the best one counts")
    args = parser.parse_args()
    frames = [f for f in read_recording(args.recording) if f.venue == args.venue]
    if not frames:
        raise SystemExit(f"no {args.venue} frames in {args.recording}")
    pairs, codec = load_pairs(Path(args.pairs)), load_codecs().tick_batch
    ticks, encoded = hot_path(frames, pairs, codec)
    t_full = best_of(lambda: hot_path(frames, pairs, codec), args.repeat)
    t_json = best_of(lambda: baseline(frames), args.repeat)
    n = len(frames)
    print(f"{args.venue}: {n} frames from {args.recording} -> {ticks} ticks, {encoded} Avro bytes per pass")
    print(f"  parse+normalise+batch+Avro : {n / t_full:>12,.0f} frames/s  ({t_full * 1e6 / n:6.1f} us/frame)")
    print(f"  baseline json.loads        : {n / t_json:>12,.0f} frames/s  ({t_json * 1e6 / n:6.1f} us/frame)")
    print(f"  ratio (hot path / baseline): {t_full / t_json:.1f}x slower than json.loads alone")


if __name__ == "__main__":
    main()
