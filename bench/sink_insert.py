"""Benchmark (not a test): rows/s of spread events into the embedded ClickHouse engine.

Measures, in one run and on the same engine (median of ``--repeat`` runs each):
  * sink     -- the sink's real path from Kafka record to stored row: ``entries_for`` (header
                check) -> ``Buffers`` (resolve, cut) -> ``ledger.record`` -> ``ClickHouseWriter.store``
                (Avro container into ``spreads_staging``, the view converts into ``spreads`` and
                ``pair_minute_stats``), one insert per ``--batch`` records (default: the
                ``SINK_BATCH_ROWS`` default), with its token;
  * sink_10k -- the same path at 10,000 rows per insert, the ``SINK_BATCH_ROWS`` default until
                issue #11 (``--compare-batch``), to show what the batch size alone is worth;
  * python   -- the sink's fallback for a refused batch: decode + integer staging rows, same table;
  * floor    -- the finished ``spreads`` rows as pre-encoded Native blocks, inserted raw with a
                token (view included): ClickHouse's own cost of storing these rows, no Python;
  * baseline -- the same number of rows as plain Int64/String columns via ``client.insert``
                into a bare MergeTree (no Decimals, arrays, view or token);
and prints rows/s and each path's ratio to the baseline.

    .venv/bin/python bench/sink_insert.py [--rows 200000] [--batch N] [--repeat 3] [--no-gc-freeze]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from echoarb.settings import Settings
from echoarb.sink import ledger
from echoarb.sink.batches import Buffers
from echoarb.sink.client import connect_embedded
from echoarb.sink.routes import entries_for, routes
from echoarb.sink.schema import SPREADS_TABLE
from echoarb.sink.writer import ClickHouseWriter
from echoarb.wire.codec import load_codecs

TOPIC = "spreads"


def event(i: int) -> dict[str, object]:
    return {
        "id": f"ev-{i:012d}",
        "pair_id": f"pair-{i % 50}",
        "kind": "binary",
        "legs": [
            {"venue": "kalshi", "side": "yes", "outcome": "", "best_price_micros": 400_000 + i % 1000,
             "avg_price_micros": 401_000, "size_micros": 1_000_000},
            {"venue": "polymarket", "side": "no", "outcome": "", "best_price_micros": 550_000,
             "avg_price_micros": 552_000, "size_micros": 1_000_000},
        ],
        "gross_edge_micros": 50_000,
        "size_micros": 1_000_000 + i,
        "cost_micros": 950_000,
        "fees_micros": 1_234,
        "net_profit_micros": 48_766,
        "net_edge_micros": 48_766,
        "executable": i % 2 == 0,
        "quote_age_ms": i % 500,
        "event_ts": 1_733_000_000_000 + i,
        "computed_at": 1_733_000_000_500 + i,
    }  # fmt: skip


def kafka_record(i: int, value: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(TOPIC, 0, i, 1_733_000_000_000 + i, 0, None, value, None, 0, len(value), [])


def timed(label: str, rows: int, run: Callable[[int], None], repeat: int, reset: Callable[[], None]) -> float:
    """Median rows/s over ``repeat`` runs (the machine is shared: single runs are noisy).

    Each run starts on empty tables (``reset``, not timed), so background merges of earlier
    runs' parts weigh on every path alike. Also prints the process CPU time per row (Python and
    the embedded engine's threads, merges included): steadier than wall time when other work
    competes for the cores.
    """
    seconds, cpu = [], []
    for attempt in range(repeat):
        reset()
        started, cpu_started = time.perf_counter(), time.process_time()
        run(attempt)
        seconds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    median = statistics.median(seconds)
    rate = rows / median
    spread = ", ".join(f"{rows / s:,.0f}" for s in seconds)
    cpu_us = statistics.median(cpu) / rows * 1e6
    print(
        f"  {label:<9} {rows:>9,} rows in {median:6.2f} s = {rate:>9,.0f} rows/s, "
        f"{cpu_us:5.1f} CPU-us/row   (runs: {spread})"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000)
    default_batch = Settings.model_fields["sink_batch_rows"].default
    parser.add_argument(
        "--batch",
        type=int,
        default=default_batch,
        help=f"rows per insert (SINK_BATCH_ROWS, default {default_batch})",
    )
    parser.add_argument(
        "--compare-batch",
        type=int,
        default=10_000,
        help="rows per insert of the sink_10k row (0: no such row)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per path; the median is reported")
    parser.add_argument(
        "--no-gc-freeze", action="store_true", help="let the collector re-scan the inputs (slower, noisier)"
    )
    args = parser.parse_args()
    n, size, repeat = args.rows, args.batch, args.repeat
    codecs = load_codecs()
    route = routes(codecs)[SPREADS_TABLE]
    events = [event(i) for i in range(n)]
    records = [kafka_record(i, codecs.spread_event.encode(e)) for i, e in enumerate(events)]
    tp = TopicPartition(TOPIC, 0)
    with tempfile.TemporaryDirectory(prefix="echoarb-bench-") as tmp:
        client = connect_embedded(Path(tmp), "bench")
        writer = ClickHouseWriter(client, "bench")
        writer.ensure_schema()
        client.command(
            "CREATE TABLE bench.plain (id String, pair_id String, a Int64, b Int64, c Int64, "
            "d Int64, e Int64, f Int64, g Int64, ts Int64) ENGINE = MergeTree ORDER BY (pair_id, ts)"
        )
        plain = [(e["id"], e["pair_id"], i, i, i, i, i, i, i, i) for i, e in enumerate(events)]
        names = ["id", "pair_id", "a", "b", "c", "d", "e", "f", "g", "ts"]

        # The inputs (millions of objects) stand in for records that arrive from Kafka a batch at
        # a time: keep the collector from re-scanning them on every collection during the runs.
        if not args.no_gc_freeze:
            gc.collect()
            gc.freeze()

        def chunks(k: int) -> range:
            return range(0, n, k)

        def sink(attempt: int, size: int = size) -> None:
            # What SinkService does per fetch and flush, minus the Kafka round trips.
            buffers = Buffers(size, 1.0)
            group = f"bench-{attempt}"  # a fresh group: every run inserts (no replays)
            for start in [*chunks(size), n]:
                if start < n:
                    buffers.add(tp, route.table, entries_for(route, records[start : start + size], 0.0))
                if buffers.unresolved():
                    buffers.resolve(tp, None)  # the ledger lookup finds no plan for a new group
                batches = buffers.cut(0.0, force=start == n)
                ledger.record(client, "bench", group, batches)
                for batch in batches:
                    writer.store(route, TOPIC, 0, batch, f"{batch.token}/{attempt}")

        def python(attempt: int) -> None:
            decode = codecs.spread_event.decode
            for start in chunks(size):
                rows = [
                    route.staged_row(decode(r.value), TOPIC, 0, r.offset)
                    for r in records[start : start + size]
                ]
                writer.insert(route.staging, rows, f"bench-python-{start}/{attempt}", route.staging_columns)

        # Native blocks of the finished rows, exported once: what ClickHouse alone spends storing them.
        sink(-1)
        native = [
            client.raw_query(
                f"SELECT * FROM bench.spreads WHERE offset >= {start} AND offset < {start + size} "
                "ORDER BY offset",
                fmt="Native",
            )
            for start in chunks(size)
        ]

        def floor(attempt: int) -> None:
            for i, block in enumerate(native):
                client.raw_insert(
                    "bench.spreads", None, block, fmt="Native",
                    settings={"insert_deduplication_token": f"bench-floor-{i}/{attempt}"},
                )  # fmt: skip

        def baseline(attempt: int) -> None:
            for start in chunks(size):
                client.insert("plain", plain[start : start + size], column_names=names, database="bench")

        def reset() -> None:
            for table in ("plain", "spreads", "pair_minute_stats"):
                client.command(f"TRUNCATE TABLE bench.{table}")

        frozen = "" if args.no_gc_freeze else ", inputs gc-frozen"
        print(
            f"embedded ClickHouse (chdb), {n:,} spread records, {size:,} per insert, "
            f"median of {repeat}{frozen}"
        )
        base = timed("baseline", n, baseline, repeat, reset)
        rates: dict[str, float] = {}
        paths: list[tuple[str, Callable[[int], None]]] = [
            ("floor", floor), ("python", python), ("sink", sink),
        ]  # fmt: skip
        if args.compare_batch and args.compare_batch != size:
            paths.append(("sink_10k", lambda attempt: sink(1000 + attempt, args.compare_batch)))
        for label, run in paths:
            rates[label] = timed(label, n, run, repeat, reset)
        stored = client.command("SELECT count() FROM bench.spreads")
        minutes: Any = client.command("SELECT sum(events) FROM bench.pair_minute_stats")
        print(f"  last run stored {stored:,} spreads rows, pair_minute_stats counted {minutes:,}")
        print(f"  Avro inserts refused (converted in Python): {writer.avro_failures}")
        print("  ratios to baseline: " + ", ".join(f"{k}={v / base:.2f}" for k, v in rates.items()))
        rate = rates["sink"]
        print(f"  sink/python = {rate / rates['python']:.1f}x, sink/floor = {rate / rates['floor']:.2f}")
        client.close()


if __name__ == "__main__":
    main()
