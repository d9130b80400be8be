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

Outages: while ClickHouse fails, the same step is retried with capped exponential backoff; the
sink pauses its partitions (so it keeps its group membership but fetches nothing), commits
nothing and holds at most ``SINK_MAX_BUFFERED_ROWS`` rows, and catches up when ClickHouse is
back. With ``wait_for_clickhouse`` it also waits for ClickHouse at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar
from urllib.parse import urlsplit

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from echoarb.model import VENUES
from echoarb.redact import scrub
from echoarb.sink import ledger
from echoarb.sink.batches import Batch, Buffers, Entry, Plan
from echoarb.sink.client import connect
from echoarb.sink.container import HEADER_SIZE
from echoarb.sink.schema import SPREADS_TABLE, TICKS_TABLE, WINDOWS_TABLE
from echoarb.sink.writer import ClickHouseWriter, Route, framing_error, routes
from echoarb.wire.codec import Codecs

if TYPE_CHECKING:
    from aiokafka.structs import ConsumerRecord
    from clickhouse_connect.driver.client import Client

    from echoarb.settings import Settings

log = logging.getLogger(__name__)

GROUP_ID = "echoarb-sink"
STAGE = "sink"
_MAX_REASON = 1_000

T = TypeVar("T")
ClientFactory = Callable[[], "Client"]
Record: TypeAlias = "ConsumerRecord[bytes, bytes]"


def entries_for(route: Route, records: Iterable[Record], now: float) -> list[Entry]:
    """Buffer entries for fetched records: only the Confluent header is checked here.

    Decoding and conversion happen in ClickHouse when the batch is inserted; a record whose
    framing is wrong is dead on arrival (the codec says why).
    """
    prefix, count = route.container.prefix, route.count
    entries: list[Entry] = []
    append = entries.append
    for record in records:
        value = record.value
        # container.framed, inlined: this loop runs once per record
        if value is not None and value.startswith(prefix) and len(value) > HEADER_SIZE:
            append(Entry(record.offset, record.timestamp, 1 if count is None else count(value), now, record))
        else:
            append(Entry(record.offset, record.timestamp, 0, now, record, framing_error(route, value)))
    return entries


def _insert_call(writer: ClickHouseWriter, route: Route, batch: Batch) -> Callable[[], Awaitable[int]]:
    tp = batch.tp
    return lambda: asyncio.to_thread(
        writer.store, route, tp.topic, tp.partition, batch.entries, batch.token, batch.via
    )


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


class _Abandoned(Exception):
    """The sink stopped while a step was still failing; nothing of it was committed."""


