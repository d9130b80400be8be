"""The Avro staging path against the real engine: same stored values as the Python path, bad
records found and left out, deduplication across both paths."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from aiokafka.structs import ConsumerRecord

from echoarb.sink.container import AvroContainer, read_long, zigzag
from echoarb.sink.rows import RowError, tick_count
from echoarb.sink.schema import SPREADS_TABLE, TICKS_TABLE, WINDOWS_TABLE
from echoarb.sink.writer import ClickHouseWriter
from tests.integration.test_sink_exactly_once import tick_batch
from tests.sink.helpers import CODECS, MAX_MICROS, ROUTES, batch_of, fake_records, items, spread_event, window

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


def dump(client: Client, database: str, table: str) -> list[tuple[Any, ...]]:
    skip = " EXCEPT (inserted_at)" if table == TICKS_TABLE else ""
    return [
        tuple(row)
        for row in client.query(
            f"SELECT *{skip} FROM `{database}`.`{table}` ORDER BY offset, {'index' if skip else 'topic'}"
        ).result_rows
    ]


SPREADS = [
    spread_event(),
    spread_event(id="ev-2", gross_edge_micros=None, cost_micros=MAX_MICROS, net_profit_micros=-MAX_MICROS),
    spread_event(
        id="ev-3",
        kind="categorical_basket",
        executable=False,
        legs=[
            {
                "venue": "manifold",
                "side": "yes",
                "outcome": "Ünïcode",
                "best_price_micros": None,
                "avg_price_micros": None,
                "size_micros": -MAX_MICROS,
            },
        ],
    ),
    spread_event(id="ev-4", legs=[], event_ts=-1, computed_at=0),
]
WINDOWS = [window(), window(window="tumbling", max_net_edge_micros=None, best_size_micros=-MAX_MICROS)]
TICKS = [tick_batch("kalshi", 0, 3), tick_batch("polymarket", 1, 0), tick_batch("manifold", 2, 2)]


@pytest.mark.parametrize(
    ("table", "records"), [(SPREADS_TABLE, SPREADS), (WINDOWS_TABLE, WINDOWS), (TICKS_TABLE, TICKS)]
)
def test_avro_and_python_paths_store_identical_rows(
    chdb_client: Client, ch_database: str, table: str, records: list[dict[str, Any]]
) -> None:
    """ClickHouse's Avro parser and the driver's insert of Python-built rows are independent:
    the same records must come out of the same view as the same rows."""
    writer = ClickHouseWriter(chdb_client, ch_database)
    writer.ensure_schema()
    route = ROUTES[table]
    staged = [route.staged_row(r, "t", 3, 100 + i) for i, r in enumerate(records)]
    writer.insert(route.staging, staged, "python", route.staging_columns)
    expected = dump(chdb_client, ch_database, table)
    assert len(expected) == sum(1 if route.count is None else len(r["ticks"]) for r in records) > 0
    chdb_client.command(f"TRUNCATE TABLE `{ch_database}`.`{table}`")
    assert writer.store(route, "t", 3, items(route, records), "avro") == len(expected)
    assert writer.avro_failures == 0
    assert dump(chdb_client, ch_database, table) == expected


def test_a_refused_batch_is_converted_in_python_and_only_bad_records_die(
    chdb_client: Client, ch_database: str
) -> None:
    writer = ClickHouseWriter(chdb_client, ch_database)
    writer.ensure_schema()
    route = ROUTES[SPREADS_TABLE]
    fakes = fake_records(
        route,
        [
            spread_event(id="ok-1"),
            spread_event(id="too-big", cost_micros=10**18),
            spread_event(id="negative-age", quote_age_ms=-1),
            spread_event(id="ok-2", size_micros=2_000_000),
        ],
    )
    fakes[3].value += b"\x00\x01"  # trailing bytes are ignored, as by a per-record decode
    (cut,) = fake_records(route, [spread_event(id="truncated")], first=104)
    cut.value = cut.value[:-3]
    (latin1,) = fake_records(route, [spread_event(id="latin1")], first=105)
    latin1.value = latin1.value.replace(b"latin1", b"l\xe4tin")
    batch = batch_of(route, [*fakes, cut, latin1])
    assert writer.store(route, "spreads", 0, batch, "spreads-0-100-105@1000") == 2
    assert writer.avro_failures == 1
    reasons = batch.reasons
    assert set(reasons) == {101, 102, 104, 105}
    assert [r.offset for r, _ in batch.dead] == [101, 102, 104, 105]
    assert "cost_micros" in str(reasons[101]) and "does not fit" in str(reasons[101])
    assert "quote_age_ms" in str(reasons[102])
    assert "does not decode" in str(reasons[104]) and "does not decode" in str(reasons[105])
    assert batch.rows == [1, 0, 0, 1, 0, 0] and batch.row_count == 2
    db = ch_database
    stored = chdb_client.query(f"SELECT id, offset FROM `{db}`.spreads ORDER BY offset").result_rows
    assert stored == [("ok-1", 100), ("ok-2", 103)]
    assert chdb_client.command(f"SELECT sum(events) FROM `{db}`.pair_minute_stats") == 2
    # The crashed run's retry: the same batch again, same token, nothing doubles.
    again = items(route, [spread_event(id="ok-1"), spread_event(id="too-big", cost_micros=10**18)])
    writer.store(route, "spreads", 0, again, "spreads-0-100-105@1000")
    assert chdb_client.command(f"SELECT count() FROM `{db}`.spreads") == 2
    assert chdb_client.command(f"SELECT sum(events) FROM `{db}`.pair_minute_stats") == 2


def test_avro_and_python_staging_inserts_share_deduplication(chdb_client: Client, ch_database: str) -> None:
    writer = ClickHouseWriter(chdb_client, ch_database)
    writer.ensure_schema()
    route = ROUTES[SPREADS_TABLE]
    records = [spread_event(id=f"e{i}") for i in range(3)]
    writer.store(route, "spreads", 0, items(route, records), "tok")
    writer.store(route, "spreads", 0, items(route, records), "tok")
    staged = [route.staged_row(r, "spreads", 0, 100 + i) for i, r in enumerate(records)]
    writer.insert(route.staging, staged, "tok", route.staging_columns)
    db = ch_database
    assert chdb_client.command(f"SELECT count() FROM `{db}`.spreads") == 3
    assert chdb_client.command(f"SELECT sum(events) FROM `{db}`.pair_minute_stats") == 3


def test_a_batch_of_only_dead_records_inserts_nothing(chdb_client: Client, ch_database: str) -> None:
    writer = ClickHouseWriter(chdb_client, ch_database)
    writer.ensure_schema()
    route = ROUTES[WINDOWS_TABLE]
    batch = items(route, [window(events=-1)])
    assert writer.store(route, "w", 0, batch, "w-0-100-100@1") == 0
    assert batch.rows == [0] and "events" in batch.reasons[100]
    assert chdb_client.command(f"SELECT count() FROM `{ch_database}`.spread_windows") == 0


def test_container_framing_and_tick_count() -> None:
    for n in (0, 1, -1, 63, 64, -65, 2**62, -(2**63), 2**63 - 1):
        assert read_long(zigzag(n), 0) == (n, len(zigzag(n)))
    container = AvroContainer(CODECS.spread_event)
    value = CODECS.spread_event.encode(spread_event())
    assert container.framed(value)
    assert not container.framed(None) and not container.framed(value[:5])
    assert not container.framed(b"\x01" + value[1:])
    assert not AvroContainer(CODECS.spread_window).framed(value)
    payload = container.payload(
        "spreads", 2, [ConsumerRecord("spreads", 2, 7, 0, 0, None, value, None, 0, 0, [])]
    )
    assert payload.startswith(container.header) and payload.endswith(container.sync)
    for ticks in (0, 1, 5, 300):
        assert tick_count(CODECS.tick_batch.encode(tick_batch("kalshi", 9, ticks))) == ticks
    assert tick_count(CODECS.tick_batch.encode(tick_batch("kalshi", 9, 1))[:7]) == 1  # cut off


def _leg(**overrides: Any) -> dict[str, Any]:
    leg = {"venue": "kalshi", "side": "yes", "outcome": "", "best_price_micros": 1, "avg_price_micros": 1,
           "size_micros": 1}  # fmt: skip
    return {**leg, **overrides}


def _tick(**overrides: Any) -> dict[str, Any]:
    batch = tick_batch("kalshi", 0, 1)
    batch["ticks"][0].update(overrides)
    return batch


BIG = 10**18
REFUSED = [
    (SPREADS_TABLE, spread_event(legs=[_leg(best_price_micros=BIG)])),
    (SPREADS_TABLE, spread_event(legs=[_leg(avg_price_micros=-BIG)])),
    (SPREADS_TABLE, spread_event(legs=[_leg(size_micros=2**63 - 1)])),
    (SPREADS_TABLE, spread_event(gross_edge_micros=-(2**63))),
    *((SPREADS_TABLE, spread_event(**{field: BIG})) for field in
      ("size_micros", "cost_micros", "fees_micros", "net_profit_micros", "net_edge_micros")),
    (SPREADS_TABLE, spread_event(quote_age_ms=-1)),
    (WINDOWS_TABLE, window(events=-1)),
    (WINDOWS_TABLE, window(executable_ms=-1)),
    (WINDOWS_TABLE, window(max_net_edge_micros=BIG)),
    (WINDOWS_TABLE, window(best_size_micros=-BIG)),
    (TICKS_TABLE, _tick(yes_asks=[{"price_micros": BIG, "size_micros": 1}])),
    (TICKS_TABLE, _tick(no_asks=[{"price_micros": 1, "size_micros": -BIG}])),
    (TICKS_TABLE, _tick(fee_rate_micros=BIG)),
    (TICKS_TABLE, _tick(seq=-1)),
]  # fmt: skip


@pytest.mark.parametrize(("table", "record"), REFUSED)
def test_the_staging_views_refuse_what_the_python_conversion_refuses(
    chdb_client: Client, ch_database: str, table: str, record: dict[str, Any]
) -> None:
    writer = ClickHouseWriter(chdb_client, ch_database)
    writer.ensure_schema()
    route = ROUTES[table]
    with pytest.raises(RowError):  # the Python conversion refuses it
        route.staged_row(route.codec.decode(route.codec.encode(record)), "t", 0, 0)
    batch = items(route, [record])
    assert writer.store(route, "t", 0, batch, "tok") == 0
    assert writer.avro_failures == 1  # ClickHouse refused it too, not only Python
    assert batch.reasons[100] and batch.rows == [0]
    assert chdb_client.command(f"SELECT count() FROM `{ch_database}`.`{table}`") == 0
