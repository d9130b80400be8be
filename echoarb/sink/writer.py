"""Kafka records -> ClickHouse rows, and batched inserts.

The fast path (issue #6) does no per-value work in Python: the Avro datums of a batch go to
ClickHouse as they arrived, framed as an Avro Object Container, into a Null-engine staging table
whose view converts them (micros -> ``Decimal(18, 6)`` by reinterpreting the integer, exact).
Building Python ``Decimal`` objects cost ~4x the insert itself.

The pure conversions below stay the reference for what may be stored: values that cannot be
stored exactly (a micros value outside ``Decimal(18, 6)``, a negative count) raise ``RowError``.
The staging views refuse the same values, failing the whole insert; the writer then converts
that batch here, marks the offending records dead (the service dead-letters them) and inserts
the rest, still through the staging table and with the same deduplication token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from echoarb.sink.client import check_identifier
from echoarb.sink.container import HEADER_SIZE, AvroContainer, read_long
from echoarb.sink.schema import (
    COLUMN_DEFS_BY_TABLE,
    SPREADS_TABLE,
    STAGING_BY_TABLE,
    STAGING_COLUMNS,
    TICKS_TABLE,
    WINDOWS_TABLE,
    ensure_schema,
)
from echoarb.wire.codec import AvroCodec, CodecError, Codecs

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

log = logging.getLogger(__name__)

Row = tuple[Any, ...]
T = TypeVar("T")

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


# -- table rows: Decimal rows straight into the tables (batches planned before migration 0006) --
# Built from the staged rows below, so both paths check exactly the same things.


def _dec(value: int | None) -> Decimal | None:
    return None if value is None else Decimal(value).scaleb(-6)


def spread_row(record: Mapping[str, Any], topic: str, partition: int, offset: int) -> Row:
    """A decoded ``io.echoarb.SpreadEvent`` as a ``spreads`` row (order of ``SPREAD_COLUMN_NAMES``)."""
    row = spread_staged_row(record, topic, partition, offset)
    (k_topic, k_partition, k_offset, *head), legs, money, tail = row[:6], row[6], row[7:13], row[13:]
    return (
        *head,
        [leg[0] for leg in legs],
        [leg[1] for leg in legs],
        [leg[2] for leg in legs],
        [_dec(leg[3]) for leg in legs],
        [_dec(leg[4]) for leg in legs],
        [_dec(leg[5]) for leg in legs],
        *(_dec(v) for v in money),  # gross edge, size, cost, fees, net profit, net edge
        *tail,  # executable, quote age, event time, computed at
        k_topic,
        k_partition,
        k_offset,
    )


def window_row(record: Mapping[str, Any], topic: str, partition: int, offset: int) -> Row:
    """A decoded ``io.echoarb.SpreadWindow`` as a ``spread_windows`` row."""
    k_topic, k_partition, k_offset, pair_id, window, start, end, events, max_edge, best, exec_ms, emitted = (
        window_staged_row(record, topic, partition, offset)
    )
    return (
        pair_id, window, start, end, events, _dec(max_edge), _dec(best), exec_ms, emitted,
        k_topic, k_partition, k_offset,
    )  # fmt: skip


def tick_rows(record: Mapping[str, Any], topic: str, partition: int, offset: int) -> list[Row]:
    """A decoded ``io.echoarb.TickBatch`` as ``ticks`` rows: one per tick (none for a heartbeat)."""
    k_topic, k_partition, k_offset, producer_id, ticks = tick_staged_row(record, topic, partition, offset)
    rows: list[Row] = []
    for index, tick in enumerate(ticks):
        pair_id, venue, outcome, yes, no, event_ts, recv_ts, fee, status, in_sync, real_money, seq = tick
        yes_price, yes_size = [_dec(p) for p, _ in yes], [_dec(q) for _, q in yes]
        no_price, no_size = [_dec(p) for p, _ in no], [_dec(q) for _, q in no]
        rows.append(
            (
                venue, pair_id, outcome,
                yes_price[0] if yes_price else None, no_price[0] if no_price else None,
                yes_price, yes_size, no_price, no_size,
                _dec(fee), status, in_sync, real_money, seq, event_ts, recv_ts, producer_id,
                k_topic, k_partition, k_offset, index,
            )
        )  # fmt: skip
    return rows


# -- staged rows: the decoded integers, for the staging tables (fallback of the Avro path) ----


def _micros_int(value: int, field: str) -> int:
    micros(value, field)  # the same checks as the Decimal path; only the Decimal is not kept
    return value


def _optional_micros_int(value: int | None, field: str) -> int | None:
    return None if value is None else _micros_int(value, field)


def spread_staged_row(record: Mapping[str, Any], topic: str, partition: int, offset: int) -> Row:
    """A decoded ``SpreadEvent`` as a ``spreads_staging`` row (order of ``SPREAD_STAGING_COLUMNS``)."""
    try:
        return (
            *_kafka(topic, partition, offset),
            record["id"],
            record["pair_id"],
            record["kind"],
            [
                (
                    leg["venue"],
                    leg["side"],
                    leg.get("outcome", ""),
                    _optional_micros_int(leg.get("best_price_micros"), "legs.best_price_micros"),
                    _optional_micros_int(leg.get("avg_price_micros"), "legs.avg_price_micros"),
                    _micros_int(leg["size_micros"], "legs.size_micros"),
                )
                for leg in record["legs"]
            ],
            _optional_micros_int(record.get("gross_edge_micros"), "gross_edge_micros"),
            _micros_int(record["size_micros"], "size_micros"),
            _micros_int(record["cost_micros"], "cost_micros"),
            _micros_int(record["fees_micros"], "fees_micros"),
            _micros_int(record["net_profit_micros"], "net_profit_micros"),
            _micros_int(record["net_edge_micros"], "net_edge_micros"),
            bool(record["executable"]),
            _unsigned(record["quote_age_ms"], "quote_age_ms"),
            _timestamp(record["event_ts"], "event_ts"),
            _timestamp(record["computed_at"], "computed_at"),
        )
    except KeyError as exc:
        raise RowError(f"SpreadEvent: missing field {exc}") from exc


def window_staged_row(record: Mapping[str, Any], topic: str, partition: int, offset: int) -> Row:
    """A decoded ``SpreadWindow`` as a ``spread_windows_staging`` row."""
    try:
        return (
            *_kafka(topic, partition, offset),
            record["pair_id"],
            record["window"],
            _timestamp(record["window_start"], "window_start"),
            _timestamp(record["window_end"], "window_end"),
            _unsigned(record["events"], "events"),
            _optional_micros_int(record.get("max_net_edge_micros"), "max_net_edge_micros"),
            _micros_int(record["best_size_micros"], "best_size_micros"),
            _unsigned(record["executable_ms"], "executable_ms"),
            _timestamp(record["emitted_at"], "emitted_at"),
        )
    except KeyError as exc:
        raise RowError(f"SpreadWindow: missing field {exc}") from exc


def _staged_levels(levels: Sequence[Mapping[str, Any]], field: str) -> list[tuple[int, int]]:
    return [
        (
            _micros_int(level["price_micros"], f"{field}.price_micros"),
            _micros_int(level["size_micros"], f"{field}.size_micros"),
        )
        for level in levels
    ]


def tick_staged_row(record: Mapping[str, Any], topic: str, partition: int, offset: int) -> Row:
    """A decoded ``TickBatch`` as one ``ticks_staging`` row; the view makes one row per tick."""
    try:
        return (
            *_kafka(topic, partition, offset),
            record["producer_id"],
            [
                (
                    tick["pair_id"],
                    tick["venue"],
                    tick.get("outcome", ""),
                    _staged_levels(tick["yes_asks"], "yes_asks"),
                    _staged_levels(tick["no_asks"], "no_asks"),
                    _timestamp(tick["event_ts"], "event_ts"),
                    _timestamp(tick["recv_ts"], "recv_ts"),
                    _micros_int(tick["fee_rate_micros"], "fee_rate_micros"),
                    tick["status"],
                    bool(tick["in_sync"]),
                    bool(tick["real_money"]),
                    _unsigned(tick["seq"], "seq"),
                )
                for tick in record["ticks"]
            ],
        )
    except KeyError as exc:
        raise RowError(f"TickBatch: missing field {exc}") from exc


def tick_count(value: bytes) -> int:
    """Ticks in a framed ``TickBatch``, read from the Avro prefix without decoding the ticks.

    Used to size batches only: venue (enum), producer_id (string), watermark (long),
    end_of_stream (boolean), then the ticks array's first block count (fastavro writes one
    block). A value that does not parse counts as one row; its insert fails and the batch is
    converted in Python, which finds the culprit.
    """
    try:
        _, pos = read_long(value, HEADER_SIZE)
        length, pos = read_long(value, pos)
        _, pos = read_long(value, pos + length)
        count, _ = read_long(value, pos + 1)
    except (IndexError, ValueError):
        return 1
    return abs(count)


RowsBuilder = Callable[[Mapping[str, Any], str, int, int], list[Row]]
StagedBuilder = Callable[[Mapping[str, Any], str, int, int], Row]


@dataclass(frozen=True)
class Route:
    """How records of one kind reach their table.

    ``rows`` (the Decimal rows straight into ``table``) is kept for batches recorded in the
    ledger before the staging tables existed: a replay must take the path of the original.
    """

    table: str
    codec: AvroCodec
    container: AvroContainer
    staged_row: StagedBuilder
    rows: RowsBuilder
    count: Callable[[bytes], int] | None  # rows a framed value yields; None: always one

    @property
    def staging(self) -> str:
        return STAGING_BY_TABLE[self.table]

    @property
    def staging_columns(self) -> tuple[tuple[str, str], ...]:
        return STAGING_COLUMNS[self.table]


def _one(build: Callable[[Mapping[str, Any], str, int, int], Row]) -> RowsBuilder:
    return lambda record, topic, partition, offset: [build(record, topic, partition, offset)]


def routes(codecs: Codecs) -> dict[str, Route]:
    """Route per target table."""
    found = (
        (SPREADS_TABLE, codecs.spread_event, spread_staged_row, _one(spread_row), None),
        (WINDOWS_TABLE, codecs.spread_window, window_staged_row, _one(window_row), None),
        (TICKS_TABLE, codecs.tick_batch, tick_staged_row, tick_rows, tick_count),
    )
    return {
        table: Route(table, codec, AvroContainer(codec), staged, rows, count)
        for table, codec, staged, rows, count in found
    }


def framing_error(route: Route, value: bytes | None) -> str:
    """Why ``value`` is not a framed record of ``route`` (the codec's own words)."""
    try:
        route.codec.decode(value)
    except CodecError as exc:
        return str(exc)
    return f"{route.codec.name}: record is not in the expected Confluent framing"


class Item(Protocol):
    """A buffered record: ``dead`` is set (with ``rows`` = 0) when it cannot be stored."""

    record: Any
    rows: int
    dead: str | None


class ClickHouseWriter:
    """Batched inserts into one database; blocking calls (run them in a thread from async code).

    Table names are qualified with the database, so one client can serve several databases
    (tests share one chdb client and use one database each).
    """

    def __init__(self, client: Client, database: str) -> None:
        self.client = client
        self.database = check_identifier(database)
        self.avro_failures = 0  # batches the staging view refused, converted in Python instead

    def ensure_schema(self) -> None:
        ensure_schema(self.client, self.database)

    def insert_spreads(self, rows: Sequence[Row], token: str | None = None) -> int:
        return self.insert(SPREADS_TABLE, rows, token)

    def insert_windows(self, rows: Sequence[Row], token: str | None = None) -> int:
        return self.insert(WINDOWS_TABLE, rows, token)

    def insert(
        self,
        table: str,
        rows: Sequence[Row],
        token: str | None = None,
        columns: Sequence[tuple[str, str]] | None = None,
    ) -> int:
        """Insert ``rows`` (column order of ``schema``, or ``columns``: (name, type)) as one block.

        With ``token`` the block is deduplicated: ClickHouse drops a later insert with the same
        token as long as it is within the table's ``non_replicated_deduplication_window``
        (also for the materialized views it feeds). The driver cannot tell a dropped retry from
        a stored one, so the return value is the number of rows sent.
        """
        if not rows:
            return 0
        insert_columns(self.client, self.database, table, rows, columns or COLUMN_DEFS_BY_TABLE[table], token)
        return len(rows)

    def store(
        self, route: Route, topic: str, partition: int, items: Sequence[Item], token: str, via: str | None
    ) -> int:
        """Store one batch of ``items`` (records of ``topic``/``partition``); returns the rows sent.

        ``via`` is the path recorded in the ledger: ``''`` for a batch planned before the staging
        tables existed (Decimal rows straight into the table), else the staging path. Items that
        turn out not to be storable get ``dead`` set and are left out.
        """
        if via == "":
            return self._store_rows(route, topic, partition, items, token)
        live = [item for item in items if item.dead is None]
        if not live:
            return 0
        payload = route.container.payload(topic, partition, ((i.record.offset, i.record.value) for i in live))
        try:
            self.client.raw_insert(
                f"{self.database}.{route.staging}", None, payload, settings=_token(token), fmt="Avro"
            )
            return sum(item.rows for item in live)
        except Exception as exc:
            # A refused value (or ClickHouse being down): find out which in Python. If no record
            # is at fault the insert below fails the same way and the caller retries the batch.
            self.avro_failures += 1
            log.info("sink: Avro insert into %s failed (%s); converting in Python", route.staging, exc)
        rows = self._convert(route, topic, partition, live, route.staged_row)
        self.insert(route.staging, rows, token, route.staging_columns)
        return sum(item.rows for item in live if item.dead is None)

    def _store_rows(self, route: Route, topic: str, partition: int, items: Sequence[Item], token: str) -> int:
        rows = [row for built in self._convert(route, topic, partition, items, route.rows) for row in built]
        return self.insert(route.table, rows, token)

    @staticmethod
    def _convert(
        route: Route,
        topic: str,
        partition: int,
        items: Sequence[Item],
        build: Callable[[Mapping[str, Any], str, int, int], T],
    ) -> list[T]:
        out: list[T] = []
        for item in items:
            if item.dead is not None:
                continue
            record = item.record
            try:
                out.append(build(route.codec.decode(record.value), topic, partition, record.offset))
            except (CodecError, RowError) as exc:
                item.dead = str(exc)
                item.rows = 0
        return out


def insert_columns(
    client: Client,
    database: str,
    table: str,
    rows: Sequence[Row],
    columns: Sequence[tuple[str, str]],
    token: str | None = None,
) -> None:
    """``client.insert`` with the column types given: otherwise the driver asks the server with
    a ``DESCRIBE`` before every insert (a test checks the declared types match the migrations)."""
    client.insert(
        table,
        rows,
        column_names=[name for name, _ in columns],
        column_type_names=[kind for _, kind in columns],
        database=database,
        settings=_token(token),
    )


def _token(token: str | None) -> dict[str, str] | None:
    return {"insert_deduplication_token": token} if token else None
