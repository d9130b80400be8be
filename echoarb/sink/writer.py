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
from typing import TYPE_CHECKING

from echoarb.sink.batches import Batch
from echoarb.sink.client import check_identifier
from echoarb.sink.routes import Route
from echoarb.sink.rows import Row, RowError
from echoarb.sink.schema import COLUMN_DEFS_BY_TABLE, ensure_schema
from echoarb.wire.codec import CodecError

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

log = logging.getLogger(__name__)


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

    def store(self, route: Route, topic: str, partition: int, batch: Batch, token: str) -> int:
        """Store the live records of ``batch`` (of ``topic``/``partition``); returns the rows sent.

        Records that turn out not to be storable are marked dead in ``batch`` and left out.
        """
        reasons = batch.reasons
        records = [r for r in batch.records if r.offset not in reasons] if reasons else batch.records
        if not records:
            return 0
        payload = route.container.payload(topic, partition, records)
        try:
            self.client.raw_insert(
                f"{self.database}.{route.staging}", None, payload, settings=_token(token), fmt="Avro"
            )
            return batch.row_count  # dead records count no rows
        except Exception as exc:
            # A refused value (or ClickHouse being down): find out which in Python. If no record
            # is at fault the insert below fails the same way and the caller retries the batch.
            self.avro_failures += 1
            log.info("sink: Avro insert into %s failed (%s); converting in Python", route.staging, exc)
        rows = _convert(route, topic, partition, batch)
        self.insert(route.staging, rows, token, route.staging_columns)
        return batch.row_count


def _convert(route: Route, topic: str, partition: int, batch: Batch) -> list[Row]:
    """Staged rows of the storable records of ``batch``; the others are marked dead (0 rows)."""
    out: list[Row] = []
    reasons = batch.reasons
    for index, record in enumerate(batch.records):
        if record.offset in reasons:
            continue
        try:
            out.append(route.staged_row(route.codec.decode(record.value), topic, partition, record.offset))
        except (CodecError, RowError) as exc:
            batch.mark_dead(index, str(exc))
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
