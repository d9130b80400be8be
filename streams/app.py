"""The Faust topology: tick batches in, spread events and window statistics out.

One agent consumes the three co-partitioned venue tick topics. Each record passes the
offset gate (``streams.offsets``: once, in order, from the committed offset); per partition
the venue streams are merged deterministically (``echoarb.scan.merge``) and scanned
(``echoarb.scan.scanner``). Outputs are sent at once; each pair's state goes to the
changelog-backed ``pair-state`` table once per checkpoint, after those outputs are delivered
(``streams.checkpoints``). Window statistics are kept in the pair state and mirrored into
Faust windowed tables (tumbling and hopping) for the web views.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import RecordMetadata
from faust.types import TP

from echoarb.ingest.batching import END_OF_TIME
from echoarb.kafka import client_config
from echoarb.model import ClosedWindow, Opportunity, SpreadEvent, Tick
from echoarb.pairs import PairsConfig
from echoarb.partitioning import venue_streams
from echoarb.scan.merge import VENUE_RANK, PartitionMerger
from echoarb.scan.scanner import PartitionScanner, ScanParams
from echoarb.settings import Settings
from echoarb.wire.codec import CodecError, Codecs, load_codecs
from echoarb.wire.deadletter import dead_letter_headers
from echoarb.wire.records import from_micros, spread_id, spread_to_record, tick_from_record, window_to_record
from streams import run_transport
from streams.checkpoints import Checkpoint, Checkpoints, run_committer
from streams.metrics import CONTENT_TYPE, render, worker_registry
from streams.offsets import OffsetGate, Verdict
from streams.run_transport import RunMessage, deliver_runs, records_of

log = logging.getLogger("echoarb.worker")

_event_time: contextvars.ContextVar[float] = contextvars.ContextVar("echoarb_event_time", default=0.0)


class Topology:
    """Builds the Faust app and holds the per-partition in-memory state of one worker."""

    def __init__(self, settings: Settings, pairs: PairsConfig, *, embedded_broker: bool) -> None:
        self.settings = settings
        self.pairs = pairs
        self.by_id = pairs.by_id()
        self.codecs: Codecs = load_codecs(settings.schema_registry_url)
        self.streams = venue_streams(pairs, settings.partitions)
        self.params = ScanParams(
            min_edge=settings.min_edge,
            max_quote_age_ms=settings.max_quote_age_ms,
            tumbling_ms=settings.window_tumbling_s * 1000,
            hopping_ms=settings.window_hopping_s * 1000,
            hopping_step_ms=settings.window_hopping_step_s * 1000,
        )
        self.mergers: dict[int, PartitionMerger] = {}
        self.scanners: dict[int, PartitionScanner] = {}
        self.sent_offsets: dict[tuple[str, int], int] = {}
        self.decode_errors = 0
        self.ticks_processed = 0
        self.spreads_sent = 0
        self.lock = asyncio.Lock()
        self.assigned: set[Any] = set()
        self.stale_skipped = 0
        self._mirrored: dict[str, tuple[str, str]] = {}
        self.checkpoints = Checkpoints(settings.state_flush_ms / 1000)
        self.embedded_broker = embedded_broker
        self.gate = OffsetGate()
        self._gate_generation: int | None = None
        self._reseeks: dict[Any, tuple[int | None, float]] = {}
        self._offsets_client: AIOKafkaConsumer | None = None
        self.repeats_skipped = 0
        self.reseeks = 0
        self._retired_late = [0, 0]  # late ticks / late window events of revoked partitions
        self.app = self._build_app(embedded_broker)

    # -- app -------------------------------------------------------------------------
    def _build_app(self, embedded: bool) -> faust.App:
        s = self.settings
        extra: dict[str, Any] = {}
        if embedded:
            from echoarb.kafka import tansu_compat

            tansu_compat.apply_faust_patches()
            extra.update(tansu_compat.faust_settings())
        (s.data_dir / "faust").mkdir(parents=True, exist_ok=True)
        run_transport.register()
        options: dict[str, Any] = {
            # One event per fetched run of tick records (streams.run_transport), not per record.
            "broker": run_transport.broker_url(f"{s.kafka_bootstrap}"),
            **client_config.faust_credentials(s),  # SASL/TLS of a real cluster
            "store": "memory://",
            "topic_partitions": s.partitions,
            "topic_replication_factor": s.replication_factor,
            "web_port": s.worker_web_port,
            "web_host": s.worker_web_host,
            "canonical_url": s.worker_url(),
            "datadir": str(s.data_dir / "faust" / s.worker_id),
            "consumer_auto_offset_reset": "earliest",
            "producer_linger": 0.005,
            "table_cleanup_interval": 30.0,
            # Ticks wait unacked in the merge buffer; waiting for them to be acked before a
            # rebalance would deadlock it. Unacked records are simply re-read by the new owner.
            "stream_wait_empty": False,
            "table_standby_replicas": 0,
            "key_serializer": "raw",
            "value_serializer": "raw",
            "processing_guarantee": s.processing_guarantee,
        }
        options.update(extra)
        app = faust.App(s.worker_id, **options)
        self.tick_topic = app.topic(
            *(s.tick_topic(v) for v in ("kalshi", "polymarket", "manifold")),
            key_serializer="raw",
            value_serializer="raw",
        )
        deliver_runs(app, self.tick_topic.topics)
        self.spreads_topic = app.topic(s.topic_spreads, key_serializer="raw", value_serializer="raw")
        self.windows_topic = app.topic(s.topic_spread_windows, key_serializer="raw", value_serializer="raw")
        self.dlq_topic = app.topic(s.topic_dead_letter, key_serializer="raw", value_serializer="raw")
        self.control_topic = app.topic(s.topic_control, key_serializer="raw", value_serializer="raw")
        # Raw pair-id keys: the partitioner then puts each changelog record on the pair's
        # own partition (murmur2(pair_id)), the same as its ticks.
        self.pair_state = app.Table(
            "pair-state",
            default=None,
            partitions=s.partitions,
            use_partitioner=True,
            key_type=bytes,
            value_type=bytes,
        )

        def event_time(event: Any = None) -> float:
            return _event_time.get()

        self.stats_tumbling = (
            app.Table(
                "spread-stats-tumbling",
                default=None,
                partitions=s.partitions,
                schema=faust.Schema(key_serializer="json", value_serializer="json"),
            )
            .tumbling(s.window_tumbling_s, expires=s.window_tumbling_s * 10)
            .relative_to(event_time)  # type: ignore[attr-defined]
        )
        self.stats_hopping = (
            app.Table(
                "spread-stats-hopping",
                default=None,
                partitions=s.partitions,
                schema=faust.Schema(key_serializer="json", value_serializer="json"),
            )
            .hopping(s.window_hopping_s, s.window_hopping_step_s, expires=s.window_hopping_s * 4)
            .relative_to(event_time)  # type: ignore[attr-defined]
        )

        app.agent(self.tick_topic, name="scan-ticks")(self._agent)
        app.timer(min(0.25, max(0.01, s.state_flush_ms / 2000)))(self._on_timer)
        app.task(self._committer)
        app.on_partitions_revoked.connect(self._on_revoked)  # type: ignore[arg-type]
        app.on_partitions_assigned.connect(self._on_assigned)  # type: ignore[arg-type]
        self._register_views(app)
        return app

    # -- agent -----------------------------------------------------------------------
    async def _agent(self, stream: Any) -> None:
        # Manual acks: a run's offsets may be committed only once its ticks are processed and
        # its watermarks used up (see echoarb.scan.merge); buffered ticks then survive a crash.
        # Each event is one fetched run of records of one topic-partition (streams.run_transport).
        decode = self.codecs.tick_batch.decode
        async for event in stream.noack().events():
            message = event.message
            accepted = await self._accept(message)
            if not accepted:
                continue
            batches: list[dict[str, Any]] = []
            for record in accepted:
                try:
                    batches.append(decode(record.value))
                except CodecError as exc:
                    await self._dead_letter(message, record, exc)
            if isinstance(message, RunMessage):
                message.narrow(accepted[0].offset, accepted[-1].offset)
            if not batches:
                event.ack()  # every record dead-lettered (and delivered there)
                continue
            partition = message.partition
            async with self.lock:
                merger = self._merger(partition)
                now = time.monotonic()
                released: list[Tick] = []
                final = False
                last = len(batches) - 1
                for i, batch in enumerate(batches):
                    ticks = [tick_from_record(t) for t in batch["ticks"]]
                    # The run is acked through its last batch: earlier ones carry no token.
                    token = event if i == last else None
                    released.extend(merger.push(batch["venue"], batch["watermark"], ticks, now, token))
                    if batch["watermark"] >= END_OF_TIME and merger.done:
                        final = True
                cp = await self._process(partition, released, final=final, generation=message.generation_id)
                cp.acks.extend(merger.ackable())
                if final:
                    self._seal(partition, mirror=True, control=batches[-1]["producer_id"])
                elif self.checkpoints.due(partition, now):
                    self._seal(partition, mirror=True)

    async def _dead_letter(self, message: Any, record: Any, exc: Exception) -> None:
        self.decode_errors += 1
        log.warning("dead-lettering %s[%d]@%d: %s", message.topic, message.partition, record.offset, exc)
        fut = await self.dlq_topic.send(
            key=record.key,
            value=record.value,
            headers=dead_letter_headers(
                str(exc), message.topic, message.partition, record.offset, stage="worker"
            ),
        )
        await fut

    async def _accept(self, message: Any) -> list[Any]:
        """The records of ``message`` (a run) to process: each once, in offset order from the
        committed offset (``streams.offsets``); repeats are skipped, a jump ahead seeks back."""
        generation = message.generation_id
        if generation != self.app.consumer_generation_id:
            self.stale_skipped += 1  # fetched before the last rebalance: re-read from the commit
            return []
        if self._gate_generation != generation:
            self.gate.reset()
            self._reseeks.clear()
            self._gate_generation = generation
        tp = message.tp
        if not self.gate.known(tp):
            committed = await self._committed(tp)
            if generation != self.app.consumer_generation_id:
                return []
            self.gate.start(tp, committed)
        accepted: list[Any] = []
        check = self.gate.check
        for record in records_of(message):
            verdict = check(tp, record.offset)
            if verdict is Verdict.ACCEPT:
                accepted.append(record)
            elif verdict is Verdict.REPEAT:
                self.repeats_skipped += 1
            else:
                await self._seek_back(tp, record.offset)
                break  # the rest of the run is ahead too
        return accepted

    async def _committed(self, tp: Any) -> int | None:
        """Where the group resumes ``tp``: read by a client of our own (not the group member)."""
        if self._offsets_client is None:
            client = AIOKafkaConsumer(
                bootstrap_servers=self.settings.kafka_bootstrap,
                group_id=self.app.conf.id,
                enable_auto_commit=False,
                **client_config.consumer(self.embedded_broker, self.settings),
            )
            await client.start()
            self._offsets_client = client
        atp = TopicPartition(tp.topic, tp.partition)
        offset = await self._offsets_client.committed(atp)
        if offset is not None and offset >= 0:
            return int(offset)
        # Nothing committed: the group starts at the log start (auto_offset_reset=earliest), not
        # wherever this consumer's earlier fetches had got to.
        start = await self._offsets_client.beginning_offsets([atp])
        return None if start.get(atp) is None else int(start[atp])

    async def _seek_back(self, tp: Any, got: int | None = None) -> None:
        """A record from a fetch issued before Faust's seek: fetch the skipped range again."""
        expected = self.gate.expected(tp)
        consumer: Any = self.app.consumer
        # Faust took the jump for a compacted range and counts it as acked: it is not.
        consumer._gap.pop(tp, None)
        now = time.monotonic()
        last = self._reseeks.get(tp)
        if last is not None and last[0] == expected and now - last[1] < 0.05:
            return  # the rest of one stale fetch; the timer seeks again if nothing moves
        self._reseeks[tp] = (expected, now)
        self.reseeks += 1
        (log.info if last is None else log.debug)(
            "%s: got offset %s, expected %s: seeking back", tp, got, expected
        )
        # seek_wait runs in the consumer's thread and resets Faust's read offset with it.
        await consumer.seek_wait({tp: expected or 0})

    async def _retry_seeks(self, now: float) -> None:
        """A seek whose re-fetch was overtaken by more stale records: seek again."""
        for tp, (expected, at) in list(self._reseeks.items()):
            if self.gate.expected(tp) != expected:
                del self._reseeks[tp]  # records flow again from the expected offset
            elif now - at >= 0.5 and tp in self.assigned:
                await self._seek_back(tp)

    def _ack(self, events: list[Any]) -> None:
        """Ack only within the generation the record was fetched in.

        A rebalance may revoke the partition while its batch is being processed; a late ack
        would let this worker commit an offset whose state the new owner has not recovered.
        """
        generation = self.app.consumer_generation_id
        for event in events:
            if event.message.generation_id == generation:
                event.ack()

    def _merger(self, partition: int) -> PartitionMerger:
        merger = self.mergers.get(partition)
        if merger is None:
            live = self.settings.merge_mode == "live"
            caught_up = self._caught_up_check(partition) if live else None
            merger = self.mergers[partition] = PartitionMerger(self.streams.get(partition, ()), caught_up)
        return merger

    def _caught_up_check(self, partition: int) -> Callable[[str], bool]:
        """Live merge: has this worker read a venue's stream of ``partition`` up to the high
        watermark of the newest fetch (nothing more that Kafka already holds)?"""
        tps: dict[str, TP] = {v: TP(self.settings.tick_topic(v), partition) for v in VENUE_RANK}
        gate = self.gate

        def caught_up(venue: str) -> bool:
            tp = tps[venue]
            consumer: Any = self.app.consumer
            try:
                highwater = consumer.highwater(tp)
            except Exception:  # not assigned (any more)
                return False
            if highwater is None:
                return False  # no fetch answered yet
            position = gate.expected(tp) if gate.known(tp) else consumer._committed_offset.get(tp)
            return bool((position or 0) >= highwater)

        return caught_up

    async def _on_timer(self) -> None:
        """Release ticks of silent venue streams; seal checkpoints an idle partition left open."""
        max_wait = self.settings.merge_max_wait_ms / 1000
        async with self.lock:
            now = time.monotonic()
            for partition, merger in list(self.mergers.items()):
                live = merger.release_caught_up(now)
                if live:
                    cp = await self._process(
                        partition, live, final=False, generation=self.app.consumer_generation_id
                    )
                    cp.acks.extend(merger.ackable())
                released = merger.release_stalled(now, max_wait)
                if released:
                    log.info(
                        "partition %d: released %d ticks after %.1fs without watermark",
                        partition,
                        len(released),
                        max_wait,
                    )
                    cp = await self._process(
                        partition, released, final=False, generation=self.app.consumer_generation_id
                    )
                    cp.acks.extend(merger.ackable())
            for partition in list(self.checkpoints.open):
                if self.checkpoints.due(partition, now):
                    self._seal(partition, mirror=False)
            if self._reseeks and self._gate_generation == self.app.consumer_generation_id:
                await self._retry_seeks(now)

    def _seal(self, partition: int, *, mirror: bool, control: str | None = None) -> None:
        """Close the partition's checkpoint: one serialised state per pair touched since the last."""
        states: list[tuple[bytes, bytes]] = []
        scanner = self.scanners.get(partition)
        for state in scanner.take_dirty() if scanner is not None else ():
            body = state.to_json()
            states.append((state.pair_id.encode(), json.dumps(body, separators=(",", ":")).encode()))
            if mirror:
                self._mirror_windows(state.pair_id, body["windows"], state.last_event_ts)
        self.checkpoints.seal(partition, states, control)

    async def _committer(self) -> None:
        await run_committer(self.checkpoints, self._commit)

    async def _commit(self, cp: Checkpoint, results: list[Any]) -> None:
        """Runs once every output of ``cp`` has an outcome: persist state, then ack."""
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            # Undelivered outputs: neither state nor offsets may move past them. Stopping is
            # the only safe answer; a restart re-reads from the last commit.
            log.critical("partition %d: %d outputs not delivered: %r", cp.partition, len(failed), failed[0])
            await self.app.crash(failed[0])
            return
        async with self.lock:
            for metadata in results:
                self._record_offset(metadata)
            owned = cp.partition in {tp.partition for tp in self.assigned}
            if cp.generation != self.app.consumer_generation_id or not owned:
                # Revoked since: the new owner may already have recovered the table; a late
                # write would overwrite its newer state. It re-reads the unacked records.
                log.info("partition %d: revoked before its checkpoint was committed", cp.partition)
                return
            # One table write per touched pair per checkpoint: each is one changelog record.
            for key, value in cp.states:
                self.pair_state[key] = value
            self._ack(cp.acks)
        if cp.control is not None:
            await self.app.producer.flush()
            await self._send_control(cp.partition, cp.control)

    async def _on_revoked(self, app: Any, revoked: Iterable[Any] = (), **kwargs: Any) -> None:
        # Eager rebalancing: every partition is revoked and consumers restart from the
        # committed offsets, so all in-memory merge and scan state is dropped (the batch in
        # progress finishes first: the lock).
        async with self.lock:
            self.assigned.difference_update(revoked)
            for tp in revoked:
                merger = self.mergers.pop(tp.partition, None)
                scanner = self.scanners.pop(tp.partition, None)
                self._retired_late[0] += merger.late if merger else 0
                self._retired_late[1] += scanner.late_window_events if scanner else 0
                self.checkpoints.drop(tp.partition)
        log.info("partitions revoked: %s", sorted({tp.partition for tp in revoked}))

    async def _on_assigned(self, app: Any, assigned: Iterable[Any] = (), **kwargs: Any) -> None:
        async with self.lock:
            self.assigned = set(assigned)
        log.info("partitions assigned: %s", sorted({tp.partition for tp in self.assigned}))

    def _scanner(self, partition: int) -> PartitionScanner:
        scanner = self.scanners.get(partition)
        if scanner is None:
            table = self.pair_state

            def load(pair_id: str) -> dict[str, Any] | None:
                raw = table.get(pair_id.encode())
                return None if raw is None else dict(json.loads(raw))

            scanner = self.scanners[partition] = PartitionScanner(self.by_id, self.params, load)
        return scanner

    async def _process(
        self, partition: int, ticks: list[Tick], *, final: bool, generation: int
    ) -> Checkpoint:
        """Scan released ticks and send their outputs; the checkpoint awaits their delivery."""
        cp = self.checkpoints.current(partition, generation)
        scanner = self._scanner(partition)
        now_ms = int(time.time() * 1000)
        opportunities: list[tuple[Opportunity, tuple[int, int, int]]] = []
        closed: list[ClosedWindow] = []
        for tick in ticks:
            trigger = (tick.recv_ts, VENUE_RANK[tick.venue], tick.seq)
            opportunities.extend((opp, trigger) for opp in scanner.apply(tick))
            # Windows close as the merged ticks pass them (not per record or run): which
            # opportunities a window counts then depends on the tick order alone.
            closed.extend(scanner.close_windows())
        if final:
            closed.extend(scanner.close_windows(final=True))
        self.ticks_processed += len(ticks)
        # Straight to the transport producer: Topic.send's per-message wrapping (pending and
        # future messages, callbacks) cost more than the Avro encode itself.
        futures = cp.futures
        send = self.app.producer.send
        spreads, windows = self.settings.topic_spreads, self.settings.topic_spread_windows
        for opp, trigger in opportunities:
            event = SpreadEvent(spread_id(opp, trigger), opp, now_ms)
            value = self.codecs.spread_event.encode(spread_to_record(event))
            futures.append(await send(spreads, opp.pair_id.encode(), value, partition, None, None))
        for window in closed:
            value = self.codecs.spread_window.encode(window_to_record(window, now_ms))
            futures.append(await send(windows, window.pair_id.encode(), value, partition, None, None))
        self.spreads_sent += len(opportunities)
        return cp

    def _mirror_windows(self, pair_id: str, windows: list[dict[str, Any]], event_ts: int) -> None:
        # Windowed keys are (pair, window) tuples: their changelog partition is the current
        # event's, so the mirror is only written inside stream iteration.
        if not event_ts or faust.current_event() is None:
            return
        tumbling, hopping = windows
        snapshot = (json.dumps(tumbling["open"], sort_keys=True), json.dumps(hopping["open"], sort_keys=True))
        if self._mirrored.get(pair_id) == snapshot:
            return  # unchanged: each write is a changelog record
        self._mirrored[pair_id] = snapshot
        token = _event_time.set(event_ts / 1000)
        try:
            key = pair_id
            self.stats_tumbling[key] = tumbling["open"]
            self.stats_hopping[key] = hopping["open"]
        finally:
            _event_time.reset(token)

    def _record_offset(self, metadata: RecordMetadata) -> None:
        tp = (metadata.topic, metadata.partition)
        if metadata.offset > self.sent_offsets.get(tp, -1):
            self.sent_offsets[tp] = metadata.offset

    async def _send_control(self, partition: int, producer_id: str) -> None:
        """Tell a finite replay that this partition is fully processed and where its output ends."""
        s = self.settings
        body = {
            "type": "end_of_stream",
            "producer_id": producer_id,
            "partition": partition,
            "last_offsets": {
                s.topic_spreads: self.sent_offsets.get((s.topic_spreads, partition), -1),
                s.topic_spread_windows: self.sent_offsets.get((s.topic_spread_windows, partition), -1),
            },
            "ticks_processed": self.ticks_processed,
            "decode_errors": self.decode_errors,
        }
        fut = await self.control_topic.send(key=producer_id.encode(), value=json.dumps(body).encode())
        await fut
        log.info("partition %d: end of stream, %s", partition, body["last_offsets"])

    # -- web views -------------------------------------------------------------------
    def _register_views(self, app: faust.App) -> None:
        table = self.pair_state

        # Faust binds a page function to its View: plain functions, not bound methods.
        async def health(web: Any, request: Any) -> Any:
            return await self._health_view(web, request)

        async def spreads(web: Any, request: Any) -> Any:
            return await self._spreads_view(web, request)

        registry = worker_registry(self)

        async def metrics(web: Any, request: Any) -> Any:
            return web.bytes(render(registry), content_type=CONTENT_TYPE)

        app.page("/health")(health)
        app.page("/metrics")(metrics)
        app.page("/spreads/")(spreads)
        app.page("/pairs/{pair_id}/")(app.table_route(table=table, match_info="pair_id")(self._pair_view))
        app.page("/windows/{pair_id}/")(
            app.table_route(table=table, match_info="pair_id")(self._windows_view)
        )

    @property
    def late_ticks_total(self) -> int:
        return self._retired_late[0] + sum(m.late for m in self.mergers.values())

    @property
    def late_window_events_total(self) -> int:
        return self._retired_late[1] + sum(sc.late_window_events for sc in self.scanners.values())

    def caught_up(self) -> tuple[bool, dict[str, Any]]:
        app = self.app
        assigned = app.consumer.assignment() if app.consumer else set()
        recovery = app.tables.recovery  # type: ignore[attr-defined]
        recovered = recovery.completed.is_set() and not recovery.in_recovery
        buffered = sum(m.buffered for m in self.mergers.values())
        ok = bool(assigned) and recovered and not app.rebalancing
        return ok, {
            "assigned_partitions": sorted({tp.partition for tp in assigned}),
            "recovered": recovered,
            "rebalancing": bool(app.rebalancing),
            "buffered_ticks": buffered,
            "ticks_processed": self.ticks_processed,
            "spreads_sent": self.spreads_sent,
            "decode_errors": self.decode_errors,
            "late_ticks": self.late_ticks_total,
            "late_window_events": self.late_window_events_total,
            "stale_records_skipped": self.stale_skipped,
            "repeated_records_skipped": self.repeats_skipped,
            "reseeks": self.reseeks,
        }

    async def _health_view(self, web: Any, request: Any) -> Any:
        """200 only when the worker holds partitions, recovered its tables and is not rebalancing."""
        ok, body = self.caught_up()
        body["status"] = "ok" if ok else "starting"
        return web.json(body, status=200 if ok else 503)

    def _state(self, pair_id: str) -> dict[str, Any] | None:
        raw = self.pair_state.get(pair_id.encode())
        return None if raw is None else dict(json.loads(raw))

    async def _spreads_view(self, web: Any, request: Any) -> Any:
        """Current best opportunity per pair held by this worker (its partitions)."""
        out: dict[str, Any] = {}
        for key in list(self.pair_state.keys()):
            raw = self.pair_state.get(key)
            state = json.loads(raw) if raw else None
            if state:
                pair_id = key.decode() if isinstance(key, bytes) else str(key)
                out[pair_id] = {
                    "best": state.get("best"),
                    "executable": state.get("executable", []),
                    "last_event_ts": state.get("last_event_ts"),
                }
        return web.json({"worker": self.settings.worker_web_port, "pairs": out})

    async def _pair_view(self, web: Any, request: Any, pair_id: str) -> Any:
        if pair_id not in self.by_id:
            return web.json({"error": f"unknown pair {pair_id!r}"}, status=404)
        state = self._state(pair_id)
        if state is None:
            return web.json({"pair_id": pair_id, "quotes": {}, "note": "no ticks yet"})
        newest = state["last_event_ts"]
        quotes = {}
        for venue, tick in state["quotes"].items():
            quotes[venue] = {
                "best_yes_ask": _price(tick["yes_asks"]),
                "best_no_ask": _price(tick["no_asks"]),
                "yes_levels": len(tick["yes_asks"]),
                "no_levels": len(tick["no_asks"]),
                "status": tick["status"],
                "in_sync": tick["in_sync"],
                "event_ts": tick["event_ts"],
                "staleness_ms": newest - tick["event_ts"],
            }
        return web.json(
            {
                "pair_id": pair_id,
                "quotes": quotes,
                "executable": state["executable"],
                "best": state.get("best"),
                "last_spread": state.get("last_spread"),
                "last_event_ts": newest,
            }
        )

    async def _windows_view(self, web: Any, request: Any, pair_id: str) -> Any:
        if pair_id not in self.by_id:
            return web.json({"error": f"unknown pair {pair_id!r}"}, status=404)
        state = self._state(pair_id) or {}
        return web.json(
            {
                "pair_id": pair_id,
                "recent": state.get("recent_windows", []),
                "open": [
                    {"window": name, "open": w["open"]}
                    for name, w in zip(("tumbling", "hopping"), state.get("windows", []), strict=False)
                ],
            }
        )


def _price(levels: list[dict[str, int]]) -> str | None:
    return format(from_micros(levels[0]["price_micros"]), "f") if levels else None