class _Dropped(Exception):
    """Every partition of the failing step was revoked: its next owner takes over."""


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
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.wait_for_clickhouse = wait_for_clickhouse
        url = settings.clickhouse_url.get_secret_value() if settings.clickhouse_url else None
        self._secret = urlsplit(url).password if url else None
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
        self._io_lock = asyncio.Lock()  # one ClickHouse/dead-letter attempt at a time; revocation waits
        self._committed: dict[TopicPartition, int] = {}
        self._committed_changed = asyncio.Condition()
        self._stopping = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._started = False
        # Counters (read by metrics and tests). Rows "inserted" include retried blocks that
        # ClickHouse deduplicated: the driver cannot tell them apart.
        self.inserted: dict[str, int] = {SPREADS_TABLE: 0, WINDOWS_TABLE: 0, TICKS_TABLE: 0}
        self.inserts = 0
        self.batches_replayed = 0  # batches cut again from the ledger after a restart/rebalance
        self.dead_letters = 0
        self.store_failures = 0  # failed attempts (ledger, insert or dead-letter), each retried
        self.commit_failures = 0

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
    def topics(self) -> list[str]:
        return list(self._routes)

    @property
    def committed(self) -> Mapping[TopicPartition, int]:
        """Next offset committed per partition (by this sink, or found in the group on assignment)."""
        return MappingProxyType(self._committed)

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open ClickHouse and migrate the schema, then join the group.

        Raises ``SinkError``/``MigrationError`` early unless ``wait_for_clickhouse`` (then it
        retries with backoff until ClickHouse answers or ``stop()`` is called).
        """
        if self._started:
            return
        try:
            await self._start()
        except _Abandoned:
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
            self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
            await self._producer.start()
        kwargs: dict[str, Any] = {
            "group_id": self.group_id,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            **self._consumer_kwargs,
        }
        self._consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, **kwargs)
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
            await self._consumer.stop()
            self._consumer = None
        if self._producer is not None and self._own_producer:
            await self._producer.stop()
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
        except _Abandoned:
            pass
        finally:
            self._idle.set()

    async def wait_committed(self, targets: Mapping[TopicPartition, int], timeout: float) -> None:
        """Return once every partition's committed offset reached its target; ``TimeoutError`` if not."""

        def reached() -> bool:
            return all(self._committed.get(tp, 0) >= end for tp, end in targets.items())

        async with asyncio.timeout(timeout), self._committed_changed:
            await self._committed_changed.wait_for(reached)

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
            except _Dropped:
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
        writer = self.writer
        assert writer is not None
        with_rows = [b for b in batches if b.row_count]
        fresh = [b for b in with_rows if not b.replayed]
        if fresh:
            client, database = self._ledger_target()

            def plan() -> Awaitable[None]:
                owned = [b for b in fresh if b.tp in self._owned]  # never a plan for a revoked one
                return asyncio.to_thread(ledger.record, client, database, self.group_id, owned)

            with contextlib.suppress(_Dropped):
                await self._retry("record batch boundaries", plan, tps=[b.tp for b in fresh])
        for batch in with_rows:
            if batch.tp not in self._owned:
                continue
            try:
                stored = await self._retry(
                    f"insert into {batch.table} ({batch.token})",
                    _insert_call(writer, self._by_table[batch.table], batch),
                    tps=[batch.tp],
                )
            except _Dropped:
                continue
            self.inserted[batch.table] += stored
            self.inserts += 1
            self.batches_replayed += batch.replayed
            self._after_insert(batch)
        dead = [d for b in batches if b.tp in self._owned for d in b.dead]
        if dead:
            with contextlib.suppress(_Dropped):
                await self._retry("dead-letter", lambda: self._dead_letter(dead), tps={b.tp for b in batches})
                self.dead_letters += len(dead)
        ends: dict[TopicPartition, int] = {}
        for batch in batches:
            if batch.tp in self._owned:
                ends[batch.tp] = max(ends.get(batch.tp, 0), batch.last_offset + 1)
        if ends:
            await self._commit(ends)

    def _after_insert(self, batch: Batch) -> None:
        """Called after each successful insert, before the commit (a seam for crash tests)."""

    async def _retry(
        self,
        what: str,
        attempt: Callable[[], Awaitable[T]],
        *,
        tps: Iterable[TopicPartition] = (),
        kafka: bool = True,
    ) -> T:
        """Repeat ``attempt`` with capped exponential backoff until it succeeds.

        Raises ``_Abandoned`` when the sink stops meanwhile and ``_Dropped`` when every partition
        in ``tps`` was revoked (its next owner redoes the step from the ledger).
        """
        wanted = set(tps)
        delay = self.backoff_initial_s
        failures = 0
        try:
            while True:
                if wanted and not wanted & self._owned:
                    log.info("sink: %s dropped: its partitions were revoked", what)
                    raise _Dropped
                try:
                    async with self._io_lock:
                        result = await attempt()
                except Exception as exc:
                    failures += 1
                    self.store_failures += 1
                    log.error(
                        "sink: %s failed (attempt %d): %s; offsets not committed, fetching paused, "
                        "retrying in %.1f s",
                        what, failures, scrub(exc, self._secret), delay,
                    )  # fmt: skip
                    await self._pause_for(delay, kafka)
                    if self._stopping.is_set():
                        log.warning("sink: stopping with an unstored batch; it is re-read on restart")
                        raise _Abandoned from exc
                    delay = min(delay * 2, self.backoff_max_s)
                else:
                    if failures:
                        log.info("sink: %s succeeded after %d failed attempts", what, failures)
                    return result
        finally:
            if failures and kafka and self._consumer is not None:
                self._consumer.resume(*self._consumer.assignment())

    async def _pause_for(self, delay: float, kafka: bool) -> None:
        """Wait ``delay`` s (or until stop) without fetching; keep polling to stay in the group."""
        consumer = self._consumer if kafka else None
        deadline = time.monotonic() + delay
        while not self._stopping.is_set() and (left := deadline - time.monotonic()) > 0:
            if consumer is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), left)
                continue
            # A partition assigned meanwhile is paused before the next poll, so this returns at
            # most what one poll of a fresh assignment holds; that is buffered, not dropped.
            consumer.pause(*consumer.assignment())
            self._add(await consumer.getmany(timeout_ms=int(min(left, 0.5) * 1000)))

    async def _dead_letter(self, dead: list[tuple[Any, str]]) -> None:
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
            # Typically a rebalance: the rows are stored and the ledger lets the next owner
            # re-cut the same batches, so the re-read inserts are deduplicated.
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

    # -- rebalancing ----------------------------------------------------------------------------

    async def _on_revoked(self, revoked: list[TopicPartition]) -> None:
        # Wait for an attempt in flight: once this returns, this sink never writes a ledger
        # row or a block for these partitions again, so the next owner sees every plan.
        async with self._io_lock:
            self._owned.difference_update(revoked)
            self._buffers.drop(revoked)

    async def _on_assigned(self, assigned: list[TopicPartition]) -> None:
        self._buffers.drop(assigned)  # fetched again from the committed offset, then resolved
        self._owned.update(assigned)
        await self._seed_committed(assigned)

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
