"""Pure row conversion (the Python fallback of the staging path): what may be stored, exactly."""

from __future__ import annotations

from typing import Any

import pytest

from echoarb.sink.rows import RowError, micros, spread_staged_row, window_staged_row
from echoarb.sink.schema import SPREAD_STAGING_COLUMNS, WINDOW_STAGING_COLUMNS
from tests.sink.helpers import CODECS, MAX_MICROS, spread_event, window


def test_micros_that_fit_decimal_18_6_pass_unchanged() -> None:
    for value in (1, -1, 410_000, 0, MAX_MICROS, -MAX_MICROS):
        assert micros(value) == value
        assert type(micros(value)) is int


@pytest.mark.parametrize("value", [10**18, -(10**18), 2**63 - 1])
def test_micros_out_of_decimal_range_is_a_row_error(value: int) -> None:
    with pytest.raises(RowError, match="does not fit"):
        micros(value, "cost_micros")


@pytest.mark.parametrize("value", [0.5, "1", True])
def test_micros_rejects_non_integers(value: Any) -> None:
    with pytest.raises(RowError):
        micros(value)


def test_spread_staged_row_order_and_values() -> None:
    row = spread_staged_row(spread_event(), "spreads", 3, 42)
    assert len(row) == len(SPREAD_STAGING_COLUMNS)
    by_name = dict(zip((name for name, _ in SPREAD_STAGING_COLUMNS), row, strict=True))
    assert (by_name["_topic"], by_name["_partition"], by_name["_offset"]) == ("spreads", 3, 42)
    assert by_name["legs"] == [
        ("kalshi", "yes", "", 410_000, 412_345, 25_000_000),
        ("polymarket", "no", "", None, None, 0),
    ]
    assert by_name["net_edge_micros"] == -1
    assert by_name["event_ts"] == 1_733_000_000_123
    assert len(window_staged_row(window(), "w", 0, 0)) == len(WINDOW_STAGING_COLUMNS)


def test_bad_values_are_row_errors() -> None:
    with pytest.raises(RowError, match="quote_age_ms"):
        spread_staged_row(spread_event(quote_age_ms=-1), "spreads", 0, 0)
    with pytest.raises(RowError, match="missing field"):
        spread_staged_row({"id": "x"}, "spreads", 0, 0)
    with pytest.raises(RowError, match="events"):
        window_staged_row(window(events=-3), "spread-windows", 0, 0)
    with pytest.raises(RowError, match="partition"):
        window_staged_row(window(), "spread-windows", 70_000, 0)


def test_rows_from_codec_round_trip() -> None:
    """Rows are built from what the Avro codec really decodes (enums as str, timestamps as int)."""
    event = CODECS.spread_event.decode(CODECS.spread_event.encode(spread_event()))
    assert spread_staged_row(event, "spreads", 0, 0) == spread_staged_row(spread_event(), "spreads", 0, 0)
    win = CODECS.spread_window.decode(CODECS.spread_window.encode(window(max_net_edge_micros=None)))
    assert window_staged_row(win, "w", 0, 0)[8] is None
