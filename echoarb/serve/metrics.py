"""Prometheus metrics of ``echoarb serve``: the feed, and the spread events it reads.

The server sees every spread event, so the spread series live here: events per pair, the
executable opportunities and net edge of the current state per pair and direction, and
``echoarb_message_latency_seconds``, venue event time to spread event (the worker's
``computed_at`` minus the event time the opportunity is based on). One registry per server
(not the process-global one) so that several servers can run in one test process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from echoarb.serve.feed import Feed
from echoarb.serve.state import Current, SpreadState

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


def direction(key: str) -> str:
    """``pair|binary|kalshi:yes,polymarket:no`` -> ``kalshi:yes,polymarket:no`` (bounded by the config)."""
    return key.split("|", 2)[2]


class _StateCollector(Collector):
    def __init__(self, state: SpreadState, feed: Feed, decode_errors: Callable[[], int]) -> None:
        self.state = state
        self.feed = feed
        self.decode_errors = decode_errors

    def collect(self) -> Iterator[Metric]:
        executable = GaugeMetricFamily(
            "echoarb_executable_opportunities",
            "Current opportunities that are executable (latest event per direction)",
            labels=["pair"],
        )
        edge = GaugeMetricFamily(
            "echoarb_net_edge", "Net edge of the current opportunity", labels=["pair", "direction"]
        )
        profit = GaugeMetricFamily(
            "echoarb_net_profit",
            "Net profit (dollars) of the current opportunity",
            labels=["pair", "direction"],
        )
        per_pair: dict[str, int] = {}
        for key, current in self.state.current.items():
            event = current.event
            pair = event["pair_id"]
            per_pair[pair] = per_pair.get(pair, 0) + int(bool(event["executable"]))
            edge.add_metric([pair, direction(key)], float(Decimal(event["net_edge"])))
            profit.add_metric([pair, direction(key)], float(Decimal(event["net_profit"])))
        for pair, count in sorted(per_pair.items()):
            executable.add_metric([pair], count)
        yield executable
        yield edge
        yield profit
        yield GaugeMetricFamily(
            "echoarb_serve_clients", "Connected WebSocket clients", len(self.feed.clients)
        )
        yield CounterMetricFamily(
            "echoarb_serve_messages_sent", "WebSocket messages delivered", value=self.feed.messages_sent
        )
        yield CounterMetricFamily(
            "echoarb_serve_slow_clients_closed",
            "WebSocket clients closed (1013) because their queue was full",
            value=self.feed.slow_closed,
        )
        yield CounterMetricFamily(
            "echoarb_serve_connections", "WebSocket connections accepted", value=self.feed.connections_total
        )
        suspect = GaugeMetricFamily(
            "echoarb_pair_suspect",
            "1 while a pair's live prices suggest an inverted or wrong match (opportunities not executable)",
            labels=["pair"],
        )
        for pair in sorted(self.state.guard.tracks):
            suspect.add_metric([pair], 1 if self.state.guard.suspect(pair) else 0)
        yield suspect
        yield CounterMetricFamily(
            "echoarb_pair_suspicions",
            "Times a pair became suspect (inverted or wrong match) by its live prices",
            value=self.state.guard.suspicions,
        )
        yield CounterMetricFamily(
            "echoarb_serve_decode_errors",
            "Records on the spreads or tick topics that did not decode",
            value=self.decode_errors(),
        )


class _AlertsCollector(Collector):
    def __init__(self, dispatcher: Any, engine: Any) -> None:
        self.dispatcher = dispatcher
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        d = self.dispatcher
        yield CounterMetricFamily("echoarb_alerts", "Alerts raised (written to the log)", value=d.logged)
        deliveries = CounterMetricFamily(
            "echoarb_alert_deliveries", "Webhook delivery outcomes, all URLs", labels=["outcome"]
        )
        for outcome in ("delivered", "retries", "failed", "dropped"):
            deliveries.add_metric([outcome], sum(getattr(t, outcome) for t in d.targets))
        yield deliveries
        yield GaugeMetricFamily("echoarb_alert_queue", "Alerts waiting for a webhook", d.pending())


class _LagCollector(Collector):
    def __init__(self, monitor: Any) -> None:
        self.monitor = monitor

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "echoarb_consumer_lag", "Records not yet committed by the group (log end - committed)",
            labels=["group", "topic"],
        )  # fmt: skip
        for topic, value in sorted(self.monitor.lag.items()):
            family.add_metric([self.monitor.group, topic], value)
        yield family


class ServeMetrics:
    def __init__(self, state: SpreadState, feed: Feed, decode_errors: Callable[[], int] = lambda: 0) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_StateCollector(state, feed, decode_errors))
        self.spread_events = Counter(
            "echoarb_spread_events",
            "Spread events read from the spreads topic",
            ["pair"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "echoarb_message_latency_seconds",
            "Venue event time to spread event (worker computed_at - event_ts; clock skew included)",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def add_lag(self, monitor: Any) -> None:
        self.registry.register(_LagCollector(monitor))

    def add_alerts(self, dispatcher: Any, engine: Any) -> None:
        self.registry.register(_AlertsCollector(dispatcher, engine))

    def on_event(self, current: Current) -> None:
        event = current.event
        self.spread_events.labels(pair=event["pair_id"]).inc()
        self.latency.observe(max(0.0, (event["computed_at"] - event["event_ts"]) / 1000))

    def render(self) -> bytes:
        return generate_latest(self.registry)
