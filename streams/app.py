"""The Faust app: tick batches in, spread events and window statistics out.

This module only wires Faust to the worker core. One agent consumes the three
co-partitioned venue tick topics, one event per fetched run of records
(``streams.run_transport``); each record passes the sequencer (once, in order, from the
committed offset: ``streams.faust_compat``), is decoded, and the run is pushed into its
partition's core (``echoarb.scan.partition``: merge, strict or live, then scan). The outputs
are sent at once (``streams.output``); each touched pair's state goes to the
changelog-backed ``pair-state`` table once per checkpoint, after those outputs are delivered
(``streams.checkpoints``). Open windows are mirrored into Faust windowed tables
(``streams.mirror``); ``streams.views`` serves health, metrics and the pair state.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import faust
from faust.types import TP

from echoarb.kafka import client_config
from echoarb.pairs import PairsConfig
from echoarb.partitioning import venue_streams
from echoarb.scan.merge import VENUE_RANK
from echoarb.scan.partition import PartitionCores, Step
from echoarb.scan.scanner import scan_params
from echoarb.scan.state import encode_state
from echoarb.settings import Settings
from echoarb.web_auth import bearer_middleware, warn_if_exposed
from echoarb.wire.codec import CodecError, load_codecs
from echoarb.wire.records import tick_from_record
from streams import faust_compat, run_transport
from streams.checkpoints import Checkpoints, run_committer
from streams.mirror import WindowMirror
from streams.output import Output
from streams.run_transport import RunMessage
from streams.stats import Counters, WorkerStats
from streams.views import Views

log = logging.getLogger("echoarb.worker")

#: Ticks merged and scanned between two turns of the event loop within one long run.
CHUNK_TICKS = 500
#: A timer pass is skipped while the agent holds the lock, but never for longer than this.
TIMER_MAX_SKIP_S = 0.25


def app_options(settings: Settings, embedded_broker: bool) -> dict[str, Any]:
    """``faust.App`` settings of a worker (Tansu's client settings when the broker is embedded)."""
    s = settings
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
        "table_standby_replicas": 0,
        "key_serializer": "raw",
        "value_serializer": "raw",
        "processing_guarantee": s.processing_guarantee,
        **faust_compat.APP_OPTIONS,
    }
    token = s.web_token()
    if token:
        # Every view but /health needs the bearer token. Faust forwards a table-routed request
        # with its headers, so the owning worker checks the same token (tests/integration/
        # test_web_auth_cluster.py).
        options["web_application_options"] = {"middlewares": [bearer_middleware(token)]}
    warn_if_exposed("worker web views", s.worker_web_host, token)
    if embedded_broker:
        from echoarb.kafka import tansu_compat

        tansu_compat.apply_faust_patches()
        options.update(tansu_compat.faust_settings())
    return options


#: The cyclic collector's thresholds in a worker (CPython's default: 700, 10, 10).
GC_THRESHOLDS = (1_000, 20, 100)


