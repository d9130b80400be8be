"""Prometheus metrics of a stream worker, served by its Faust web server at ``/metrics``.

A collector takes one ``WorkerStats`` snapshot per scrape, so the hot path pays nothing
and the metrics say exactly what ``/health`` says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from streams.stats import WorkerStats

CONTENT_TYPE = "text/plain; version=0.0.4"


class WorkerCollector(Collector):
    def __init__(self, stats: Callable[[], WorkerStats]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        s = self._stats()
        counters = {
            "echoarb_worker_ticks": ("Ticks scanned", s.ticks_processed),
            "echoarb_worker_spread_events": ("Spread events sent", s.spreads_sent),
            "echoarb_worker_decode_errors": ("Tick records dead-lettered", s.decode_errors),
            "echoarb_worker_late_ticks": (
                "Ticks behind their venue stream's watermark (out of order across records)",
                s.late_ticks,
            ),
            "echoarb_worker_late_window_events": (
                "Ticks older than their window's expiry: not counted in a window, "
                "still applied to the latest quote if newest",
                s.late_window_events,
            ),
            "echoarb_worker_stale_records": (
                "Records fetched before a rebalance, skipped",
                s.stale_records_skipped,
            ),
            "echoarb_worker_repeated_records": (
                "Records delivered twice in one generation",
                s.repeated_records_skipped,
            ),
            "echoarb_worker_reseeks": ("Seeks back to the expected offset", s.reseeks),
        }
        for name, (doc, value) in counters.items():
            yield CounterMetricFamily(name, doc, value=value)
        yield GaugeMetricFamily(
            "echoarb_worker_ready", "1 when assigned, recovered and not rebalancing", int(s.ready)
        )
        yield GaugeMetricFamily(
            "echoarb_worker_assigned_partitions", "Tick partitions held", len(s.assigned_partitions)
        )
        yield GaugeMetricFamily(
            "echoarb_worker_buffered_ticks", "Ticks waiting in the merge", s.buffered_ticks
        )
        yield GaugeMetricFamily(
            "echoarb_worker_pending_checkpoints", "Checkpoints awaiting delivery", s.pending_checkpoints
        )


def worker_registry(stats: Callable[[], WorkerStats]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WorkerCollector(stats))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
