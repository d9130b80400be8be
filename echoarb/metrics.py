"""Prometheus metrics of the producer side (``echoarb ingest --metrics-port``).

Label values stay low-cardinality on purpose: ``reason`` is a short category derived from
the parser's message (the full text goes to the log and the dead-letter topic), ``pair`` is
bounded by the pairs config.
"""

from __future__ import annotations

import re

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_RECEIVED = Counter(
    "echoarb_messages_received", "Frames received from a venue (ws or rest)", ["venue"]
)
# echoarb_message_latency_seconds (venue event time -> spread event) is measured where spread
# events are read: echoarb/serve/metrics.py. This one is the producer's share of it.
INGEST_LATENCY = Histogram(
    "echoarb_ingest_latency_seconds",
    "Exchange event time to publish on a tick topic (clock skew included)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CONNECTIONS_ACTIVE = Gauge("echoarb_connections_active", "Open venue connections", ["venue"])
RECONNECT_ATTEMPTS = Counter(
    "echoarb_reconnect_attempts", "Reconnects after a lost or failed connection", ["venue"]
)
PRICE_VALUE = Gauge("echoarb_price_value", "Best ask of a pair on a venue", ["pair", "venue", "side"])
PARSE_ERRORS = Counter("echoarb_parse_errors", "Frames or events rejected by a parser", ["venue", "reason"])
FRAMES_IGNORED = Counter(
    "echoarb_frames_ignored",
    "Events understood and deliberately not quoted (ticker, trade, acks, unknown types ...)",
    ["venue", "kind"],
)
BOOK_DESYNCS = Counter(
    "echoarb_book_desyncs",
    "Books marked out of sync (seq gap, unknown level, best bid/ask mismatch ...), each asks a resync",
    ["venue", "reason"],
)
EVENT_TIME_FALLBACKS = Counter(
    "echoarb_event_time_fallbacks",
    "Quotes stamped with the receive time because the frame had no usable venue timestamp",
    ["venue"],
)

VENUE_REST_REQUESTS = Counter(
    "echoarb_venue_rest_requests",
    "REST requests to a venue (market metadata, order book resyncs)",
    ["venue", "endpoint"],
)
VENUE_REST_FAILURES = Counter(
    "echoarb_venue_rest_failures",
    "Venue REST requests that failed (HTTP error, timeout, refused): logged, the feed continues",
    ["venue", "endpoint"],
)

_CATEGORIES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("invalid_json", re.compile(r"not valid JSON")),
    ("not_object", re.compile(r"is not a JSON (object|array)|not a JSON object or array")),
    ("venue_error", re.compile(r"venue replied")),
    ("missing_field", re.compile(r"missing field")),
    ("out_of_range", re.compile(r"out of range")),
    ("bad_value", re.compile(r"is not (a|an|the|'|BUY)|not a number|not integers|bad level")),
    ("internal", re.compile(r"internal error")),
)


def error_category(reason: str) -> str:
    """A short, bounded label for a parser error message."""
    for name, pattern in _CATEGORIES:
        if pattern.search(reason):
            return name
    return "other"


def init_venue_series(venues: list[str]) -> None:
    """Create the per-venue series at 0, so that a scrape sees them before the first event."""
    for venue in venues:
        MESSAGES_RECEIVED.labels(venue=venue)
        CONNECTIONS_ACTIVE.labels(venue=venue)
        RECONNECT_ATTEMPTS.labels(venue=venue)
