"""Live ingest's per-tick metrics: the best-ask gauges (children cached) follow every tick."""

from __future__ import annotations

from decimal import Decimal as D

from prometheus_client import REGISTRY

from echoarb.ingest.live import _observe
from echoarb.model import Level, Tick


def _gauge(pair: str, venue: str, side: str) -> float | None:
    return REGISTRY.get_sample_value("echoarb_price_value", {"pair": pair, "venue": venue, "side": side})


def test_best_ask_gauges_follow_each_tick_and_a_side_without_asks_has_no_series() -> None:
    count = REGISTRY.get_sample_value("echoarb_ingest_latency_seconds_count") or 0.0
    first = Tick("gauge-pair", "kalshi", (Level(D("0.41"), D("3")),), (), 1, 2, D("0.07"))
    _observe([first])
    assert _gauge("gauge-pair", "kalshi", "yes") == 0.41
    assert _gauge("gauge-pair", "kalshi", "no") is None  # never had an ask: no 0.0 "price"
    later = Tick(
        "gauge-pair", "kalshi", (Level(D("0.43"), D("1")),), (Level(D("0.55"), D("2")),), 3, 4, D("0.07")
    )
    _observe([later, Tick("gauge-pair", "polymarket", (), (Level(D("0.6"), D("1")),), 3, 4, D("0.04"))])
    assert _gauge("gauge-pair", "kalshi", "yes") == 0.43
    assert _gauge("gauge-pair", "kalshi", "no") == 0.55
    assert _gauge("gauge-pair", "polymarket", "no") == 0.6
    assert REGISTRY.get_sample_value("echoarb_ingest_latency_seconds_count") == count + 3
