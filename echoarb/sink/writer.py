"""Batched inserts into ClickHouse: the sink's I/O, blocking (run it in a thread from async code).

The fast path (issue #6) does no per-value work in Python: the Avro datums of a batch go to
ClickHouse as they arrived, framed as an Avro Object Container (``container``), into a
Null-engine staging table whose view converts them (micros -> ``Decimal(18, 6)`` by
reinterpreting the integer, exact). The view refuses values that cannot be stored exactly,
failing the whole insert; the writer then converts that batch in Python (``rows``), marks the
offending records dead (the service dead-letters them) and inserts the rest, still through the
staging table and with the same deduplication token.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from echoarb.sink.client import check_identifier
from echoarb.sink.routes import Route
from echoarb.sink.rows import Row, RowError
from echoarb.sink.schema import COLUMN_DEFS_BY_TABLE, ensure_schema
from echoarb.wire.codec import CodecError

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

log = logging.getLogger(__name__)


class Item(Protocol):
    """A buffered record: ``dead`` is set (with ``rows`` = 0) when it cannot be stored."""

    record: Any
    rows: int
    dead: str | None


class ClickHouseWriter:
    """Batched inserts into one database.

    Table names are qualified with the database, so one client can serve several databases
    (tests share one chdb client and use one database each).
    """

    def __init__(self, client: Client, database: str) -> None:
        self.client = client
        self.database = check_identifier(database)
        self.avro_failures = 0  # batches the staging view refused, converted in Python instead

    def ensure_schema(self) -> None:
        ensure_schema(self.client, self.database)

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

    def store(self, route: Route, topic: str, partition: int, items: Sequence[Item], token: str) -> int:
        """Store one batch of ``items`` (records of ``topic``/``partition``); returns the rows sent.

        Items that turn out not to be storable get ``dead`` set and are left out.
        """
        live = [item for item in items if item.dead is None]
        if not live:
            return 0
        payload = route.container.payload(topic, partition, [item.record for item in live])
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
        rows = _convert(route, topic, partition, live)
        self.insert(route.staging, rows, token, route.staging_columns)
        return sum(item.rows for item in live if item.dead is None)


def _convert(route: Route, topic: str, partition: int, items: Sequence[Item]) -> list[Row]:
    """Staged rows of the storable ``items``; the others get ``dead`` set (and ``rows`` = 0)."""
    out: list[Row] = []
    for item in items:
        record = item.record
        try:
            out.append(route.staged_row(route.codec.decode(record.value), topic, partition, record.offset))
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
