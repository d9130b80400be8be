"""Kafka -> ClickHouse sink: spreads, spread windows and (optionally) ticks, effectively once.

Delivery: records are buffered per topic-partition and inserted in blocks bounded by size and
time (``SINK_BATCH_ROWS``, ``SINK_FLUSH_INTERVAL_S``). For each flush the sink

1. records every batch's boundaries in the ``sink_batches`` ledger,
2. inserts each batch as one block with ``insert_deduplication_token =
   "<topic>-<partition>-<first offset>-<last offset>@<first timestamp>"`` into tables that keep a
   ``non_replicated_deduplication_window`` (the pattern of ClickHouse's Kafka connector): the
   records' Avro datums as they arrived, into a staging table whose view converts them (see
   ``writer``); records the view refuses are found in Python and dead-lettered,
3. sends undecodable records to the dead-letter topic, then commits the offsets.

After a crash anywhere in 1-3, the restarted sink (or the partition's next owner) finds the
ledger row for the first uncommitted record, cuts exactly the same batch again and inserts it
with the same token: ClickHouse drops the copy, in the materialized views too. Rows are never
lost (offsets move only after the insert) and never doubled. Dead letters stay at-least-once.

Outages: while ClickHouse fails, the same step is retried with capped exponential backoff and
fetching paused (``retry``); the sink commits nothing, holds at most ``SINK_MAX_BUFFERED_ROWS``
rows, and catches up when ClickHouse is back. With ``wait_for_clickhouse`` it also waits for
ClickHouse at start.

This module is the consume loop, the lifecycle and the rebalance handling; the steps it drives
live beside it: ``routes`` (records -> buffer entries), ``batches`` (cutting), ``ledger``,
``writer`` (the inserts), ``deadletters``, ``commits`` and ``retry``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition

from echoarb.kafka import aiokafka_compat, client_config
from echoarb.model import VENUES
from echoarb.sink import deadletters, ledger
from echoarb.sink import metrics as sink_metrics
from echoarb.sink.batches import Batch, Buffers, Plan
from echoarb.sink.client import connect
from echoarb.sink.commits import Commits
from echoarb.sink.retry import Abandoned, Dropped, Retrier
from echoarb.sink.routes import Record, Route, entries_for, routes
from echoarb.sink.schema import SPREADS_TABLE, TICKS_TABLE, WINDOWS_TABLE
from echoarb.sink.writer import ClickHouseWriter
from echoarb.wire.codec import Codecs

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from echoarb.settings import Settings

log = logging.getLogger(__name__)

ClientFactory = Callable[[], "Client"]


def _insert_call(writer: ClickHouseWriter, route: Route, batch: Batch) -> Callable[[], Awaitable[int]]:
    tp = batch.tp
    return lambda: asyncio.to_thread(writer.store, route, tp.topic, tp.partition, batch, batch.token)


def _lookup_call(
    client: Client, database: str, group_id: str, heads: list[tuple[TopicPartition, int, int]]
) -> Callable[[], Awaitable[dict[TopicPartition, Plan]]]:
    return lambda: asyncio.to_thread(ledger.lookup, client, database, group_id, heads)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, service: SinkService) -> None:
        self._service = service

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._service._on_revoked(list(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self._service._on_assigned(list(assigned))


class SinkService:
    """Consumes the spread topics (and with ``SINK_TICKS`` the tick topics) into ClickHouse.

    ``client_factory`` defaults to ``connect(settings)``; a client from a caller's factory is
    the caller's to close. ``database`` defaults to the client's database. Keyword arguments
    left as ``None`` come from ``settings``.
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
        group_id: str | None = None,
        batch_rows: int | None = None,
        flush_interval_s: float | None = None,
        max_buffered_rows: int | None = None,
        poll_timeout_ms: int = 200,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        wait_for_clickhouse: bool = False,
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
        self.group_id = group_id or settings.sink_group_id
        self.batch_rows = batch_rows or settings.sink_batch_rows
        self.flush_interval_s = flush_interval_s or settings.sink_flush_interval_s
        self.max_buffered_rows = max_buffered_rows or settings.sink_max_buffered_rows
        self.poll_timeout_ms = poll_timeout_ms
        self.wait_for_clickhouse = wait_for_clickhouse
        url = settings.clickhouse_url.get_secret_value() if settings.clickhouse_url else None
        self._by_table = routes(codecs)
        self._routes: dict[str, Route] = {
            settings.topic_spreads: self._by_table[SPREADS_TABLE],
            settings.topic_spread_windows: self._by_table[WINDOWS_TABLE],
        }
        if settings.sink_ticks:
            for venue in VENUES:
                self._routes[settings.tick_topic(venue)] = self._by_table[TICKS_TABLE]
        self._buffers = Buffers(self.batch_rows, self.flush_interval_s)
        self._consumer: AIOKafkaConsumer | None = None
        self._client: Client | None = None
        self.writer: ClickHouseWriter | None = None
        self._owned: set[TopicPartition] = set()
        self._stopping = asyncio.Event()
        self._retry = Retrier(
            owned=self._owned,
            stopping=self._stopping,
            buffer=self._add,
            initial_s=backoff_initial_s,
            max_s=backoff_max_s,
            secret=urlsplit(url).password if url else None,
        )
        self._commits = Commits()
        self._idle = asyncio.Event()
        self._idle.set()
        self._started = False
        # Counters (read by metrics and tests). Rows "inserted" include retried blocks that
        # ClickHouse deduplicated: the driver cannot tell them apart.
        self.inserted: dict[str, int] = {SPREADS_TABLE: 0, WINDOWS_TABLE: 0, TICKS_TABLE: 0}
        self.inserts = 0
        self.batches_replayed = 0  # batches cut again from the ledger after a restart/rebalance
        self.dead_letters = 0

    @property
    def spreads_inserted(self) -> int:
        return self.inserted[SPREADS_TABLE]

    @property
    def windows_inserted(self) -> int:
        return self.inserted[WINDOWS_TABLE]

    @property
    def ticks_inserted(self) -> int:
        return self.inserted[TICKS_TABLE]

    @property
    def store_failures(self) -> int:
        """Failed attempts (ledger, insert or dead-letter), each retried."""
        return self._retry.failures

    @property
    def commit_failures(self) -> int:
        return self._commits.failures

    @property
    def topics(self) -> list[str]:
        return list(self._routes)

    @property
    def assigned(self) -> frozenset[TopicPartition]:
        """Partitions this sink holds (empty until its group has assigned them)."""
        return frozenset(self._owned)

    @property
    def committed(self) -> Mapping[TopicPartition, int]:
        """Next offset committed per partition (by this sink, or found in the group on assignment)."""
        return self._commits.view

    # -- lifecycle ------------------------------------------------------------------------------

    def lag(self) -> dict[str, int]:
        """Per topic: log end (high watermark of the last fetch) minus the committed offset."""
        consumer = self._consumer
        lags: dict[str, int] = {}
        if consumer is None:
            return lags
        committed = self.committed
        for tp in consumer.assignment():
            end = consumer.highwater(tp)
            if end is not None:
                lags[tp.topic] = lags.get(tp.topic, 0) + max(0, end - committed.get(tp, 0))
        return lags

    async def start(self) -> None:
        """Open ClickHouse and migrate the schema, then join the group.

        Raises ``SinkError``/``MigrationError`` early unless ``wait_for_clickhouse`` (then it
        retries with backoff until ClickHouse answers or ``stop()`` is called).
        """
        if self._started:
            return
        try:
            await self._start()
        except Abandoned:
            await self._close()  # stop() was called while waiting for ClickHouse
        except BaseException:
            await self._close()  # release what was opened before the failure
            raise

    async def _start(self) -> None:
        self._stopping.clear()
        if self.wait_for_clickhouse:
            await self._retry("connect to ClickHouse and migrate", self._open_clickhouse, kafka=False)
        else:
            await self._open_clickhouse()
        if self._producer is None:
            # No idempotence: Tansu rejects InitProducerId v0 (see echoarb/kafka/tansu_compat.py).
            self._producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap, acks="all", **client_config.security(self.settings)
            )
            await self._producer.start()
        kwargs: dict[str, Any] = {
            "group_id": self.group_id,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            **client_config.security(self.settings),  # SASL/TLS of a real cluster
            **self._consumer_kwargs,
        }
        self._consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, **kwargs)
        self._retry.consumer = self._consumer
        await self._consumer.start()
        self._consumer.subscribe(topics=list(self._routes), listener=_Listener(self))
        self._started = True
        assert self.writer is not None
        log.info(
            "sink: consuming %s into ClickHouse database %s (group %s, <= %d rows per insert, every %.1f s)",
            ", ".join(self._routes), self.writer.database, self.group_id, self.batch_rows,
            self.flush_interval_s,
        )  # fmt: skip

    async def _open_clickhouse(self) -> None:
        if self._client is None:
            self._client = await asyncio.to_thread(self._client_factory)
        database = self._database or self._client.database
        if not database:
            raise ValueError("SinkService: no database (pass database= or use a client with one)")
        writer = ClickHouseWriter(self._client, database)
        await asyncio.to_thread(writer.ensure_schema)
        self.writer = writer

    async def stop(self) -> None:
        """Insert and commit what is buffered (one attempt), then leave the group."""
        self._stopping.set()
        await self._idle.wait()
        await self._close()

    async def _close(self) -> None:
        if self._consumer is not None:
            await aiokafka_compat.stop_consumer(self._consumer)  # bounded, with the brokers gone too
            self._consumer = self._retry.consumer = None
        if self._producer is not None and self._own_producer:
            try:
                await asyncio.wait_for(self._producer.stop(), aiokafka_compat.STOP_GRACE_S)
            except TimeoutError:  # dead letters could not be delivered: they are uncommitted
                log.warning("sink: Kafka producer did not stop within %gs", aiokafka_compat.STOP_GRACE_S)
            self._producer = None
        if self._client is not None and self._own_client:
            with contextlib.suppress(Exception):
                self._client.close()
        self._client = None
        self._owned.clear()
        self._started = False

    async def run(self) -> None:
        """Consume, store and commit until ``stop()``."""
        self._idle.clear()
        try:
            await self.start()
            while self._started and not self._stopping.is_set():
                await self._step()
            batches = self._buffers.cut(time.monotonic(), force=True)
            if batches:
                await self._store(batches)
        except Abandoned:
            pass
        finally:
            self._idle.set()

    async def wait_committed(self, targets: Mapping[TopicPartition, int], timeout: float) -> None:
        """Return once every partition's committed offset reached its target; ``TimeoutError`` if not."""
        await self._commits.wait(targets, timeout)

    # -- the loop -------------------------------------------------------------------------------

    async def _step(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        now = time.monotonic()
        wait_s = min(self.poll_timeout_ms / 1000, self._buffers.seconds_until_due(now))
        over = self._buffers.total_rows >= self.max_buffered_rows
        if not over:
            fetched = await consumer.getmany(timeout_ms=int(wait_s * 1000), max_records=self.batch_rows)
        elif waiting := self._buffers.waiting_for_plan():
            # Memory bound reached, but a replayed batch still needs its last records.
            fetched = await consumer.getmany(*waiting, timeout_ms=int(wait_s * 1000))
        else:
            fetched = {}
        self._add(fetched)
        await self._resolve()
        batches = self._buffers.cut(time.monotonic(), force=over)
        if batches:
            await self._store(batches)

    def _add(self, fetched: Mapping[TopicPartition, list[Record]]) -> None:
        now = time.monotonic()
        for tp, records in fetched.items():
            if tp not in self._owned:
                continue
            route = self._routes[tp.topic]
            self._buffers.add(tp, route.table, entries_for(route, records, now))

    async def _resolve(self) -> None:
        """Look up the ledger for partitions whose first record since assignment just arrived."""
        while heads := self._buffers.unresolved():
            client, database = self._ledger_target()
            try:
                plans = await self._retry(
                    "read the batch ledger",
                    _lookup_call(client, database, self.group_id, heads),
                    tps=[tp for tp, _, _ in heads],
                )
            except Dropped:
                continue  # all revoked: their buffers are gone
            for tp, _, _ in heads:
                if tp not in self._owned or tp not in self._buffers:
                    continue
                plan = plans.get(tp)
                if plan is not None:
                    log.info(
                        "sink: %s[%d] offsets %d-%d were recorded as one batch before a restart or "
                        "rebalance: re-inserting it with the same deduplication token",
                        tp.topic, tp.partition, plan.first_offset, plan.last_offset,
                    )  # fmt: skip
                self._buffers.resolve(tp, plan)

    def _ledger_target(self) -> tuple[Client, str]:
        assert self.writer is not None
        return self.writer.client, self.writer.database

    async def _store(self, batches: Sequence[Batch]) -> None:
        """Ledger, inserts, dead letters, commit: in this order, each step retried until done."""
        writer = self.writer
        assert writer is not None
        with_rows = [b for b in batches if b.row_count]
        fresh = [b for b in with_rows if not b.replayed]
        if fresh:
            client, database = self._ledger_target()

            def plan() -> Awaitable[None]:
                owned = [b for b in fresh if b.tp in self._owned]  # never a plan for a revoked one
                return asyncio.to_thread(ledger.record, client, database, self.group_id, owned)

            with contextlib.suppress(Dropped):
                await self._retry("record batch boundaries", plan, tps=[b.tp for b in fresh])
        for batch in with_rows:
            if batch.tp not in self._owned:
                continue
            began = time.monotonic()
            try:
                stored = await self._retry(
                    f"insert into {batch.table} ({batch.token})",
                    _insert_call(writer, self._by_table[batch.table], batch),
                    tps=[batch.tp],
                )
            except Dropped:
                continue
            sink_metrics.observe_insert(batch.table, stored, time.monotonic() - began)
            self.inserted[batch.table] += stored
            self.inserts += 1
            self.batches_replayed += batch.replayed
            self._after_insert(batch)
        dead = [d for b in batches if b.tp in self._owned for d in b.dead]
        if dead:
            producer, topic = self._producer, self.settings.topic_dead_letter
            assert producer is not None
            with contextlib.suppress(Dropped):
                await self._retry(
                    "dead-letter",
                    lambda: deadletters.send(producer, topic, dead),
                    tps={b.tp for b in batches},
                )
                self.dead_letters += len(dead)
        ends: dict[TopicPartition, int] = {}
        for batch in batches:
            if batch.tp in self._owned:
                ends[batch.tp] = max(ends.get(batch.tp, 0), batch.last_offset + 1)
        if ends:
            assert self._consumer is not None
            await self._commits.commit(self._consumer, ends)

    def _after_insert(self, batch: Batch) -> None:
        """Called after each successful insert, before the commit (a seam for crash tests)."""

    # -- rebalancing ----------------------------------------------------------------------------

    async def _on_revoked(self, revoked: list[TopicPartition]) -> None:
        # Wait for an attempt in flight: once this returns, this sink never writes a ledger
        # row or a block for these partitions again, so the next owner sees every plan.
        async with self._retry.lock:
            self._owned.difference_update(revoked)
            self._buffers.drop(revoked)

    async def _on_assigned(self, assigned: list[TopicPartition]) -> None:
        self._buffers.drop(assigned)  # fetched again from the committed offset, then resolved
        self._owned.update(assigned)
        if self._consumer is not None:
            await self._commits.seed(self._consumer, assigned)
