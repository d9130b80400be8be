"""Worker core without Kafka or Faust: what streams/app.py does per batch, in process.

decode TickBatch -> ``tick_from_record`` -> ``PartitionMerger`` -> ``PartitionScanner.apply``
-> one ``PairState.to_json()`` + ``json.dumps`` (the table value) per touched pair per
batch -> encode the spread events. The ceiling of EchoArb's own code on one core; the gap
to the pipeline figure is the stream framework, table changelog and broker round trips.
``--slow-path`` disables the scanner's skip of ticks that cannot cross (for comparison).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from bench.common import median, pairs, save
from bench.pipeline import recorded_ticks
from echoarb.ingest.batching import TickBatcher
from echoarb.model import SpreadEvent
from echoarb.partitioning import venue_streams
from echoarb.scan.merge import PartitionMerger
from echoarb.scan.scanner import PartitionScanner, ScanParams
from echoarb.wire.codec import load_codecs
from echoarb.wire.records import spread_id, spread_to_record, tick_from_record, tick_to_record


def run(
    n_pairs: int = 100, n_ticks: int = 60_000, repeats: int = 3, slow_path: bool = False
) -> dict[str, Any]:
    config = pairs(n_pairs)
    codecs = load_codecs()
    ticks = recorded_ticks(n_pairs, n_ticks)
    streams = venue_streams(config, 8)
    batcher = TickBatcher(8, streams, max_ticks=200)
    records: list[tuple[int, bytes]] = []
    for i, tick in enumerate(ticks):
        batcher.advance(tick.recv_ts - 1)
        if batcher.add(tick) or i % 2000 == 1999:
            for b in batcher.drain():
                rec = {
                    "venue": b.venue,
                    "producer_id": "core",
                    "watermark": b.watermark,
                    "end_of_stream": False,
                    "ticks": [tick_to_record(t) for t in b.ticks],
                }
                records.append((b.partition, codecs.tick_batch.encode(rec)))
    rates = []
    for _ in range(repeats):
        mergers = {p: PartitionMerger(v) for p, v in streams.items()}
        scanners = {p: PartitionScanner(config.by_id(), ScanParams()) for p in streams}
        if slow_path:
            for sc in scanners.values():
                sc._uncrossed = lambda *a: False  # type: ignore[method-assign]
        events = 0
        t0 = time.perf_counter()
        for partition, value in records:
            batch = codecs.tick_batch.decode(value)
            released = mergers[partition].push(
                batch["venue"], batch["watermark"], [tick_from_record(t) for t in batch["ticks"]], 0.0
            )
            scanner = scanners[partition]
            opps = []
            for tick in released:
                opps.extend(scanner.apply(tick))
            scanner.close_windows()
            for state in scanner.take_dirty():
                json.dumps(state.to_json())
            for opp in opps:
                codecs.spread_event.encode(spread_to_record(SpreadEvent(spread_id(opp), opp, 0)))
            events += len(opps)
        rates.append(len(ticks) / (time.perf_counter() - t0))
    return {
        "pairs": n_pairs,
        "ticks": len(ticks),
        "records": len(records),
        "slow_path": slow_path,
        "ticks_per_s": round(median(rates)),
        "samples": [round(r) for r in rates],
        "spread_events": events,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=100)
    ap.add_argument("--ticks", type=int, default=60_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--slow-path", action="store_true")
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args(argv)
    result = run(args.pairs, args.ticks, args.repeats, args.slow_path)
    if not args.no_save:
        save("core-slow" if args.slow_path else "core", result)
    json.dump(result, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
