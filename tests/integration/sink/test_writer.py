"""Inserts against the real ClickHouse engine (embedded chdb): stored values are exact."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from echoarb.sink.rows import Row
from echoarb.sink.schema import (
    SPREAD_COLUMNS,
    SPREADS_TABLE,
    TICKS_TABLE,
    WINDOW_COLUMNS,
    WINDOWS_TABLE,
    ensure_schema,
)
from echoarb.sink.writer import ClickHouseWriter
from tests.integration.test_sink_exactly_once import tick_batch
from tests.sink.helpers import MAX_MICROS, spread_event, store, window

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


def test_schema_is_created_idempotently(chdb_client: Client, ch_database: str) -> None:
    ensure_schema(chdb_client, ch_database)
    ensure_schema(chdb_client, ch_database)
    for table, columns in (("spreads", SPREAD_COLUMNS), ("spread_windows", WINDOW_COLUMNS)):
        found = chdb_client.query(
            "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String} "
            "ORDER BY position",
            parameters={"db": ch_database, "t": table},
        ).result_rows
        assert [name for name, _ in found] == [name for name, _ in columns]
    engine = chdb_client.query(
        "SELECT engine, sorting_key FROM system.tables WHERE database = {db:String} AND name = 'spreads'",
        parameters={"db": ch_database},
    ).result_rows
    assert engine == [("MergeTree", "pair_id, event_ts, id")]


def test_spreads_insert_and_read_back_exactly(chdb_client: Client, ch_database: str) -> None:
    writer = ClickHouseWriter(chdb_client, ch_database)
    writer.ensure_schema()
    events = [
        spread_event(),
        spread_event(
            id="ev-2",
            kind="categorical_basket",
            gross_edge_micros=None,
            cost_micros=MAX_MICROS,
            net_profit_micros=-MAX_MICROS,
            executable=False,
            legs=[
                {
                    "venue": "manifold",
                    "side": "yes",
                    "outcome": "Candidate A",
                    "best_price_micros": 1,
                    "avg_price_micros": 999_999,
                    "size_micros": 7,
                }
            ],
        ),
    ]
    assert store(writer, SPREADS_TABLE, events, "spreads", 5, first=100) == 2
    got = chdb_client.query(
        f"SELECT id, kind, leg_venue, leg_side, leg_outcome, leg_best_price, leg_avg_price, leg_size, "
        f"gross_edge, size, cost, fees, net_profit, net_edge, executable, quote_age_ms, "
        f"toUnixTimestamp64Milli(event_ts), toUnixTimestamp64Milli(computed_at), topic, partition, offset "
        f"FROM `{ch_database}`.spreads ORDER BY id"
    ).result_rows
    first, second = got
    assert first == (
        "ev-1",
        "binary",
        ["kalshi", "polymarket"],
        ["yes", "no"],
        ["", ""],
        [Decimal("0.41"), None],
        [Decimal("0.412345"), None],
        [Decimal("25"), Decimal("0")],
        Decimal("0.040001"),
        Decimal("25"),
        Decimal("23.987654"),
        Decimal("0.123457"),
        Decimal("0.888889"),
        Decimal("-0.000001"),
        True,
        1_234,
        1_733_000_000_123,
        1_733_000_000_456,
        "spreads",
        5,
        100,
    )
    assert second[1] == "categorical_basket"
    assert second[4] == ["Candidate A"]
    assert second[5:8] == ([Decimal("0.000001")], [Decimal("0.999999")], [Decimal("0.000007")])
    assert second[8] is None
    assert str(second[10]) == "999999999999.999999"
    assert str(second[12]) == "-999999999999.999999"
    assert second[14] is False
    # Exact sums in the engine too (Decimal arithmetic, no float drift).
    total = chdb_client.query(f"SELECT toString(sum(fees) + sum(net_edge)) FROM `{ch_database}`.spreads")
    assert total.result_rows == [("0.246912",)]


def test_windows_insert_and_read_back(chdb_client: Client, ch_database: str) -> None:
    writer = ClickHouseWriter(chdb_client, ch_database)
    writer.ensure_schema()
    assert store(writer, WINDOWS_TABLE, [window()], "spread-windows", 1, first=7) == 1
    tumbling = window(window="tumbling", max_net_edge_micros=None)
    assert store(writer, WINDOWS_TABLE, [tumbling], "spread-windows", 2, first=8) == 1
    assert store(writer, WINDOWS_TABLE, [], "spread-windows", 2, first=9) == 0
    got = chdb_client.query(
        f"SELECT window, toUnixTimestamp64Milli(window_start), toUnixTimestamp64Milli(window_end), events, "
        f"max_net_edge, best_size, executable_ms, toUnixTimestamp64Milli(emitted_at), partition, offset "
        f"FROM `{ch_database}`.spread_windows ORDER BY window"
    ).result_rows
    assert got == [
        (
            "hopping",
            1_733_000_040_000,
            1_733_000_340_000,
            17,
            Decimal("0.035001"),
            Decimal("12.000001"),
            4_321,
            1_733_000_341_999,
            1,
            7,
        ),
        (
            "tumbling",
            1_733_000_040_000,
            1_733_000_340_000,
            17,
            None,
            Decimal("12.000001"),
            4_321,
            1_733_000_341_999,
            2,
            8,
        ),
    ]


def test_ticks_insert_one_row_per_tick_exactly(chdb_client: Client, ch_database: str) -> None:
    writer = ClickHouseWriter(chdb_client, ch_database)
    writer.ensure_schema()
    assert (
        store(writer, TICKS_TABLE, [tick_batch("kalshi", 0, 2), tick_batch("kalshi", 1, 0)], "ticks.kalshi")
        == 2
    )
    got: list[Row] = [
        tuple(row)
        for row in chdb_client.query(
            f"SELECT venue, pair_id, best_yes_ask, best_no_ask, yes_ask_price, yes_ask_size, no_ask_size, "
            f"fee_rate, seq, toUnixTimestamp64Milli(event_ts), offset, index "
            f"FROM `{ch_database}`.ticks ORDER BY offset, index"
        ).result_rows
    ]
    assert got == [
        ("kalshi", "pair-0", Decimal("0.4"), Decimal("0.58"), [Decimal("0.4")], [Decimal("10")],
         [Decimal("1")], Decimal("0.07"), 0, 1_733_000_000_000, 0, 0),
        ("kalshi", "pair-1", Decimal("0.400001"), None, [Decimal("0.400001")], [Decimal("10")],
         [], Decimal("0.07"), 1, 1_733_000_000_000, 0, 1),
    ]  # fmt: skip
