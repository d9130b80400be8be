"""Fetched records -> buffer entries: only the framing is checked on arrival."""

from __future__ import annotations

from aiokafka.structs import ConsumerRecord

from echoarb.sink.routes import entries_for
from echoarb.sink.schema import SPREADS_TABLE, TICKS_TABLE
from tests.integration.test_sink_exactly_once import tick_batch
from tests.sink.helpers import CODECS, ROUTES, spread_event, window


def record(offset: int, value: bytes | None, topic: str = "spreads") -> ConsumerRecord[bytes, bytes]:
    size = -1 if value is None else len(value)
    return ConsumerRecord(topic, 0, offset, 1_000 + offset, 0, None, value, None, 0, size, [])


def test_framed_records_become_live_entries_and_the_rest_dead_on_arrival() -> None:
    good = CODECS.spread_event.encode(spread_event())
    other = CODECS.spread_window.encode(window())
    fetched = [record(5, good), record(6, None), record(7, b"\x00\x00"), record(8, other)]
    entries = entries_for(ROUTES[SPREADS_TABLE], fetched, now=42.0)
    assert (entries.rows, entries.arrived) == ([1, 0, 0, 0], 42.0)
    assert entries.records == fetched and entries.records[0] is fetched[0]
    assert set(entries.dead) == {6, 7, 8} and all(entries.dead.values())  # the codec says why
    assert "schema" in entries.dead[8].lower()  # another schema id than SpreadEvent's


def test_a_tick_batch_counts_as_one_row_per_tick() -> None:
    values = [CODECS.tick_batch.encode(tick_batch("kalshi", i, n)) for i, n in enumerate((3, 0, 1))]
    entries = entries_for(
        ROUTES[TICKS_TABLE], [record(i, v, "ticks.kalshi") for i, v in enumerate(values)], 0.0
    )
    assert entries.rows == [3, 0, 1] and not entries.dead
