"""Prometheus metrics of the ClickHouse sink (served by ``echoarb sink --metrics-port``).

Process-global like the producer's (one sink per process); consumer lag is read from the
sink's own consumer when scraped: high watermark (from fetch responses, right on every broker)
minus the position, per topic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector

ROWS = Counter("echoarb_sink_rows", "Rows inserted into ClickHouse", ["table"])
BATCH_ROWS = Histogram(
    "echoarb_sink_batch_rows",
    "Rows per insert",
    ["table"],
    buckets=(1, 10, 100, 500, 1_000, 5_000, 10_000, 50_000, 200_000),
)
INSERT_SECONDS = Histogram(
    "echoarb_sink_insert_seconds",
    "Time to store one batch (ClickHouse insert, retries included)",
    ["table"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


def observe_insert(table: str, rows: int, seconds: float) -> None:
    ROWS.labels(table=table).inc(rows)
    BATCH_ROWS.labels(table=table).observe(rows)
    INSERT_SECONDS.labels(table=table).observe(seconds)


class LagCollector(Collector):
    """``echoarb_consumer_lag{group, topic}`` from a callable returning {topic: lag}."""

    def __init__(self, group: str, lag: Callable[[], Mapping[str, int]]) -> None:
        self.group = group
        self.lag = lag

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "echoarb_consumer_lag", "Records not yet consumed (log end - position)", labels=["group", "topic"]
        )
        try:
            lags = self.lag()
        except Exception:  # a scrape never fails because the consumer is mid-rebalance
            lags = {}
        for topic, value in sorted(lags.items()):
            family.add_metric([self.group, topic], value)
        yield family


def register_lag(group: str, lag: Callable[[], Mapping[str, int]]) -> LagCollector:
    collector = LagCollector(group, lag)
    REGISTRY.register(collector)
    return collector
