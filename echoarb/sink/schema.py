"""Names and column lists of the sink's tables; their DDL lives in versioned migrations.

Money and sizes are ``Decimal(18, 6)``: the Avro ``*_micros`` integers scaled by 1e-6, exact.
Each row keeps its Kafka coordinates so any row can be traced to the record it came from.
The column tuples here are the insert order of the writer's rows; a test checks that they
match what the migrations create, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

SPREADS_TABLE = "spreads"
WINDOWS_TABLE = "spread_windows"
TICKS_TABLE = "ticks"
BATCHES_TABLE = "sink_batches"
MINUTE_STATS_TABLE = "pair_minute_stats"

MONEY = "Decimal(18, 6)"
TS = "DateTime64(3, 'UTC')"

# (name, type) in insert order; writer.spread_row / window_row build tuples in this order.
SPREAD_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "String"),
    ("pair_id", "LowCardinality(String)"),
    ("kind", "LowCardinality(String)"),
    ("leg_venue", "Array(LowCardinality(String))"),
    ("leg_side", "Array(LowCardinality(String))"),
    ("leg_outcome", "Array(String)"),
    ("leg_best_price", f"Array(Nullable({MONEY}))"),
    ("leg_avg_price", f"Array(Nullable({MONEY}))"),
    ("leg_size", f"Array({MONEY})"),
    ("gross_edge", f"Nullable({MONEY})"),
    ("size", MONEY),
    ("cost", MONEY),
    ("fees", MONEY),
    ("net_profit", MONEY),
    ("net_edge", MONEY),
    ("executable", "Bool"),
    ("quote_age_ms", "UInt64"),
    ("event_ts", TS),
    ("computed_at", TS),
    ("topic", "LowCardinality(String)"),
    ("partition", "UInt16"),
    ("offset", "UInt64"),
)

WINDOW_COLUMNS: tuple[tuple[str, str], ...] = (
    ("pair_id", "LowCardinality(String)"),
    ("window", "LowCardinality(String)"),
    ("window_start", TS),
    ("window_end", TS),
    ("events", "UInt64"),
    ("max_net_edge", f"Nullable({MONEY})"),
    ("best_size", MONEY),
    ("executable_ms", "UInt64"),
    ("emitted_at", TS),
    ("topic", "LowCardinality(String)"),
    ("partition", "UInt16"),
    ("offset", "UInt64"),
)

# ``inserted_at`` (server default, drives the TTL) is not sent by the writer.
TICK_COLUMNS: tuple[tuple[str, str], ...] = (
    ("venue", "LowCardinality(String)"),
    ("pair_id", "LowCardinality(String)"),
    ("outcome", "LowCardinality(String)"),
    ("best_yes_ask", f"Nullable({MONEY})"),
    ("best_no_ask", f"Nullable({MONEY})"),
    ("yes_ask_price", f"Array({MONEY})"),
    ("yes_ask_size", f"Array({MONEY})"),
    ("no_ask_price", f"Array({MONEY})"),
    ("no_ask_size", f"Array({MONEY})"),
    ("fee_rate", MONEY),
    ("status", "LowCardinality(String)"),
    ("in_sync", "Bool"),
    ("real_money", "Bool"),
    ("seq", "UInt64"),
    ("event_ts", TS),
    ("recv_ts", TS),
    ("producer_id", "LowCardinality(String)"),
    ("topic", "LowCardinality(String)"),
    ("partition", "UInt16"),
    ("offset", "UInt64"),
    ("index", "UInt32"),
)

BATCH_COLUMNS: tuple[tuple[str, str], ...] = (
    ("group_id", "LowCardinality(String)"),
    ("topic", "LowCardinality(String)"),
    ("partition", "UInt16"),
    ("first_offset", "UInt64"),
    ("last_offset", "UInt64"),
    ("first_ts", TS),
    ("records", "UInt32"),
    ("rows", "UInt32"),
    ("target", "LowCardinality(String)"),
    ("planned_at", TS),
)

SPREAD_COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _ in SPREAD_COLUMNS)
WINDOW_COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _ in WINDOW_COLUMNS)
TICK_COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _ in TICK_COLUMNS)
BATCH_COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _ in BATCH_COLUMNS)

COLUMNS_BY_TABLE: dict[str, tuple[str, ...]] = {
    SPREADS_TABLE: SPREAD_COLUMN_NAMES,
    WINDOWS_TABLE: WINDOW_COLUMN_NAMES,
    TICKS_TABLE: TICK_COLUMN_NAMES,
    BATCHES_TABLE: BATCH_COLUMN_NAMES,
}


def ensure_schema(client: Client, database: str) -> list[int]:
    """Bring ``database`` to the newest schema version (idempotent, safe on every start)."""
    from echoarb.sink.migrate import migrate

    return migrate(client, database)
