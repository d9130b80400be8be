"""Names and column lists of the sink's tables; their DDL lives in versioned migrations.

Money and sizes are ``Decimal(18, 6)``: the Avro ``*_micros`` integers scaled by 1e-6, exact.
Each row keeps its Kafka coordinates so any row can be traced to the record it came from.
The column tuples here are the tables' columns in order; a test checks that they match what the
migrations create, so the two cannot drift apart. The sink itself inserts into the
``*_staging`` tables (Avro field names, integers), whose views fill the tables above.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

SPREADS_TABLE = "spreads"
WINDOWS_TABLE = "spread_windows"
TICKS_TABLE = "ticks"
BATCHES_TABLE = "sink_batches"

MONEY = "Decimal(18, 6)"
TS = "DateTime64(3, 'UTC')"

# (name, type) of the tables as the staging views fill them; a test checks them against the migrations.
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

# ``inserted_at`` (server default, drives the TTL) is not filled by the view.
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
    ("via", "LowCardinality(String)"),
)

# Null-engine tables the sink inserts into; their views fill the tables above (migration 0006).
# Columns: the Kafka coordinates, then the Avro fields (micros and epoch-ms as Int64).
KAFKA_STAGING: tuple[tuple[str, str], ...] = (
    ("_topic", "String"),
    ("_partition", "Int64"),
    ("_offset", "Int64"),
)
SPREAD_STAGING_COLUMNS: tuple[tuple[str, str], ...] = (
    *KAFKA_STAGING,
    ("id", "String"),
    ("pair_id", "String"),
    ("kind", "String"),
    (
        "legs",
        "Array(Tuple(venue String, side String, outcome String, best_price_micros Nullable(Int64), "
        "avg_price_micros Nullable(Int64), size_micros Int64))",
    ),
    ("gross_edge_micros", "Nullable(Int64)"),
    ("size_micros", "Int64"),
    ("cost_micros", "Int64"),
    ("fees_micros", "Int64"),
    ("net_profit_micros", "Int64"),
    ("net_edge_micros", "Int64"),
    ("executable", "Bool"),
    ("quote_age_ms", "Int64"),
    ("event_ts", "Int64"),
    ("computed_at", "Int64"),
)
WINDOW_STAGING_COLUMNS: tuple[tuple[str, str], ...] = (
    *KAFKA_STAGING,
    ("pair_id", "String"),
    ("window", "String"),
    ("window_start", "Int64"),
    ("window_end", "Int64"),
    ("events", "Int64"),
    ("max_net_edge_micros", "Nullable(Int64)"),
    ("best_size_micros", "Int64"),
    ("executable_ms", "Int64"),
    ("emitted_at", "Int64"),
)
_LEVELS = "Array(Tuple(price_micros Int64, size_micros Int64))"
TICK_STAGING_COLUMNS: tuple[tuple[str, str], ...] = (
    *KAFKA_STAGING,
    ("producer_id", "String"),
    (
        "ticks",
        f"Array(Tuple(pair_id String, venue String, outcome String, yes_asks {_LEVELS}, "
        f"no_asks {_LEVELS}, event_ts Int64, recv_ts Int64, fee_rate_micros Int64, status String, "
        "in_sync Bool, real_money Bool, seq Int64))",
    ),
)

SPREAD_COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _ in SPREAD_COLUMNS)
WINDOW_COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _ in WINDOW_COLUMNS)
TICK_COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _ in TICK_COLUMNS)
BATCH_COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _ in BATCH_COLUMNS)

STAGING_BY_TABLE: dict[str, str] = {
    SPREADS_TABLE: f"{SPREADS_TABLE}_staging",
    WINDOWS_TABLE: f"{WINDOWS_TABLE}_staging",
    TICKS_TABLE: f"{TICKS_TABLE}_staging",
}
STAGING_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    SPREADS_TABLE: SPREAD_STAGING_COLUMNS,
    WINDOWS_TABLE: WINDOW_STAGING_COLUMNS,
    TICKS_TABLE: TICK_STAGING_COLUMNS,
}
COLUMN_DEFS_BY_TABLE: dict[str, tuple[tuple[str, str], ...]] = {
    SPREADS_TABLE: SPREAD_COLUMNS,
    WINDOWS_TABLE: WINDOW_COLUMNS,
    TICKS_TABLE: TICK_COLUMNS,
    BATCHES_TABLE: BATCH_COLUMNS,
}

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
