"""Row conversion and inserts against the real ClickHouse engine (embedded chdb)."""

from __future__ import annotations

import logging
import socket
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from echoarb.settings import Settings
from echoarb.sink.client import SinkError, connect, connect_url, mask_url
from echoarb.sink.schema import SPREAD_COLUMNS, WINDOW_COLUMNS, ensure_schema
from echoarb.sink.writer import ClickHouseWriter, RowError, micros, spread_row, window_row
from echoarb.wire.codec import load_codecs

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

MAX_MICROS = 10**18 - 1


def spread_event(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": "ev-1",
        "pair_id": "fed-cut-2025-12",
        "kind": "binary",
        "legs": [
            {
                "venue": "kalshi",
                "side": "yes",
                "outcome": "",
                "best_price_micros": 410_000,
                "avg_price_micros": 412_345,
                "size_micros": 25_000_000,
            },
            {
                "venue": "polymarket",
                "side": "no",
                "outcome": "",
                "best_price_micros": None,
                "avg_price_micros": None,
                "size_micros": 0,
            },
        ],
        "gross_edge_micros": 40_001,
        "size_micros": 25_000_000,
        "cost_micros": 23_987_654,
        "fees_micros": 123_457,
        "net_profit_micros": 888_889,
        "net_edge_micros": -1,
        "executable": True,
        "quote_age_ms": 1_234,
        "event_ts": 1_733_000_000_123,
        "computed_at": 1_733_000_000_456,
    }
    record.update(overrides)
    return record


def window(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "pair_id": "fed-cut-2025-12",
        "window": "hopping",
        "window_start": 1_733_000_040_000,
        "window_end": 1_733_000_340_000,
        "events": 17,
        "max_net_edge_micros": 35_001,
        "best_size_micros": 12_000_001,
        "executable_ms": 4_321,
        "emitted_at": 1_733_000_341_999,
    }
    record.update(overrides)
    return record


# -- pure conversion ------------------------------------------------------------------------


def test_micros_is_exact() -> None:
    assert micros(1) == Decimal("0.000001")
    assert micros(-1) == Decimal("-0.000001")
    assert micros(410_000) == Decimal("0.41")
    assert str(micros(MAX_MICROS)) == "999999999999.999999"
    assert str(micros(-MAX_MICROS)) == "-999999999999.999999"
    assert micros(0) == 0


@pytest.mark.parametrize("value", [10**18, -(10**18), 2**63 - 1])
def test_micros_out_of_decimal_range_is_a_row_error(value: int) -> None:
    with pytest.raises(RowError, match="does not fit"):
        micros(value, "cost_micros")


@pytest.mark.parametrize("value", [0.5, "1", True])
def test_micros_rejects_non_integers(value: Any) -> None:
    with pytest.raises(RowError):
        micros(value)


def test_spread_row_order_and_values() -> None:
    row = spread_row(spread_event(), "spreads", 3, 42)
    assert len(row) == len(SPREAD_COLUMNS)
    by_name = dict(zip((name for name, _ in SPREAD_COLUMNS), row, strict=True))
    assert by_name["leg_venue"] == ["kalshi", "polymarket"]
    assert by_name["leg_best_price"] == [Decimal("0.41"), None]
    assert by_name["leg_avg_price"] == [Decimal("0.412345"), None]
    assert by_name["net_edge"] == Decimal("-0.000001")
    assert by_name["event_ts"] == 1_733_000_000_123
    assert (by_name["topic"], by_name["partition"], by_name["offset"]) == ("spreads", 3, 42)


def test_bad_values_are_row_errors() -> None:
    with pytest.raises(RowError, match="quote_age_ms"):
        spread_row(spread_event(quote_age_ms=-1), "spreads", 0, 0)
    with pytest.raises(RowError, match="missing field"):
        spread_row({"id": "x"}, "spreads", 0, 0)
    with pytest.raises(RowError, match="events"):
        window_row(window(events=-3), "spread-windows", 0, 0)
    with pytest.raises(RowError, match="partition"):
        window_row(window(), "spread-windows", 70_000, 0)


def test_rows_from_codec_round_trip() -> None:
    """Rows are built from what the Avro codec really decodes (enums as str, timestamps as int)."""
    codecs = load_codecs()
    event = codecs.spread_event.decode(codecs.spread_event.encode(spread_event()))
    assert spread_row(event, "spreads", 0, 0) == spread_row(spread_event(), "spreads", 0, 0)
    win = codecs.spread_window.decode(codecs.spread_window.encode(window(max_net_edge_micros=None)))
    assert window_row(win, "w", 0, 0)[5] is None


# -- against the engine -----------------------------------------------------------------------


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
    assert writer.insert_spreads([spread_row(e, "spreads", 5, 100 + i) for i, e in enumerate(events)]) == 2
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
    rows = [
        window_row(window(), "spread-windows", 1, 7),
        window_row(window(window="tumbling", max_net_edge_micros=None), "spread-windows", 2, 8),
    ]
    assert writer.insert_windows(rows) == 2
    assert writer.insert_windows([]) == 0
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


# -- connecting -------------------------------------------------------------------------------


def test_connect_embedded_from_settings_creates_database(
    chdb_client: Client, chdb_data_dir: Path, ch_database: str
) -> None:
    database = f"{ch_database}_app"
    values: dict[str, Any] = {
        "clickhouse_url": None,
        "data_dir": chdb_data_dir,
        "clickhouse_database": database,
    }
    settings = Settings(**values)
    client = connect(settings)
    try:
        assert client.database == database
        assert chdb_client.command(f"EXISTS DATABASE `{database}`") == 1
    finally:
        chdb_client.command(f"DROP DATABASE IF EXISTS `{database}`")


def test_mask_url_hides_password() -> None:
    assert mask_url("http://alice:s3cr%40t@ch.example:8123/prod") == "http://alice:***@ch.example:8123/prod"
    assert mask_url("https://ch.example/db") == "https://ch.example/db"


def test_unreachable_server_is_a_clear_sink_error(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SinkError, match="unreachable") as info:
        connect_url(f"http://bob:hunter2secret@127.0.0.1:{port}/analytics", "echoarb", connect_timeout=2)
    assert "hunter2secret" not in str(info.value)
    assert "bob:***@127.0.0.1" in str(info.value)
    assert "hunter2secret" not in caplog.text


def test_bad_database_name_is_rejected() -> None:
    with pytest.raises(SinkError, match="invalid"):
        connect_url("http://127.0.0.1:1/bad-name;drop", "echoarb")
