"""Kafka -> ClickHouse sink: spreads and spread windows, at-least-once.

Offsets are committed only after the rows of a batch are in ClickHouse (and its undecodable
records are on the dead-letter topic). While ClickHouse fails, the sink retries the same
batch with capped exponential backoff and neither fetches nor commits, so nothing is lost
and a restart resumes from the last stored batch. Duplicates after a crash carry the same
``id`` and Kafka coordinates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeAlias

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from echoarb.codec import AvroCodec, CodecError, Codecs
from echoarb.sink.client import connect
from echoarb.sink.writer import ClickHouseWriter, Row, RowError, spread_row, window_row

if TYPE_CHECKING:
    from aiokafka.structs import ConsumerRecord
    from clickhouse_connect.driver.client import Client

    from echoarb.settings import Settings

log = logging.getLogger(__name__)

GROUP_ID = "echoarb-sink"
STAGE = "sink"
_MAX_REASON = 1_000

ClientFactory = Callable[[], "Client"]
Record: TypeAlias = "ConsumerRecord[bytes, bytes]"
RowBuilder = Callable[[Mapping[str, Any], str, int, int], Row]


@dataclass
class _Batch:
    """Records fetched since the last commit, converted; ``ends`` are the offsets to commit."""

    spreads: list[Row] = field(default_factory=list)
    windows: list[Row] = field(default_factory=list)
    dead: list[tuple[Record, str]] = field(default_factory=list)
    ends: dict[TopicPartition, int] = field(default_factory=dict)
    records: int = 0


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Seeds the ``committed`` view with the group's offsets for newly assigned partitions."""

    def __init__(self, service: SinkService) -> None:
        self._service = service

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self._service._seed_committed(list(assigned))


