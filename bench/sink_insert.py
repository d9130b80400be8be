"""Benchmark (not a test): rows/s of spread rows into the embedded ClickHouse engine.

Measures, in one run and on the same engine:
  * sink    -- the sink's real path: ``spread_row`` conversion of decoded records (Decimal,
               arrays, LowCardinality) + ``ClickHouseWriter.insert`` with a deduplication token,
               into the migrated ``spreads`` table (materialized view included);
  * insert  -- ``spread_row`` rows, pre-built, through the same insert (no conversion cost);
  * baseline -- the same number of rows as plain Int64/String columns via ``client.insert``
               into a bare MergeTree (no Decimals, arrays, view or token).
and prints rows/s and the ratio sink/baseline.

    .venv/bin/python bench/sink_insert.py [--rows 200000] [--batch 10000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from echoarb.sink.client import connect_embedded
from echoarb.sink.schema import SPREADS_TABLE
from echoarb.sink.writer import ClickHouseWriter, Row, spread_row


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


def timed(label: str, rows: int, run: Callable[[], None]) -> float:
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    rate = rows / seconds
    print(f"  {label:<9} {rows:>9,} rows in {seconds:6.2f} s = {rate:>11,.0f} rows/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000, help="rows per insert (SINK_BATCH_ROWS)")
    args = parser.parse_args()
    n, size = args.rows, args.batch
    events = [event(i) for i in range(n)]
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
        prebuilt: list[Row] = [spread_row(e, "spreads", 0, i) for i, e in enumerate(events)]

        def chunks(k: int) -> range:
            return range(0, n, k)

        def sink() -> None:
            for start in chunks(size):
                rows = [
                    spread_row(e, "spreads", 0, start + j) for j, e in enumerate(events[start : start + size])
                ]
                writer.insert(SPREADS_TABLE, rows, token=f"bench-sink-{start}")

        def insert_only() -> None:
            for start in chunks(size):
                writer.insert(SPREADS_TABLE, prebuilt[start : start + size], token=f"bench-insert-{start}")

        def baseline() -> None:
            for start in chunks(size):
                client.insert("plain", plain[start : start + size], column_names=names, database="bench")

        print(f"embedded ClickHouse (chdb), {n:,} spread rows, {size:,} rows per insert")
        base = timed("baseline", n, baseline)
        ins = timed("insert", n, insert_only)
        full = timed("sink", n, sink)
        stored = client.command("SELECT count() FROM bench.spreads")
        print(f"  stored spreads rows: {stored:,} (each token once)")
        print(f"  ratio insert/baseline = {ins / base:.2f}, sink/baseline = {full / base:.2f}")
        client.close()


if __name__ == "__main__":
    main()
