"""Decoded Avro records -> ClickHouse rows, and batched inserts.

Conversion is pure so it is tested without a broker. Values that cannot be stored exactly
(a micros value outside ``Decimal(18, 6)``, a negative count) raise ``RowError``: the service
sends such records to the dead-letter topic instead of stalling or silently altering them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from echoarb.sink.client import check_identifier
from echoarb.sink.schema import (
    COLUMNS_BY_TABLE,
    SPREADS_TABLE,
    WINDOWS_TABLE,
    ensure_schema,
)

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

Row = tuple[Any, ...]

# Decimal(18, 6) holds |value| < 10**12, i.e. |micros| < 10**18.
_MICROS_LIMIT = 10**18
_UINT64_LIMIT = 2**64
_UINT16_LIMIT = 2**16


class RowError(ValueError):
    """A decoded record cannot be stored exactly; the message says which field and why."""


def micros(value: int, field: str = "value") -> Decimal:
    """Integer millionths -> exact ``Decimal`` with 6 places (no float on the way)."""
    # One cheap test on the hot path (~14 calls per spread row); details only when it fails.
    if type(value) is int and -_MICROS_LIMIT < value < _MICROS_LIMIT:
        return Decimal(value).scaleb(-6)
    if type(value) is not int:
        raise RowError(f"{field}: expected integer micros, got {type(value).__name__}")
    raise RowError(f"{field}: {value} micros does not fit Decimal(18, 6)")


def optional_micros(value: int | None, field: str = "value") -> Decimal | None:
    return None if value is None else micros(value, field)


def _unsigned(value: int, field: str, limit: int = _UINT64_LIMIT) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < limit:
        raise RowError(f"{field}: {value!r} is not an unsigned integer below {limit}")
    return value


def _timestamp(value: int, field: str) -> int:
    # DateTime64(3) is written as raw epoch-ms ticks; the driver passes ints through unchanged.
    if isinstance(value, bool) or not isinstance(value, int):
        raise RowError(f"{field}: expected epoch milliseconds, got {type(value).__name__}")
    return value


def _kafka(topic: str, partition: int, offset: int) -> tuple[str, int, int]:
    return topic, _unsigned(partition, "partition", _UINT16_LIMIT), _unsigned(offset, "offset")


def spread_row(record: Mapping[str, Any], topic: str, partition: int, offset: int) -> Row:
    """A decoded ``io.echoarb.SpreadEvent`` as a ``spreads`` row (order of ``SPREAD_COLUMN_NAMES``)."""
    try:
        legs: Sequence[Mapping[str, Any]] = record["legs"]
        return (
            record["id"],
            record["pair_id"],
            record["kind"],
            [leg["venue"] for leg in legs],
            [leg["side"] for leg in legs],
            [leg.get("outcome", "") for leg in legs],
            [optional_micros(leg.get("best_price_micros"), "legs.best_price_micros") for leg in legs],
            [optional_micros(leg.get("avg_price_micros"), "legs.avg_price_micros") for leg in legs],
            [micros(leg["size_micros"], "legs.size_micros") for leg in legs],
            optional_micros(record.get("gross_edge_micros"), "gross_edge_micros"),
            micros(record["size_micros"], "size_micros"),
            micros(record["cost_micros"], "cost_micros"),
            micros(record["fees_micros"], "fees_micros"),
            micros(record["net_profit_micros"], "net_profit_micros"),
            micros(record["net_edge_micros"], "net_edge_micros"),
            bool(record["executable"]),
            _unsigned(record["quote_age_ms"], "quote_age_ms"),
            _timestamp(record["event_ts"], "event_ts"),
            _timestamp(record["computed_at"], "computed_at"),
            *_kafka(topic, partition, offset),
        )
    except KeyError as exc:
        raise RowError(f"SpreadEvent: missing field {exc}") from exc


def window_row(record: Mapping[str, Any], topic: str, partition: int, offset: int) -> Row:
    """A decoded ``io.echoarb.SpreadWindow`` as a ``spread_windows`` row."""
    try:
        return (
            record["pair_id"],
            record["window"],
            _timestamp(record["window_start"], "window_start"),
            _timestamp(record["window_end"], "window_end"),
            _unsigned(record["events"], "events"),
            optional_micros(record.get("max_net_edge_micros"), "max_net_edge_micros"),
            micros(record["best_size_micros"], "best_size_micros"),
            _unsigned(record["executable_ms"], "executable_ms"),
            _timestamp(record["emitted_at"], "emitted_at"),
            *_kafka(topic, partition, offset),
        )
    except KeyError as exc:
        raise RowError(f"SpreadWindow: missing field {exc}") from exc


def _levels(levels: Sequence[Mapping[str, Any]], field: str) -> tuple[list[Decimal], list[Decimal]]:
    prices = [micros(level["price_micros"], f"{field}.price_micros") for level in levels]
    sizes = [micros(level["size_micros"], f"{field}.size_micros") for level in levels]
    return prices, sizes


def tick_rows(record: Mapping[str, Any], topic: str, partition: int, offset: int) -> list[Row]:
    """A decoded ``io.echoarb.TickBatch`` as ``ticks`` rows: one per tick (none for a heartbeat)."""
    try:
        producer_id = record["producer_id"]
        kafka = _kafka(topic, partition, offset)
        rows: list[Row] = []
        for index, tick in enumerate(record["ticks"]):
            yes_price, yes_size = _levels(tick["yes_asks"], "yes_asks")
            no_price, no_size = _levels(tick["no_asks"], "no_asks")
            rows.append(
                (
                    tick["venue"],
                    tick["pair_id"],
                    tick.get("outcome", ""),
                    yes_price[0] if yes_price else None,
                    no_price[0] if no_price else None,
                    yes_price,
                    yes_size,
                    no_price,
                    no_size,
                    micros(tick["fee_rate_micros"], "fee_rate_micros"),
                    tick["status"],
                    bool(tick["in_sync"]),
                    bool(tick["real_money"]),
                    _unsigned(tick["seq"], "seq"),
                    _timestamp(tick["event_ts"], "event_ts"),
                    _timestamp(tick["recv_ts"], "recv_ts"),
                    producer_id,
                    *kafka,
                    index,
                )
            )
        return rows
    except KeyError as exc:
        raise RowError(f"TickBatch: missing field {exc}") from exc


class ClickHouseWriter:
    """Batched inserts into one database; blocking calls (run them in a thread from async code).

    Table names are qualified with the database, so one client can serve several databases
    (tests share one chdb client and use one database each).
    """

    def __init__(self, client: Client, database: str) -> None:
        self.client = client
        self.database = check_identifier(database)

    def ensure_schema(self) -> None:
        ensure_schema(self.client, self.database)

    def insert_spreads(self, rows: Sequence[Row], token: str | None = None) -> int:
        return self.insert(SPREADS_TABLE, rows, token)

    def insert_windows(self, rows: Sequence[Row], token: str | None = None) -> int:
        return self.insert(WINDOWS_TABLE, rows, token)

    def insert(self, table: str, rows: Sequence[Row], token: str | None = None) -> int:
        """Insert ``rows`` (column order of ``schema``) as one block.

        With ``token`` the block is deduplicated: ClickHouse drops a later insert with the same
        token as long as it is within the table's ``non_replicated_deduplication_window``
        (also for the materialized views it feeds). The driver cannot tell a dropped retry from
        a stored one, so the return value is the number of rows sent.
        """
        if not rows:
            return 0
        settings = {"insert_deduplication_token": token} if token else None
        self.client.insert(
            table, rows, column_names=list(COLUMNS_BY_TABLE[table]), database=self.database, settings=settings
        )
        return len(rows)
