"""What exactly-once rests on, checked against the real engine: token deduplication and migrations."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from echoarb.sink.migrate import LEDGER, Migration, MigrationError, load_migrations, migrate
from echoarb.sink.schema import (
    BATCH_COLUMNS,
    SPREAD_COLUMNS,
    SPREADS_TABLE,
    STAGING_BY_TABLE,
    STAGING_COLUMNS,
    TICK_COLUMNS,
    WINDOW_COLUMNS,
)
from echoarb.sink.writer import ClickHouseWriter
from tests.sink.helpers import spread_event, store

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


def count(client: Client, sql: str) -> int:
    result = client.command(sql)
    assert isinstance(result, int | str), result
    return int(result)


def test_chdb_drops_a_repeated_insert_token_only_with_a_deduplication_window(
    chdb_client: Client, ch_database: str
) -> None:
    db = ch_database
    chdb_client.command(f"CREATE TABLE `{db}`.plain (x UInt64) ENGINE = MergeTree ORDER BY x")
    chdb_client.command(
        f"CREATE TABLE `{db}`.windowed (x UInt64) ENGINE = MergeTree ORDER BY x "
        "SETTINGS non_replicated_deduplication_window = 100"
    )
    for table in ("plain", "windowed"):
        for token in ("t-0-0-1@1", "t-0-0-1@1", "t-0-2-3@1"):
            chdb_client.insert(
                table, [(1,), (2,)], database=db, settings={"insert_deduplication_token": token}
            )
    assert count(chdb_client, f"SELECT count() FROM `{db}`.plain") == 6  # no window: the token is ignored
    assert count(chdb_client, f"SELECT count() FROM `{db}`.windowed") == 4


def test_migrated_tables_deduplicate_retries_in_the_table_and_its_materialized_view(
    chdb_client: Client, ch_database: str
) -> None:
    writer = ClickHouseWriter(chdb_client, ch_database)
    writer.ensure_schema()
    events = [spread_event(id=f"e{i}", size_micros=1_000_000) for i in range(3)]
    for _ in range(3):  # the original insert and two retries after "crashes"
        store(writer, SPREADS_TABLE, events, "spreads", token="spreads-0-0-2@1")
    store(writer, SPREADS_TABLE, events[:1], "spreads", first=3, token="spreads-0-3-3@1")  # another batch
    db = ch_database
    assert count(chdb_client, f"SELECT count() FROM `{db}`.spreads") == 4
    assert count(chdb_client, f"SELECT sum(events) FROM `{db}`.pair_minute_stats") == 4


def test_migrations_create_the_declared_columns_and_record_versions(
    chdb_client: Client, ch_database: str
) -> None:
    versions = [m.version for m in load_migrations()]
    assert versions == sorted(versions) and versions[0] == 1
    assert migrate(chdb_client, ch_database) == versions
    assert migrate(chdb_client, ch_database) == []  # idempotent
    recorded = chdb_client.query(f"SELECT version FROM `{ch_database}`.{LEDGER} ORDER BY version")
    assert [v for (v,) in recorded.result_rows] == versions
    expected = {"spreads": SPREAD_COLUMNS, "spread_windows": WINDOW_COLUMNS, "sink_batches": BATCH_COLUMNS}
    expected["ticks"] = (*TICK_COLUMNS, ("inserted_at", "DateTime64(3, 'UTC')"))
    for table, staging in STAGING_BY_TABLE.items():  # inserted with these declared types
        expected[staging] = STAGING_COLUMNS[table]
    for table, columns in expected.items():
        found = chdb_client.query(
            "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String} "
            "ORDER BY position",
            parameters={"db": ch_database, "t": table},
        ).result_rows
        assert [tuple(c) for c in found] == list(columns)
    settings = chdb_client.query(
        "SELECT name, engine, engine_full FROM system.tables WHERE database = {db:String}",
        parameters={"db": ch_database},
    ).result_rows
    by_name = {name: (engine, full) for name, engine, full in settings}
    for table in ("spreads", "spread_windows", "ticks", "pair_minute_stats"):
        assert "non_replicated_deduplication_window = 10000" in by_name[table][1], table
    assert by_name["pair_minute_stats"][0] == "AggregatingMergeTree"
    assert "TTL" in by_name["ticks"][1]


def test_migrations_adopt_a_database_created_before_they_existed(
    chdb_client: Client, ch_database: str
) -> None:
    old = load_migrations()[0]  # the old ensure_schema created exactly these tables
    for statement in old.statements(ch_database):
        chdb_client.command(statement)
    applied = migrate(chdb_client, ch_database)
    assert applied[0] == 1
    full = chdb_client.command(
        f"SELECT engine_full FROM system.tables WHERE database = '{ch_database}' AND name = 'spreads'"
    )
    assert "non_replicated_deduplication_window = 10000" in str(full)


def test_a_failing_migration_names_its_version_and_is_not_recorded(
    chdb_client: Client, ch_database: str
) -> None:
    broken = Migration(9001, "broken", "CREATE TABLE `{database}`.x (a UInt8) ENGINE = NoSuchEngine;")
    with pytest.raises(MigrationError, match="9001_broken"):
        migrate(chdb_client, ch_database, [broken])
    assert migrate(chdb_client, ch_database, []) == []
    assert count(chdb_client, f"SELECT count() FROM `{ch_database}`.{LEDGER} WHERE version = 9001") == 0
