"""Prometheus metrics of a stream worker, served by its Faust web server at ``/metrics``.

A collector reads the worker's own counters when scraped, so the hot path pays nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from streams.app import Topology

CONTENT_TYPE = "text/plain; version=0.0.4"


class WorkerCollector(Collector):
    def __init__(self, topology: Topology) -> None:
        self.t = topology

    def collect(self) -> Iterator[Metric]:
        t = self.t
        counters = {
            "echoarb_worker_ticks": ("Ticks scanned", t.ticks_processed),
            "echoarb_worker_spread_events": ("Spread events sent", t.spreads_sent),
            "echoarb_worker_decode_errors": ("Tick records dead-lettered", t.decode_errors),
            "echoarb_worker_late_ticks": (
                "Ticks behind their venue stream's watermark (out of order across records)",
                t.late_ticks_total,
            ),
            "echoarb_worker_late_window_events": (
                "Ticks older than their window's expiry: not counted in a window, "
                "still applied to the latest quote if newest",
                t.late_window_events_total,
            ),
            "echoarb_worker_stale_records": ("Records fetched before a rebalance, skipped", t.stale_skipped),
            "echoarb_worker_repeated_records": (
                "Records delivered twice in one generation",
                t.repeats_skipped,
            ),
            "echoarb_worker_reseeks": ("Seeks back to the expected offset", t.reseeks),
        }
        for name, (doc, value) in counters.items():
            yield CounterMetricFamily(name, doc, value=value)
        ok, body = t.caught_up()
        yield GaugeMetricFamily(
            "echoarb_worker_ready", "1 when assigned, recovered and not rebalancing", int(ok)
        )
        yield GaugeMetricFamily(
            "echoarb_worker_assigned_partitions", "Tick partitions held", len(body["assigned_partitions"])
        )
        yield GaugeMetricFamily(
            "echoarb_worker_buffered_ticks", "Ticks waiting in the merge", body["buffered_ticks"]
        )
        yield GaugeMetricFamily(
            "echoarb_worker_pending_checkpoints", "Checkpoints awaiting delivery", t.checkpoints.pending
        )


def worker_registry(topology: Topology) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WorkerCollector(topology))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
