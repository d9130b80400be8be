"""The memoised and fast-path helpers of ``venues.parsing`` give exactly the general results."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest

from echoarb.venues.parsing import FrameError, loads, to_decimal, to_epoch_ms

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _reference_epoch_ms(value: Any) -> int | None:
    """to_epoch_ms as it was: Decimal arithmetic for every number, ISO text otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    number: Decimal | None = None
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = Decimal(text)
        except InvalidOperation:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                return None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return (parsed - _EPOCH) // timedelta(milliseconds=1)
    if number is None or not number.is_finite() or number <= 0:
        return None
    if number >= Decimal("1e17"):
        return int(number / 1_000_000)
    if number >= Decimal("1e14"):
        return int(number / 1000)
    if number >= Decimal("1e12"):
        return int(number)
    return int(number * 1000)


def _values() -> list[Any]:
    rng = random.Random(9)
    out: list[Any] = [0, -1, 1, True, False, None, "", " ", "0", "00", "-5", "+5", "1_000", "１２"]
    for exponent in range(0, 30):
        for delta in (-1, 0, 1):
            n = 10**exponent + delta
            out += [n, str(n), f" {n} ", f"0{n}", Decimal(n)]
    out += [rng.randint(1, 10**28) for _ in range(200)]
    out += [str(rng.randint(1, 10**20)) for _ in range(200)]
    out += ["2026-01-01T00:01:28.226Z", " 2026-01-01T00:01:28.226Z ", "2026-01-01T00:01:28", "2026-01-01"]
    out += ["2026-01-01T25:00:00Z", "12:30", "1:2", "2026-01-01T00:00:00+05:30", "nan", "inf", "1e13"]
    return out


@pytest.mark.parametrize("value", _values())
def test_to_epoch_ms_fast_paths_equal_the_decimal_arithmetic(value: Any) -> None:
    assert to_epoch_ms(value) == _reference_epoch_ms(value)


@pytest.mark.parametrize("text", ["0.4600", "0.46", " 0.5", "-39.00", "1E+2", "0.0", "-0"])
def test_to_decimal_memo_keeps_each_spelling(text: str) -> None:
    first, again = to_decimal(text, "x"), to_decimal(text, "x")
    assert repr(first) == repr(again) == repr(Decimal(text.strip()))


@pytest.mark.parametrize("text", ["NaN", "inf", "abc", ""])
def test_to_decimal_rejections_are_not_memoised(text: str) -> None:
    for _ in range(2):
        with pytest.raises(FrameError):
            to_decimal(text, "x")


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 0.1, "b": [1e2, -0.0, 1E400], "c": "x"}',
        '{"a": 1, "a": 2.50}',
        '{"p": NaN}',  # json.loads accepts NaN: the fallback decides
        '{"s": "\\ud800"}',  # a lone surrogate: msgspec refuses, json.loads keeps it
        "[1, 2]",
        "  7  ",
    ],
)
def test_loads_gives_json_loads_objects(text: str) -> None:
    expected = repr(json.loads(text, parse_float=Decimal))
    assert repr(loads(text)) == expected
    assert repr(loads(text.encode())) == expected


@pytest.mark.parametrize("data", ["{", "", "[1,]", "{'a': 1}", b"\xff{}", '{"a": 1} x'])
def test_loads_rejects_what_json_loads_rejects(data: str | bytes) -> None:
    with pytest.raises(FrameError, match="frame is not valid JSON"):
        loads(data)