class SinkService:
    """Consumes ``settings.topic_spreads`` and ``settings.topic_spread_windows`` into ClickHouse.

    ``client_factory`` defaults to ``connect(settings)``; a client from a caller's factory is
    the caller's to close. ``database`` defaults to the client's database.
    """

    def __init__(
        self,
        settings: Settings,
        bootstrap: str,
        codecs: Codecs,
        *,
        producer: AIOKafkaProducer | None = None,
        client_factory: ClientFactory | None = None,
        database: str | None = None,
        consumer_kwargs: Mapping[str, Any] | None = None,
        max_batch: int = 20_000,
        linger_s: float = 0.2,
        poll_timeout_ms: int = 200,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
    ) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.codecs = codecs
        self._producer = producer
        self._own_producer = producer is None
        self._client_factory = client_factory or (lambda: connect(settings))
        self._own_client = client_factory is None
        self._database = database
        self._consumer_kwargs = dict(consumer_kwargs or {})
        self.max_batch = max_batch
        self.linger_s = linger_s
        self.poll_timeout_ms = poll_timeout_ms
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self._routes: dict[str, tuple[AvroCodec, RowBuilder, bool]] = {
            settings.topic_spreads: (codecs.spread_event, spread_row, True),
            settings.topic_spread_windows: (codecs.spread_window, window_row, False),
        }
        self._consumer: AIOKafkaConsumer | None = None
        self._client: Client | None = None
        self.writer: ClickHouseWriter | None = None
        self._committed: dict[TopicPartition, int] = {}
        self._committed_changed = asyncio.Condition()
        self._stopping = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._started = False
        # Counters (read by metrics and tests).
        self.dead_letters = 0
        self.spreads_inserted = 0
        self.windows_inserted = 0
        self.store_failures = 0  # failed attempts (insert or dead-letter), each retried
        self.commit_failures = 0

    @property
    def committed(self) -> Mapping[TopicPartition, int]:
        """Next offset committed per partition (by this sink, or found in the group on assignment)."""
        return MappingProxyType(self._committed)

    async def start(self) -> None:
        """Open ClickHouse, create the schema, then join the group. Raises ``SinkError`` early."""
        if self._started:
            return
        try:
            await self._start()
        except BaseException:
            await self.stop()  # release what was opened before the failure
            raise

    async def _start(self) -> None:
        self._stopping.clear()
        self._client = await asyncio.to_thread(self._client_factory)
        database = self._database or self._client.database
        if not database:
            raise ValueError("SinkService: no database (pass database= or use a client with one)")
        self.writer = ClickHouseWriter(self._client, database)
        await asyncio.to_thread(self.writer.ensure_schema)
        if self._producer is None:
            # No idempotence: Tansu rejects InitProducerId v0 (see shared/infra.md).
            self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
            await self._producer.start()
        kwargs: dict[str, Any] = {
            "group_id": GROUP_ID,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            **self._consumer_kwargs,
        }
        self._consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, **kwargs)
        await self._consumer.start()
        self._consumer.subscribe(topics=list(self._routes), listener=_Listener(self))
        self._started = True
        log.info("sink: consuming %s into ClickHouse database %s", ", ".join(self._routes), database)

    async def stop(self) -> None:
        """Finish the batch in hand (an insert under way completes), then leave the group."""
        self._stopping.set()
        await self._idle.wait()
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        if self._producer is not None and self._own_producer:
            await self._producer.stop()
            self._producer = None
        if self._client is not None and self._own_client:
            with contextlib.suppress(Exception):
                self._client.close()
        self._client = None
        self._started = False

    async def run(self) -> None:
        """Consume, store and commit until ``stop()``."""
        await self.start()
        self._idle.clear()
        try:
            while not self._stopping.is_set():
                batch = await self._fetch()
                if batch.records:
                    try:
                        await self._handle(batch)
                    except _Abandoned:
                        break
        finally:
            self._idle.set()

    async def wait_committed(self, targets: Mapping[TopicPartition, int], timeout: float) -> None:
        """Return once every partition's committed offset reached its target; ``TimeoutError`` if not."""

        def reached() -> bool:
            return all(self._committed.get(tp, 0) >= end for tp, end in targets.items())

        async with asyncio.timeout(timeout), self._committed_changed:
            await self._committed_changed.wait_for(reached)

    # -- internals ---------------------------------------------------------------------------

    async def _fetch(self) -> _Batch:
        """Records of one getmany, plus more for up to ``linger_s`` so inserts stay large."""
        assert self._consumer is not None
        batch = _Batch()
        deadline: float | None = None
        while batch.records < self.max_batch and not self._stopping.is_set():
            if deadline is None:
                timeout_ms = self.poll_timeout_ms
            else:
                timeout_ms = int((deadline - time.monotonic()) * 1000)
                if timeout_ms <= 0:
                    break
            fetched = await self._consumer.getmany(
                timeout_ms=timeout_ms, max_records=self.max_batch - batch.records
            )
            if not fetched:
                if deadline is None:
                    break  # idle: let run() re-check the stop flag
                continue
            for tp, records in fetched.items():
                self._convert(tp, records, batch)
            if deadline is None:
                deadline = time.monotonic() + self.linger_s
        return batch

    def _convert(self, tp: TopicPartition, records: list[Record], batch: _Batch) -> None:
        codec, build, is_spread = self._routes[tp.topic]
        rows = batch.spreads if is_spread else batch.windows
        for record in records:
            try:
                rows.append(build(codec.decode(record.value), tp.topic, tp.partition, record.offset))
            except (CodecError, RowError) as exc:
                batch.dead.append((record, str(exc)))
        batch.ends[tp] = records[-1].offset + 1
        batch.records += len(records)

    async def _handle(self, batch: _Batch) -> None:
        writer = self.writer
        assert writer is not None
        if batch.spreads:
            spreads = batch.spreads
            await self._retry("insert spreads", lambda: asyncio.to_thread(writer.insert_spreads, spreads))
            self.spreads_inserted += len(batch.spreads)
        if batch.windows:
            windows = batch.windows
            await self._retry("insert windows", lambda: asyncio.to_thread(writer.insert_windows, windows))
            self.windows_inserted += len(batch.windows)
        if batch.dead:
            await self._retry("dead-letter", lambda: self._dead_letter(batch.dead))
            self.dead_letters += len(batch.dead)
        await self._commit(batch.ends)

    async def _retry(self, what: str, attempt: Callable[[], Awaitable[Any]]) -> None:
        """Repeat ``attempt`` with capped exponential backoff until it succeeds or the sink stops."""
        delay = self.backoff_initial_s
        failures = 0
        while True:
            try:
                await attempt()
            except Exception as exc:
                failures += 1
                self.store_failures += 1
                log.error(
                    "sink: %s failed (attempt %d): %s; offsets not committed, retrying in %.1f s",
                    what, failures, exc, delay,
                )  # fmt: skip
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
                if self._stopping.is_set():
                    log.warning("sink: stopping with an unstored batch; it is re-read on restart")
                    raise _Abandoned from exc
                delay = min(delay * 2, self.backoff_max_s)
            else:
                if failures:
                    log.info("sink: %s succeeded after %d failed attempts", what, failures)
                return

    async def _dead_letter(self, dead: list[tuple[Record, str]]) -> None:
        assert self._producer is not None
        futures = []
        for record, reason in dead:
            headers = [
                *(record.headers or ()),
                ("echoarb.error.reason", reason[:_MAX_REASON].encode()),
                ("echoarb.error.topic", record.topic.encode()),
                ("echoarb.error.partition", str(record.partition).encode()),
                ("echoarb.error.offset", str(record.offset).encode()),
                ("echoarb.error.stage", STAGE.encode()),
            ]
            log.warning(
                "sink: %s[%d]@%d to dead-letter: %s", record.topic, record.partition, record.offset, reason
            )
            futures.append(
                await self._producer.send(
                    self.settings.topic_dead_letter, value=record.value, key=record.key, headers=headers
                )
            )
        await asyncio.gather(*futures)

    async def _commit(self, ends: dict[TopicPartition, int]) -> None:
        assert self._consumer is not None
        try:
            await self._consumer.commit(ends)
        except KafkaError as exc:
            # Typically a rebalance: the rows are stored, the records come again (duplicates).
            self.commit_failures += 1
            log.warning("sink: commit failed after insert (records will be re-read): %s", exc)
            return
        await self._advance(ends)

    async def _advance(self, offsets: Mapping[TopicPartition, int]) -> None:
        async with self._committed_changed:
            for tp, offset in offsets.items():
                if offset > self._committed.get(tp, -1):
                    self._committed[tp] = offset
            self._committed_changed.notify_all()

    async def _seed_committed(self, assigned: list[TopicPartition]) -> None:
        if self._consumer is None:
            return
        found: dict[TopicPartition, int] = {}
        for tp in assigned:
            try:
                offset = await self._consumer.committed(tp)
            except KafkaError as exc:
                log.warning("sink: cannot read committed offset of %s: %s", tp, exc)
                continue
            if offset is not None and offset >= 0:
                found[tp] = offset
        await self._advance(found)


class _Abandoned(Exception):
    """The sink stopped while a batch was still failing; it is neither stored nor committed."""
