"""Latency specs: constants per venue, seeded distributions, and clear errors."""

from __future__ import annotations

import pytest

from echoarb.backtest.latency import Dist, LatencyError, LatencyModel, parse_duration


def test_durations() -> None:
    assert parse_duration("150ms") == 150
    assert parse_duration("0.3s") == 300
    assert parse_duration("40") == 40


def test_per_venue_constants_and_a_default() -> None:
    model = LatencyModel.parse("kalshi=150ms,polymarket=0.3s")
    assert (model.draw("kalshi", "a"), model.draw("polymarket", "a"), model.draw("manifold", "a")) == (
        150,
        300,
        0,
    )
    model = LatencyModel.parse("200ms,polymarket=400ms")
    assert (model.draw("kalshi", "a"), model.draw("polymarket", "a")) == (200, 400)
    assert model.describe() == "200ms,polymarket=400ms"


def test_distributions_are_seeded_per_order() -> None:
    model = LatencyModel.parse("normal:150ms:40ms,polymarket=uniform:100ms:300ms", seed=7)
    draws = [model.draw("kalshi", f"order-{i}") for i in range(200)]
    assert draws == [
        LatencyModel.parse("normal:150ms:40ms", seed=7).draw("kalshi", f"order-{i}") for i in range(200)
    ]
    assert len(set(draws)) > 20 and min(draws) >= 0
    assert 130 < sum(draws) / len(draws) < 170
    uniform = [model.draw("polymarket", f"order-{i}") for i in range(200)]
    assert min(uniform) >= 100 and max(uniform) <= 300
    other_seed = LatencyModel.parse("normal:150ms:40ms", seed=8)
    assert [other_seed.draw("kalshi", f"order-{i}") for i in range(200)] != draws
    # A draw depends on its order key only, not on the draws made before it.
    assert model.draw("kalshi", "order-5") == draws[5]


def test_normal_is_cut_at_zero() -> None:
    assert Dist("normal", 0, 1000).sample(__import__("random").Random(1)) >= 0
    model = LatencyModel.parse("normal:10ms:500ms")
    assert min(model.draw("kalshi", str(i)) for i in range(100)) == 0


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("", "empty"),
        ("kalshi=", "not a duration"),
        ("fast", "not a duration"),
        ("binance=100ms", "unknown venue 'binance'"),
        ("normal:150ms", "normal:MEAN:SD"),
        ("gamma:1:2", "normal:MEAN:SD"),
        ("uniform:300ms:100ms", "LOW <= HIGH"),
        ("kalshi=100ms,,", "empty item"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, needle: str) -> None:
    with pytest.raises(LatencyError, match=needle):
        LatencyModel.parse(spec)
