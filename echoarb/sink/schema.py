"""ClickHouse tables of the sink, created if missing when the sink starts.

Money and sizes are ``Decimal(18, 6)``: the Avro ``*_micros`` integers scaled by 1e-6, exact.
Each row keeps its Kafka coordinates so a duplicate (at-least-once) can be traced and
deduplicated at query time (same ``id`` or same topic/partition/offset).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from echoarb.sink.client import check_identifier

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

SPREADS_TABLE = "spreads"
WINDOWS_TABLE = "spread_windows"

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

SPREAD_COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _ in SPREAD_COLUMNS)
WINDOW_COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _ in WINDOW_COLUMNS)


def _columns(columns: tuple[tuple[str, str], ...]) -> str:
    # Backticks: `window`, `partition` and `offset` are SQL keywords.
    return ",\n".join(f"    `{name}` {kind}" for name, kind in columns)


def spreads_ddl(database: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS `{check_identifier(database)}`.`{SPREADS_TABLE}` (\n"
        f"{_columns(SPREAD_COLUMNS)}\n"
        ") ENGINE = MergeTree\n"
        "ORDER BY (pair_id, event_ts, id)"
    )


def windows_ddl(database: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS `{check_identifier(database)}`.`{WINDOWS_TABLE}` (\n"
        f"{_columns(WINDOW_COLUMNS)}\n"
        ") ENGINE = MergeTree\n"
        "ORDER BY (pair_id, `window`, window_start)"
    )


def ensure_schema(client: Client, database: str) -> None:
    """Create the database and both tables if missing (idempotent, safe on every start)."""
    client.command(f"CREATE DATABASE IF NOT EXISTS `{check_identifier(database)}`")
    client.command(spreads_ddl(database))
    client.command(windows_ddl(database))
