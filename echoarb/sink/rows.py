"""Decoded Avro records -> staging-table rows: pure conversion, no client, no I/O.

The sink normally hands ClickHouse the Avro datums untouched (see ``container``) and the staging
views convert them. These builders are the reference for what may be stored, and the fallback
when a view refuses a batch: the writer decodes that batch, builds these rows record by record,
and a record whose values cannot be stored exactly raises ``RowError`` (the sink dead-letters
it) while the rest is inserted. They check what the views check (micros that fit
``Decimal(18, 6)``, unsigned counts, integer timestamps) and keep the values as the integers the
views expect, so both paths store identical rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from echoarb.sink.container import HEADER_SIZE, read_long

Row = tuple[Any, ...]

# Decimal(18, 6) holds |value| < 10**12, i.e. |micros| < 10**18.
MICROS_LIMIT = 10**18
_UINT64_LIMIT = 2**64
_UINT16_LIMIT = 2**16


class RowError(ValueError):
    """A decoded record cannot be stored exactly; the message says which field and why."""


def micros(value: int, field: str = "value") -> int:
    """Integer millionths that ``Decimal(18, 6)`` holds exactly, returned unchanged."""
    # One cheap test on the common path; details only when it fails.
    if type(value) is int and -MICROS_LIMIT < value < MICROS_LIMIT:
        return value
    if type(value) is not int:
        raise RowError(f"{field}: expected integer micros, got {type(value).__name__}")
    raise RowError(f"{field}: {value} micros does not fit Decimal(18, 6)")


def _optional_micros(value: int | None, field: str) -> int | None:
    return None if value is None else micros(value, field)


def _unsigned(value: int, field: str, limit: int = _UINT64_LIMIT) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < limit:
        raise RowError(f"{field}: {value!r} is not an unsigned integer below {limit}")
    return value


def _timestamp(value: int, field: str) -> int:
    # Epoch milliseconds; the view turns them into DateTime64(3) without rounding.
    if isinstance(value, bool) or not isinstance(value, int):
        raise RowError(f"{field}: expected epoch milliseconds, got {type(value).__name__}")
    return value


def _kafka(topic: str, partition: int, offset: int) -> tuple[str, int, int]:
    return topic, _unsigned(partition, "partition", _UINT16_LIMIT), _unsigned(offset, "offset")


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
                    _optional_micros(leg.get("best_price_micros"), "legs.best_price_micros"),
                    _optional_micros(leg.get("avg_price_micros"), "legs.avg_price_micros"),
                    micros(leg["size_micros"], "legs.size_micros"),
                )
                for leg in record["legs"]
            ],
            _optional_micros(record.get("gross_edge_micros"), "gross_edge_micros"),
            micros(record["size_micros"], "size_micros"),
            micros(record["cost_micros"], "cost_micros"),
            micros(record["fees_micros"], "fees_micros"),
            micros(record["net_profit_micros"], "net_profit_micros"),
            micros(record["net_edge_micros"], "net_edge_micros"),
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
            _optional_micros(record.get("max_net_edge_micros"), "max_net_edge_micros"),
            micros(record["best_size_micros"], "best_size_micros"),
            _unsigned(record["executable_ms"], "executable_ms"),
            _timestamp(record["emitted_at"], "emitted_at"),
        )
    except KeyError as exc:
        raise RowError(f"SpreadWindow: missing field {exc}") from exc


def _levels(levels: Sequence[Mapping[str, Any]], field: str) -> list[tuple[int, int]]:
    return [
        (
            micros(level["price_micros"], f"{field}.price_micros"),
            micros(level["size_micros"], f"{field}.size_micros"),
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
                    _levels(tick["yes_asks"], "yes_asks"),
                    _levels(tick["no_asks"], "no_asks"),
                    _timestamp(tick["event_ts"], "event_ts"),
                    _timestamp(tick["recv_ts"], "recv_ts"),
                    micros(tick["fee_rate_micros"], "fee_rate_micros"),
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