def _tune_collector() -> None:
    """Leave what start-up allocated out of the collector's passes; run the costly ones rarely.

    Why: Faust, mode, aiokafka and their imports leave ~90,000 long-lived objects; every full
    (generation 2) pass walked them and held the event loop for 100-130 ms, measured at 250
    ticks/s (about one every 8 s: the whole p99 of a spread event). ``gc.freeze()`` moves every
    object alive now to the permanent generation (no walk); what the worker allocates later,
    pair state included, is collected as before. Even without them, a full pass over the
    worker's own ~40,000 objects (~250,000 references, spread over its heap) takes 35-120 ms
    and a generation-1 pass ~5 ms, while the worker makes almost no reference cycles (none
    found in a pass at 2,500 ticks/s). :data:`GC_THRESHOLDS` runs generation 1 half as often
    and generation 2 about 20 times less often; young passes stay under a few ms. Measured at
    2,500 ticks/s (bench.pipeline, quiet machine): time in the collector 808 ms per run with
    CPython's thresholds, 471 and 598 ms with these, one full pass instead of three.
    Called on each assignment: a rebalance's new objects are long-lived too.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class Topology:
    """Builds the Faust app of one worker and holds what its agent, timer and signals share."""

    def __init__(self, settings: Settings, pairs: PairsConfig, *, embedded_broker: bool) -> None:
        s = self.settings = settings
        self.pairs = pairs
        self.by_id = pairs.by_id()
        self.codecs = load_codecs(s.schema_registry_url)
        self.params = scan_params(s)
        self.lock = asyncio.Lock()  # one batch, timer pass, commit or rebalance at a time
        self._timer_ran = 0.0  # monotonic time of the last timer pass
        self.assigned: set[Any] = set()
        self.counters = Counters()
        self.checkpoints = Checkpoints(s.state_flush_ms / 1000)
        (s.data_dir / "faust").mkdir(parents=True, exist_ok=True)
        app = self.app = faust.App(s.worker_id, **app_options(s, embedded_broker))
        self.tick_topic = app.topic(
            *(s.tick_topic(v) for v in ("kalshi", "polymarket", "manifold")),
            key_serializer="raw",
            value_serializer="raw",
        )
        self.run_topics = frozenset(self.tick_topic.topics)
        run_transport.deliver_runs(app, self.run_topics)
        # Declared like the tick topic (outputs are sent through the transport producer).
        self.spreads_topic = app.topic(s.topic_spreads, key_serializer="raw", value_serializer="raw")
        self.windows_topic = app.topic(s.topic_spread_windows, key_serializer="raw", value_serializer="raw")
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
        self.mirror = WindowMirror(app, s)
        table = self.pair_state
        self.sequencer = faust_compat.Sequencer(app, s, embedded_broker=embedded_broker)
        self.cores = PartitionCores(
            venue_streams(pairs, s.partitions),
            self.by_id,
            self.params,
            lambda pair_id: table.get(pair_id.encode()),
            self._caught_up_check if s.merge_mode == "live" else None,
        )
        self.output = Output(
            app, s, self.codecs, table=table, lock=self.lock, owns=self._owns, counters=self.counters
        )
        Views(table, self.by_id, self.params, self.stats, s.worker_web_port).register(app)
        app.agent(self.tick_topic, name="scan-ticks")(self._agent)
        # Held ticks are released on the next push or this timer; checkpoints seal by their own
        # clock (Checkpoints.due), so a faster timer only checks more often.
        app.timer(min(s.merge_recheck_ms / 1000, max(0.005, s.state_flush_ms / 2000)))(self._on_timer)
        app.task(self._committer)
        app.on_partitions_revoked.connect(self._on_revoked)  # type: ignore[arg-type]
        app.on_partitions_assigned.connect(self._on_assigned)  # type: ignore[arg-type]

    async def _agent(self, stream: Any) -> None:
        # Manual acks: a run's offsets may be committed only once its ticks are processed and
        # its watermarks used up (see echoarb.scan.merge); buffered ticks then survive a crash.
        # Each event is one fetched run of records of one topic-partition (streams.run_transport).
        decode = self.codecs.tick_batch.decode
        async for event in stream.noack().events():
            message = event.message
            accepted = await self.sequencer.accept(message)
            if not accepted:
                continue
            if isinstance(message, RunMessage):
                message.narrow(accepted[0].offset, accepted[-1].offset)
            partition = message.partition
            # The whole run under the lock (a rebalance or timer pass waits for it), pushed in
            # chunks of ~CHUNK_TICKS ticks with the loop let run in between: the consumer shares
            # the loop (streams.run_transport) and must heartbeat and fetch during a long run.
            # The last chunk always holds a batch; only it carries the run's ack token.
            async with self.lock:
                batches: list[dict[str, Any]] = []
                ticks = 0
                for record in accepted:
                    try:
                        batch = decode(record.value)
                    except CodecError as exc:
                        await self.output.dead_letter(message, record, str(exc))
                        continue
                    if ticks >= CHUNK_TICKS:
                        await self._push(partition, message, batches, None)
                        batches, ticks = [], 0
                        await asyncio.sleep(0)
                    batches.append(batch)
                    ticks += len(batch["ticks"])
                if batches:
                    await self._push(partition, message, batches, event)
            if not batches:
                event.ack()  # every record dead-lettered (and delivered there)

    async def _push(self, partition: int, message: Any, batches: list[dict[str, Any]], token: Any) -> None:
        """Merge and scan decoded batches of one run, send the outputs (caller holds the lock)."""
        now = time.monotonic()
        run = []
        for b in batches:
            ticks = []
            for t in b["ticks"]:
                ticks.append(tick_from_record(t))
            run.append((b["venue"], b["watermark"], ticks))
        step = self.cores.get(partition).push(run, now, int(time.time() * 1000), token)
        cp = self.checkpoints.current(partition, message.generation_id)
        await self.output.send(cp, partition, step)
        cp.acks.extend(step.acks)
        if step.final:
            self._seal(partition, mirror=True, control=batches[-1]["producer_id"])
        elif self.checkpoints.due(partition, now):
            self._seal(partition, mirror=True)

    def _caught_up_check(self, partition: int) -> Callable[[str], bool]:
        """Live merge: is a venue's stream of ``partition`` read up to its fetched high watermark?"""
        tps: dict[str, TP] = {v: TP(self.settings.tick_topic(v), partition) for v in VENUE_RANK}
        caught_up = self.sequencer.caught_up
        return lambda venue: caught_up(tps[venue])

    async def _on_timer(self) -> None:
        """Release ticks the live merge or a silent venue let go; seal checkpoints an idle
        partition left open; repeat seeks a stale fetch overtook."""
        max_wait = self.settings.merge_max_wait_ms / 1000
        if self.lock.locked() and time.monotonic() - self._timer_ran < TIMER_MAX_SKIP_S:
            # The agent is in a run: its pushes release their own partition's ticks. Waiting
            # for the lock would queue a pass behind every chunk of a backlog (and make Faust
            # warn that the timer overlaps); the next pass comes in MERGE_RECHECK_MS.
            return
        async with self.lock:
            now = time.monotonic()
            self._timer_ran = now
            generation = self.app.consumer_generation_id
            for partition, core in self.cores.items():
                now_ms = int(time.time() * 1000)
                live = core.release_caught_up(now, now_ms)
                if live is not None:
                    await self._send(partition, generation, live)
                stalled = core.release_stalled(now, max_wait, now_ms)
                if stalled is not None:
                    log.info(
                        "partition %d: released %d ticks after %.1fs without watermark",
                        partition,
                        stalled.ticks,
                        max_wait,
                    )
                    await self._send(partition, generation, stalled)
            for partition in list(self.checkpoints.open):
                if self.checkpoints.due(partition, now):
                    self._seal(partition, mirror=False)
            await self.sequencer.retry_seeks(now, self.assigned)
            self.sequencer.note_commits(self.assigned)
            await self.sequencer.check_stalls(now, list(self.assigned), self.run_topics)

    async def _send(self, partition: int, generation: int, step: Step) -> None:
        cp = self.checkpoints.current(partition, generation)
        await self.output.send(cp, partition, step)
        cp.acks.extend(step.acks)

    def _seal(self, partition: int, *, mirror: bool, control: str | None = None) -> None:
        """Close the partition's checkpoint: one serialised state per pair touched since the last."""
        states: list[tuple[bytes, bytes]] = []
        core = self.cores.cores.get(partition)
        for state in core.take_dirty() if core is not None else ():
            body = state.to_json()
            states.append((state.pair_id.encode(), encode_state(body)))
            if mirror:
                self.mirror.write(state, body["windows"])
        self.checkpoints.seal(partition, states, control)

    async def _committer(self) -> None:
        await run_committer(self.checkpoints, self.output.commit)

    def _owns(self, partition: int) -> bool:
        return partition in {tp.partition for tp in self.assigned}

    async def _on_revoked(self, app: Any, revoked: Iterable[Any] = (), **kwargs: Any) -> None:
        # Eager rebalancing: every partition is revoked and consumers restart from the
        # committed offsets, so all in-memory merge and scan state is dropped (the batch in
        # progress finishes first: the lock).
        async with self.lock:
            self.assigned.difference_update(revoked)
            for tp in revoked:
                self.cores.drop(tp.partition)
                self.checkpoints.drop(tp.partition)
        log.info("partitions revoked: %s", sorted({tp.partition for tp in revoked}))

    async def _on_assigned(self, app: Any, assigned: Iterable[Any] = (), **kwargs: Any) -> None:
        async with self.lock:
            self.assigned = set(assigned)
            self.sequencer.on_assigned()
        _tune_collector()
        log.info("partitions assigned: %s", sorted({tp.partition for tp in self.assigned}))

    def stats(self) -> WorkerStats:
        app = self.app
        assigned = app.consumer.assignment() if app.consumer else set()
        seq, counters = self.sequencer, self.counters
        return WorkerStats(
            ticks_processed=counters.ticks_processed,
            spreads_sent=counters.spreads_sent,
            decode_errors=counters.decode_errors,
            late_ticks=self.cores.late_ticks,
            late_window_events=self.cores.late_window_events,
            stale_records_skipped=seq.stale_skipped,
            repeated_records_skipped=seq.repeats_skipped,
            reseeks=seq.reseeks + seq.stalls,
            assigned_partitions=tuple(sorted({tp.partition for tp in assigned})),
            recovered=faust_compat.tables_recovered(app),
            rebalancing=bool(app.rebalancing),
            buffered_ticks=self.cores.buffered,
            pending_checkpoints=self.checkpoints.pending,
        )
