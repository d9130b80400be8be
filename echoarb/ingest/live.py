"""``echoarb ingest``: live producer agents for the configured venues, publishing tick batches.

connectors (one task per venue) -> ``BufferedIngest.on_frame`` (record, then parse and
normalise with the shared ``FramePipeline``; synchronous, in receive order) -> bounded
buffer -> publish loop -> ``TickPublisher`` (the same batching and Avro records as replay)
-> ``ticks.<venue>``.

The buffer is the only place frames wait. When Kafka is slow or briefly unreachable the
aiokafka producer retries internally for up to ``ingest_kafka_outage_s``; meanwhile the
publish loop blocks on delivery, the buffer fills, and then the connectors block on
``put`` (they stop reading their sockets): backpressure, never a silent drop. An outage
longer than that fails the ingest loudly.

Every ``heartbeat_ms`` the publish loop advances the watermark to ``now - 1`` and
flushes, so a worker's merge never waits on a venue that is merely quiet.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from echoarb import metrics
from echoarb.ingest.frames import FrameHandler, FrameOutcome
from echoarb.ingest.pipeline import FramePipeline, PipelineStats, TickSink, frame_handler
from echoarb.ingest.publisher import TickPublisher
from echoarb.kafka import aiokafka_compat, client_config
from echoarb.model import VENUES, Tick
from echoarb.pairs import PairsConfig
from echoarb.resilience.ratelimit import TokenBucket
from echoarb.settings import Settings
from echoarb.venues.connector import ConnectorFatalError, ConnectorTiming, VenueConnector, now_ms
from echoarb.venues.polymarket.client import PolymarketConnector
from echoarb.venues.recording import RecordedFrame, RecordingWriter
from echoarb.venues.rest import MetadataPoller, RestClient
from echoarb.wire.codec import load_codecs

log = logging.getLogger("echoarb.ingest")


class IngestError(RuntimeError):
    pass


@dataclass(slots=True)
class _Item:
    frame: RecordedFrame
    outcome: FrameOutcome


@dataclass
class IngestStats(PipelineStats):
    buffer_full_waits: int = 0
    failed_venues: dict[str, str] = field(default_factory=dict)


class BufferedIngest:
    """The shared ``FramePipeline`` with a bounded buffer between parsing and publishing.

    Connectors call ``on_frame`` (record, parse: synchronous, in receive order); ``run`` is
    the publish loop that drains the buffer into the pipeline's sink.
    """

    def __init__(
        self,
        handler: FrameHandler,
        publisher: TickSink,
        *,
        buffer_frames: int = 10_000,
        heartbeat_ms: int = 100,
        recorder: RecordingWriter | None = None,
    ) -> None:
        self.handler = handler
        self.publisher = publisher
        self.heartbeat_s = heartbeat_ms / 1000
        self.recorder = recorder
        self.stats = IngestStats()
        self.pipeline = FramePipeline(handler, publisher, stats=self.stats, on_ticks=_observe)
        self.buffer: asyncio.Queue[_Item] = asyncio.Queue(maxsize=buffer_frames)
        self._warned_full = False

    async def on_frame(self, frame: RecordedFrame) -> FrameOutcome:
        """Record, parse and queue one frame; waits (backpressure) while the buffer is full."""
        if self.recorder is not None:
            self.recorder.write(frame)
        outcome = self.pipeline.parse(frame)
        if outcome.ticks or outcome.errors:
            if self.buffer.full():
                self.stats.buffer_full_waits += 1
                if not self._warned_full:
                    self._warned_full = True
                    log.warning(
                        "ingest buffer full (%d frames): Kafka is behind, pausing the venue reads",
                        self.buffer.maxsize,
                    )
            await self.buffer.put(_Item(frame, outcome))
        return outcome

    async def run(self) -> None:
        """The publish loop: drain the buffer, heartbeat and flush every ``heartbeat_ms``."""
        loop = asyncio.get_running_loop()
        next_beat = loop.time() + self.heartbeat_s
        while True:
            timeout = next_beat - loop.time()
            # A pending batch goes out when its linger ends, not at the next heartbeat: a quiet
            # feed's tick would otherwise wait up to ``heartbeat_ms`` here.
            lingering: float | None = getattr(self.publisher, "linger_deadline", None)
            if lingering is not None:
                timeout = min(timeout, lingering - loop.time())
            if timeout > 0:
                item: _Item | None = None
                try:
                    async with asyncio.timeout(timeout):  # not wait_for: it can swallow a cancel
                        item = await self.buffer.get()
                except TimeoutError:
                    pass
                if item is not None:
                    await self._publish(item)
                    # Take whatever else is queued without yielding per item.
                    while not self.buffer.empty() and loop.time() < next_beat:
                        await self._publish(self.buffer.get_nowait())
                    continue
            if loop.time() < next_beat:
                await self.flush_lingered()
                continue
            await self.heartbeat()
            next_beat = loop.time() + self.heartbeat_s

    async def _publish(self, item: _Item) -> None:
        await self.pipeline.publish(item.frame, item.outcome)

    async def flush_lingered(self) -> None:
        """Send the batches whose linger ended; with nothing queued, the watermark moves to
        now - 1 too (as a heartbeat would), so a strict merge can release them at once."""
        if self.buffer.empty():
            self.publisher.advance(now_ms() - 1)
        await self.publisher.flush()

    async def heartbeat(self) -> None:
        """Watermark to now - 1 when nothing is queued, flush, and surface delivery failures."""
        if self.buffer.empty():
            self.publisher.advance(now_ms() - 1)
        await self.publisher.flush()
        try:
            await self.publisher.wait_delivered()
        except KafkaError as exc:
            raise IngestError(f"Kafka did not accept tick batches: {exc!r}") from exc
        if self.recorder is not None:
            self.recorder.flush()
        if self._warned_full and self.buffer.qsize() < self.buffer.maxsize // 2:
            self._warned_full = False
            log.info("ingest buffer drained below half; publishing normally")

    async def close(self) -> None:
        while not self.buffer.empty():
            await self._publish(self.buffer.get_nowait())
        await self.publisher.flush()
        await self.publisher.wait_delivered()


def _poller_done(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s stopped: %s; the feeds keep running", task.get_name(), task.exception())


# The best-ask gauge of each (pair, venue, side): ``labels()`` validates and locks on every
# call (~3 us, twice per tick, as much as parsing the frame), the child it returns does not
# change. Bounded by the pairs config. A side gets its series when it first has an ask.
_price_gauges: dict[tuple[str, str, str], Any] = {}


def _price_gauge(pair_id: str, venue: str, side: str) -> Any:
    key = (pair_id, venue, side)
    gauge = _price_gauges.get(key)
    if gauge is None:
        gauge = _price_gauges[key] = metrics.PRICE_VALUE.labels(pair=pair_id, venue=venue, side=side)
    return gauge


def _observe(ticks: Iterable[Tick]) -> None:
    """Live-only metrics: publish latency (meaningless for a recording) and the best asks."""
    now = time.time()
    observe = metrics.INGEST_LATENCY.observe
    for tick in ticks:
        observe(max(0.0, now - tick.event_ts / 1000))
        if tick.yes_asks:
            _price_gauge(tick.pair_id, tick.venue, "yes").set(float(tick.yes_asks[0].price))
        if tick.no_asks:
            _price_gauge(tick.pair_id, tick.venue, "no").set(float(tick.no_asks[0].price))


# -- wiring ----------------------------------------------------------------------------------
def _timing(settings: Settings, ping_interval: float) -> ConnectorTiming:
    return ConnectorTiming(
        ping_interval=ping_interval,
        heartbeat_timeout=settings.connector_heartbeat_timeout_s,
        connect_timeout=settings.connector_connect_timeout_s,
        backoff_base=settings.reconnect_backoff_base_s,
        backoff_cap=settings.reconnect_backoff_cap_s,
        breaker_threshold=settings.breaker_failure_threshold,
        breaker_reset=settings.breaker_reset_s,
    )


def configured_venues(handler: FrameHandler) -> list[str]:
    """Venues with at least one instrument in the pairs config."""
    return [venue for venue in VENUES if handler.normaliser.instruments(venue)]


def kalshi_public_only(settings: Settings) -> bool:
    """No Kalshi key at all (neither key id nor private key): the public-only Kalshi feed.

    Half a key (one of the two set) is a mistake to report, never a silent downgrade.
    """
    key_id = settings.kalshi_api_key.get_secret_value() if settings.kalshi_api_key else ""
    return not key_id and settings.kalshi_private_key_path is None


PUBLIC_ONLY_NOTICE = (
    "kalshi: no API key (KALSHI_API_KEY, KALSHI_PRIVATE_KEY_PATH): public-only mode, channels "
    "ticker and market_lifecycle_v2 without order book depth; Kalshi quotes are the ticker's best "
    "bid/ask (placeholder size 1, marked out of sync), so every Kalshi leg is a signal and never "
    "executable. Set a key for depth and executable opportunities."
)


def check_kalshi_credentials(settings: Settings) -> None:
    """Raise ``KalshiKeyError`` with a clear reason if the Kalshi key or key id is unusable.

    No key at all is not an error: the Kalshi feed runs public-only (see ``kalshi_public_only``).
    """
    from echoarb.venues.kalshi.auth import KalshiKeyError, load_private_key

    if kalshi_public_only(settings):
        return
    load_private_key(settings.kalshi_private_key_path)
    if settings.kalshi_api_key is None or not settings.kalshi_api_key.get_secret_value():
        raise KalshiKeyError("KALSHI_API_KEY (the key id) is not set")


def build_connectors(
    settings: Settings, handler: FrameHandler, pipeline: BufferedIngest, venues: Iterable[str]
) -> list[VenueConnector]:
    """One connector per venue (Polymarket: one per shard of assets).

    Raises ``KalshiKeyError`` before any connection if the key is unusable.
    """
    connectors: list[VenueConnector] = []
    for venue in venues:
        instruments = handler.normaliser.instruments(venue)
        if venue == "kalshi":
            from echoarb.venues.kalshi.auth import KalshiKeyError, load_private_key
            from echoarb.venues.kalshi.client import KalshiConnector

            key = None
            key_id = settings.kalshi_api_key.get_secret_value() if settings.kalshi_api_key else ""
            if kalshi_public_only(settings):
                log.warning("%s", PUBLIC_ONLY_NOTICE)
            else:
                key = load_private_key(settings.kalshi_private_key_path)
                if not key_id:
                    raise KalshiKeyError("KALSHI_API_KEY (the key id) is not set")
            connectors.append(
                KalshiConnector(
                    settings.kalshi_ws_url,
                    key,
                    key_id,
                    instruments,
                    pipeline.on_frame,
                    _timing(settings, 10.0),
                )
            )
        elif venue == "polymarket":
            from echoarb.venues.polymarket.client import polymarket_connectors

            # A few hundred assets per connection at most: one connector per shard.
            clob = None
            if settings.polymarket_clob_url:
                clob = RestClient(
                    "polymarket",
                    settings.polymarket_clob_url,
                    bucket=TokenBucket.per_minute(settings.polymarket_requests_per_min),
                    timeout=settings.connector_connect_timeout_s,
                )
            connectors.extend(
                polymarket_connectors(
                    settings.polymarket_ws_url,
                    instruments,
                    pipeline.on_frame,
                    _timing(settings, 10.0),
                    clob=clob,
                )
            )
        elif venue == "manifold":
            from echoarb.venues.manifold.client import ManifoldConnector

            connectors.append(
                ManifoldConnector(
                    settings.manifold_ws_url,
                    settings.manifold_api_url,
                    instruments,
                    pipeline.on_frame,
                    _timing(settings, 30.0),
                    bucket=TokenBucket.per_minute(settings.manifold_requests_per_min),
                )
            )
        else:
            raise ValueError(f"unknown venue {venue!r}")
    return connectors


def build_metadata_pollers(
    settings: Settings, handler: FrameHandler, pipeline: BufferedIngest, venues: Iterable[str]
) -> list[MetadataPoller]:
    """REST market metadata per venue (Kalshi markets, Polymarket Gamma), at start-up and on a timer.

    Manifold needs none: its connector reads each market over REST on every session.
    """
    pollers: list[MetadataPoller] = []
    for venue in venues:
        instruments = handler.normaliser.instruments(venue)
        if venue == "kalshi" and settings.kalshi_api_url:
            from echoarb.venues.kalshi.client import metadata_requests as kalshi_requests

            base, requests = settings.kalshi_api_url, kalshi_requests(instruments)
            per_min = settings.kalshi_requests_per_min
        elif venue == "polymarket" and settings.polymarket_gamma_url:
            from echoarb.venues.polymarket.client import metadata_requests as gamma_requests

            base, requests = settings.polymarket_gamma_url, gamma_requests(instruments)
            per_min = settings.polymarket_requests_per_min
        else:
            continue
        if not requests:
            continue
        client = RestClient(
            venue, base, bucket=TokenBucket.per_minute(per_min), timeout=settings.connector_connect_timeout_s
        )
        pollers.append(
            MetadataPoller(client, requests, pipeline.on_frame, refresh_s=settings.venue_metadata_refresh_s)
        )
    return pollers


class IngestService:
    """Runs the connectors and the publish loop until ``stop()`` (or a fatal error)."""

    def __init__(
        self,
        settings: Settings,
        pairs: PairsConfig,
        *,
        bootstrap: str,
        embedded_broker: bool,
        venues: Iterable[str] | None = None,
        record: Path | None = None,
    ) -> None:
        self.settings = settings
        self.pairs = pairs
        self.bootstrap = bootstrap
        self.embedded_broker = embedded_broker
        s = settings
        self.handler = frame_handler(s, pairs)
        available = configured_venues(self.handler)
        wanted = list(venues) if venues else available
        unknown = [v for v in wanted if v not in available]
        if unknown:
            raise IngestError(
                f"venue(s) {unknown} have no market in the pairs config (configured: {available})"
            )
        self.venues = wanted
        if "kalshi" in wanted:
            check_kalshi_credentials(settings)  # refuse to start before anything is opened
        self.record = record
        self.run_id = f"ingest-{'-'.join(self.venues)}-{now_ms()}"
        self.recorder = RecordingWriter(record) if record else None
        producer_kwargs = client_config.tick_producer(embedded_broker, settings)
        producer_kwargs["request_timeout_ms"] = int(s.ingest_kafka_outage_s * 1000)
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **producer_kwargs)
        self.publisher = TickPublisher.for_settings(
            self.producer, load_codecs(s.schema_registry_url).tick_batch, s, pairs, producer_id=self.run_id
        )
        self.publisher.recreate_topics = lambda: client_config.ensure_topics(bootstrap, s)
        self.publisher.recreate_budget_s = s.ingest_kafka_outage_s
        self.pipeline = BufferedIngest(
            self.handler,
            self.publisher,
            buffer_frames=s.ingest_buffer_frames,
            heartbeat_ms=s.ingest_heartbeat_ms,
            recorder=self.recorder,
        )
        self.connectors = build_connectors(s, self.handler, self.pipeline, self.venues)
        self.pollers = build_metadata_pollers(s, self.handler, self.pipeline, self.venues)
        metrics.init_venue_series(self.venues)
        self._stop = asyncio.Event()

    def connector(self, venue: str) -> VenueConnector:
        return next(c for c in self.connectors if c.venue == venue)

    def stop(self) -> None:
        self._stop.set()

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Healthy while every venue connector holds an open connection."""
        venues = {
            c.venue: {"connected": c.connected.is_set(), "sessions": c.sessions, "frames": c.frames}
            for c in self.connectors
        }
        ok = bool(venues) and all(v["connected"] for v in venues.values())
        stats = self.pipeline.stats
        return ok, {
            "venues": venues,
            "frames": stats.frames,
            "ticks": stats.ticks,
            "records_sent": self.publisher.records_sent,
            "failed_venues": stats.failed_venues,
            "metadata": {
                p.venue: {
                    "rounds": p.rounds,
                    "requests": p.client.requests,
                    "failures": p.client.failures,
                    "last_error": p.client.last_error,
                }
                for p in self.pollers
            },
        }

    async def run(self) -> IngestStats:
        """Until ``stop()``. One venue failing (even fatally) never stops the others."""
        await client_config.ensure_topics(self.bootstrap, self.settings)
        if self.recorder is not None:
            self.recorder.__enter__()
        await self.producer.start()
        tasks: dict[asyncio.Task[Any], str] = {}
        pollers: list[asyncio.Task[None]] = []
        publish = asyncio.create_task(self.pipeline.run(), name="ingest-publish")
        stop: asyncio.Task[Any] = asyncio.create_task(self._stop.wait(), name="ingest-stop")
        try:
            for connector in self.connectors:
                tasks[asyncio.create_task(connector.run(), name=f"{connector.venue}-connector")] = (
                    connector.venue
                )
            # Metadata never stops a feed: a poller ending (start-up only) or failing is logged.
            pollers = [asyncio.create_task(p.run(), name=f"{p.venue}-metadata") for p in self.pollers]
            for poller in pollers:
                poller.add_done_callback(_poller_done)
            log.info("ingest %s: venues %s -> %s", self.run_id, ", ".join(self.venues), self.bootstrap)
            while True:
                done, _ = await asyncio.wait([publish, stop, *tasks], return_when=asyncio.FIRST_COMPLETED)
                if stop in done:
                    break
                if publish in done:
                    publish.result()  # raises IngestError
                    raise IngestError("publish loop ended unexpectedly")
                for task in done & set(tasks):
                    venue = tasks.pop(task)
                    exc = task.exception()
                    reason = str(exc) if exc else "stopped"
                    self.pipeline.stats.failed_venues[venue] = reason
                    log.error("%s connector stopped: %s; the other venues keep running", venue, reason)
                if not tasks:
                    raise IngestError(
                        "every venue connector stopped: "
                        + "; ".join(f"{v}: {r}" for v, r in self.pipeline.stats.failed_venues.items())
                    )
        finally:
            for task in [*tasks, *pollers, stop]:
                task.cancel()
            await asyncio.gather(*tasks, *pollers, stop, return_exceptions=True)
            # The Polymarket shards' shared REST session (resyncs), once.
            clobs = {
                id(c.clob): c.clob for c in self.connectors if isinstance(c, PolymarketConnector) and c.clob
            }
            for clob in clobs.values():
                await clob.close()
            publish.cancel()
            await asyncio.gather(publish, return_exceptions=True)
            # What is buffered goes out if Kafka takes it within the grace; with the brokers gone
            # the stop is bounded (aiokafka_compat A3) and says what was not delivered.
            try:
                await asyncio.wait_for(self.pipeline.close(), aiokafka_compat.STOP_GRACE_S)
            except TimeoutError:
                log.warning(
                    "ingest: Kafka did not take the last tick batches within %gs; stopping without them",
                    aiokafka_compat.STOP_GRACE_S,
                )
            except Exception as exc:
                log.warning("ingest: the last tick batches were not delivered: %s", exc)
            await aiokafka_compat.stop_producer(self.producer, grace_s=1.0)
            if self.recorder is not None:
                self.recorder.close()
        return self.pipeline.stats


__all__ = ["BufferedIngest", "ConnectorFatalError", "IngestError", "IngestService", "build_connectors"]
