"""Every workaround of faust-streaming behaviour the worker relies on, in one place.

Each one was read in faust-streaming 0.15.3's source and is pinned by
``tests/integration/test_faust_compat.py`` (the raw behaviour, then the workaround). They
touch Faust internals, so the module refuses to import under any other version: upgrade
Faust by re-running those tests, then moving :data:`FAUST_VERSION`.

W1 -- late seek after a rebalance. ``Recovery._resume_streams`` resumes the stream
    partitions *before* ``consumer.perform_seek()`` moves them to their committed offsets.
    A fetch issued in between delivers offsets X.. (past the commit C) first; Faust's
    ``_drain_messages`` then sets its read offset to X and drops the re-fetched C..X-1 as
    "already seen". With acks held in the merge buffer those are exactly the records not yet
    in the state: they would be lost. :class:`Sequencer` passes each record once, in offset
    order from the committed offset (the pure rule is ``streams.offsets.OffsetGate``) and
    seeks back with ``seek_wait`` (which, unlike ``seek``, also resets Faust's read offset)
    when a record jumps ahead.
W2 -- a jump counts as acked. On that jump ``_drain_messages`` records C+1..X-1 in the
    private ``Consumer._gap`` (meant for compacted ranges), and ``_new_offset`` treats the
    gap as acked: Faust would commit past records nobody processed. :meth:`Sequencer.seek_back`
    forgets the gap (:func:`forget_gap`).
W3 -- stale records after a rebalance. Records fetched in an earlier generation still reach
    the agent after the rebalance; their partition may now be someone else's.
    :meth:`Sequencer.accept` skips them (the new generation re-reads from the commit).
W4 -- acks of an earlier generation count. ``Consumer.ack`` accepts an ack whatever the
    generation the record was fetched in; a late ack after a revoke-and-reassign would commit
    an offset whose state the (new) owner has not recovered. :func:`ack_current` drops them.
W5 -- ``stream_wait_empty`` (default True) makes a rebalance wait until every event taken
    from the stream is acked. Ticks wait unacked in the merge buffer until every venue's
    watermark passes them, so the rebalance would wait for ever (until its timeout).
    :data:`APP_OPTIONS` turns it off: unacked records are simply re-read by the new owner.
W6 -- no public "recovered" flag: :func:`tables_recovered` reads ``app.tables.recovery``.
W8 -- records dropped after they were fetched. Faust's ``getmany`` stops yielding a fetch's
    records when the flow stops, the generation changes or a partition is inactive at that
    instant (``faust/transport/consumer.py``), yet aiokafka has already moved its position
    past them; upstream counts on the seek to the committed offsets that follows a
    rebalance. When the drop races that seek (seen after a worker was SIGKILLed: the
    survivor's fetch positions stood at the high watermark while the agent had seen nothing
    of the partition in the new generation), those records are never fetched again and the
    partition's end of stream never arrives. :meth:`Sequencer.check_stalls` notices a
    partition that is below its high watermark and has passed nothing for
    :data:`STALL_S`, and seeks it back to where the gate expects to continue.
W7 -- windowed tables take the partition of a key from the *current event*; writing one
    outside stream iteration raises. :func:`in_stream_iteration` says when a write is allowed.
W9 -- a generation id that repeats. The rules above key "start again from the commit" on
    ``consumer_generation_id``; a cluster that lost its groups (a restarted memory-only
    broker) hands out generation 1 again, and the gate would go on expecting the old log's
    offsets, skipping the new log's records as repeats. :meth:`Sequencer.on_assigned` makes
    every assignment a new epoch; :meth:`Sequencer._committed` says in one line when the
    group's committed offsets went back (``echoarb.kafka.resets``).
W10 -- a stop that hangs for ever. With the brokers gone, Faust's shutdown (through mode and
    aiokafka) waits for the consumer's fetcher, which retries its request in
    ``Fetcher._proc_fetch_request``: the worker ignores SIGTERM until a supervisor SIGKILLs
    it. :class:`BoundedStopWorker` starts a watchdog when the stop begins and ends the
    process with one line after ``stop_grace_s``; what was not committed is re-read after
    the restart (at-least-once), as after a crash. Pinned by ``tests/integration/
    test_sigterm.py`` (worker, broker gone: it would exceed the bound without it).
W11 -- a thread crash printed as a traceback. Stopping with the brokers gone cancels
    aiokafka's pending fetch in Faust's consumer thread; mode 0.4 reports that as a crash
    with ``traceback.print_exc`` to stderr, and Python prints the thread's death too.
    :func:`one_line_thread_crashes` makes both one log line (the traceback at DEBUG); the
    same test asserts no traceback.

Not here, though Faust-specific (a module of its own, pinned to the same version):
``streams.run_transport`` replaces Faust's per-record delivery with one event per fetched
run (a transport, not a patch: ~300 µs per record in Faust's stream machinery), fixes
its drain loop moving the read offset for a stale message, delivers a run in place rather
than through ``wait_first`` while the flow runs, and pauses in aiokafka the changelog
partitions Faust pauses only in its own bookkeeping (each fetched-but-never-taken result
stopped every fetch from the broker for 100 ms). The fetch max wait that Faust's aiokafka driver
hard-codes (1,500 ms) and the recovery highwaters it reads with ListOffsets are harmless
against Kafka and wrong only against the embedded Tansu broker, so they are patched, only
for Tansu, in ``echoarb.kafka.tansu_compat`` (gaps 1 and 6) and pinned by its tests.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable
from importlib.metadata import version
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition

from echoarb.kafka import client_config, resets
from echoarb.settings import Settings
from streams.offsets import OffsetGate, Verdict
from streams.run_transport import records_of

FAUST_VERSION = "0.15.3"

_installed = version("faust-streaming")
if _installed != FAUST_VERSION:  # pragma: no cover - exercised by upgrading Faust
    raise ImportError(
        f"streams.faust_compat works around faust-streaming {FAUST_VERSION} internals; "
        f"{_installed} is installed. Re-run tests/integration/test_faust_compat.py against it "
        "and update the workarounds (and FAUST_VERSION) before using it."
    )

log = logging.getLogger("echoarb.worker")

#: ``faust.App`` settings the workarounds need (W5).
APP_OPTIONS: dict[str, Any] = {"stream_wait_empty": False}

#: A second seek to the same offset within this long is the rest of one stale fetch (W1).
RESEEK_DEBOUNCE_S = 0.05
#: A seek whose re-fetch was overtaken by more stale records is repeated after this long.
RESEEK_RETRY_S = 0.5
#: A partition below its high watermark that passed no record for this long is sought back (W8).
STALL_S = 2.0


def forget_gap(consumer: Any, tp: Any) -> None:
    """W2: drop Faust's record of a jump so it is not committed as acked."""
    consumer._gap.pop(tp, None)


def ack_current(app: faust.App, events: Iterable[Any]) -> None:
    """W4: ack only the events fetched in the current generation."""
    generation = app.consumer_generation_id
    for event in events:
        if event.message.generation_id == generation:
            event.ack()


def tables_recovered(app: faust.App) -> bool:
    """W6: table recovery finished and is not running again."""
    recovery = app.tables.recovery  # type: ignore[attr-defined]
    return bool(recovery.completed.is_set() and not recovery.in_recovery)


def in_stream_iteration() -> bool:
    """W7: a windowed-table key may be written (there is a current event to take its partition from)."""
    return faust.current_event() is not None


class Sequencer:
    """W1-W3: each generation, a partition's records reach the agent once, in offset order.

    ``accept`` is called for every event the stream yields (a run of records with
    ``streams.run_transport``, else one record); it returns the records to process, the
    others will come again or came already. Not thread-safe: the agent's task only.
    """

    def __init__(self, app: faust.App, settings: Settings, *, embedded_broker: bool) -> None:
        self.app = app
        self._settings = settings
        self._bootstrap = settings.kafka_bootstrap
        self._embedded = embedded_broker
        self.gate = OffsetGate()
        self._generation: int | None = None
        self.assignments = 0
        self._epoch: tuple[int, int] | None = None
        self._reseeks: dict[Any, tuple[int | None, float]] = {}
        #: W8: when each partition last passed a record (or was sought), this generation.
        self._progress: dict[Any, float] = {}
        self._generation_at = time.monotonic()
        self._offsets_client: AIOKafkaConsumer | None = None
        self._committed_seen: dict[Any, int | None] = {}  # where each partition last started
        self.stale_skipped = 0
        self.repeats_skipped = 0
        self.reseeks = 0
        self.stalls = 0

    async def accept(self, message: Any) -> list[Any]:
        """The records of ``message`` (a run, or one record) to process: each once, in offset
        order from the committed offset; repeats are skipped, a jump ahead seeks back."""
        generation = message.generation_id
        if generation != self.app.consumer_generation_id:
            self.stale_skipped += 1  # W3: fetched before the last rebalance
            return []
        self._sync_generation(generation)
        tp = message.tp
        if not self.gate.known(tp):
            committed = await self._committed(tp)
            if generation != self.app.consumer_generation_id:
                return []
            if not self.gate.known(tp):  # check_stalls() may have started it meanwhile
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
                await self.seek_back(tp, record.offset)
                break  # the rest of the run is ahead too
        if accepted:
            self._progress[tp] = time.monotonic()
        return accepted

    def on_assigned(self) -> None:
        """An assignment: every partition starts again from its committed offset, even when the
        group's generation id repeats (a cluster that came back empty counts from 1 again)."""
        self.assignments += 1

    def _sync_generation(self, generation: int) -> None:
        """A new generation: every partition starts again from its committed offset."""
        epoch = (generation, self.assignments)
        if self._epoch != epoch:
            self._epoch = epoch
            self.gate.reset()
            self._reseeks.clear()
            self._progress.clear()
            self._generation = generation
            self._generation_at = time.monotonic()

    def caught_up(self, tp: Any) -> bool:
        """Live merge: has this worker read ``tp`` up to the high watermark of its newest fetch
        (nothing more that Kafka already holds)? Reads Faust's private committed offsets."""
        consumer: Any = self.app.consumer
        try:
            highwater = consumer.highwater(tp)
        except Exception:  # not assigned (any more)
            return False
        if highwater is None:
            return False  # no fetch answered yet
        gate = self.gate
        position = gate.expected(tp) if gate.known(tp) else consumer._committed_offset.get(tp)
        return bool((position or 0) >= highwater)

    async def _committed(self, tp: Any) -> int | None:
        """Where the group resumes ``tp``; one line if that went back (``echoarb.kafka.resets``)."""
        committed = await self._read_committed(tp)
        known = self._committed_seen.get(tp)
        if resets.went_back(known, committed):  # the cluster lost the group's offsets
            assert known is not None
            resets.report("worker", [(tp.topic, tp.partition, known, committed)])
            self._committed_seen.pop(tp, None)
        self.note_commits([tp], committed)
        return committed

    def note_commits(self, tps: Iterable[Any], start: int | None = None) -> None:
        """Remember the highest offset committed per partition (Faust's private
        ``_committed_offset``, which it forgets on revoke): the yardstick of ``_committed``."""
        faust_committed = getattr(self.app.consumer, "_committed_offset", {})
        for tp in tps:
            offset = max(start or 0, faust_committed.get(tp) or 0)
            if offset > (self._committed_seen.get(tp) or 0):
                self._committed_seen[tp] = offset

    async def _read_committed(self, tp: Any) -> int | None:
        """Read by a client of our own (not the group member)."""
        if self._offsets_client is None:
            client = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                group_id=self.app.conf.id,
                enable_auto_commit=False,
                **client_config.consumer(self._embedded, self._settings),
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

    async def seek_back(self, tp: Any, got: int | None = None) -> None:
        """W1/W2: a record from a fetch issued before Faust's seek: fetch the skipped range again."""
        expected = self.gate.expected(tp)
        consumer: Any = self.app.consumer
        forget_gap(consumer, tp)
        now = time.monotonic()
        last = self._reseeks.get(tp)
        if last is not None and last[0] == expected and now - last[1] < RESEEK_DEBOUNCE_S:
            return  # the rest of one stale fetch; retry_seeks seeks again if nothing moves
        self._reseeks[tp] = (expected, now)
        self.reseeks += 1
        (log.info if last is None else log.debug)(
            "%s: got offset %s, expected %s: seeking back", tp, got, expected
        )
        # seek_wait runs in the consumer's thread and resets Faust's read offset with it.
        await consumer.seek_wait({tp: expected or 0})

    async def check_stalls(self, now: float, assigned: Iterable[Any], topics: frozenset[str]) -> None:
        """W8: seek back a partition of ``topics`` that is below its fetched high watermark and
        passed nothing for :data:`STALL_S` (its fetched records were dropped). Timer."""
        self._sync_generation(self.app.consumer_generation_id)
        consumer: Any = self.app.consumer
        for tp in assigned:
            if tp.topic not in topics or tp in self._reseeks:
                continue  # a seek of its own is being retried (retry_seeks)
            if now - self._progress.get(tp, self._generation_at) < STALL_S:
                continue
            try:
                highwater = consumer.highwater(tp)
            except Exception:  # not assigned (any more)
                continue
            if highwater is None:
                continue  # no fetch answered yet
            if not highwater:
                continue  # empty partition
            if not self.gate.known(tp):
                committed = await self._committed(tp)
                if self._generation != self.app.consumer_generation_id:
                    return  # a rebalance while reading the commit: the next timer pass starts over
                if not self.gate.known(tp):  # accept() may have started it meanwhile
                    self.gate.start(tp, committed)  # what accept() does for its first record
            position = self.gate.expected(tp)
            if (position or 0) >= highwater:
                continue  # read up to the end: quiet, not stalled
            self._progress[tp] = now  # one seek per STALL_S at most
            self.stalls += 1
            log.info(
                "%s: nothing passed for %.1fs below the high watermark %d (at %s): seeking back",
                tp,
                STALL_S,
                highwater,
                position,
            )
            forget_gap(consumer, tp)
            await consumer.seek_wait({tp: position or 0})

    async def retry_seeks(self, now: float, assigned: set[Any]) -> None:
        """A seek whose re-fetch was overtaken by more stale records: seek again (timer)."""
        if not self._reseeks or self._generation != self.app.consumer_generation_id:
            return
        for tp, (expected, at) in list(self._reseeks.items()):
            if self.gate.expected(tp) != expected:
                del self._reseeks[tp]  # records flow again from the expected offset
            elif now - at >= RESEEK_RETRY_S and tp in assigned:
                await self.seek_back(tp)


class BoundedStopWorker(faust.Worker):
    """W10: ``faust.Worker`` plus a stop deadline; a clean stop that finishes in time is untouched."""

    def __init__(self, *args: Any, stop_grace_s: float = 10.0, **kwargs: Any) -> None:
        one_line_thread_crashes()
        super().__init__(*args, **kwargs)
        self._stop_grace_s = stop_grace_s
        self._watchdog: threading.Timer | None = None

    def _schedule_shutdown(self, signum: signal.Signals) -> None:
        if self._watchdog is None:
            # Stopping with the brokers gone kills Faust's consumer thread with aiokafka's
            # pending fetch error; Python would print that thread's traceback to stderr.
            threading.excepthook = _one_line_thread_death
            self._watchdog = threading.Timer(self._stop_grace_s, self._give_up, args=(signum,))
            self._watchdog.daemon = True
            self._watchdog.start()
        super()._schedule_shutdown(signum)

    def _give_up(self, signum: signal.Signals) -> None:
        # One line, flushed, then out: no traceback, no hung process. Uncommitted input is
        # re-consumed by whoever takes the partitions (at-least-once).
        print(
            f"echoarb: worker did not stop within {self._stop_grace_s:g}s of {signum.name} "
            "(brokers unreachable?); exiting without a final commit",
            file=sys.stderr,
            flush=True,
        )
        os._exit(128 + int(signum))


def _one_line_thread_death(args: threading.ExceptHookArgs) -> None:
    name = args.thread.name if args.thread is not None else "?"
    log.error("thread %s ended with %s: %s", name, args.exc_type.__name__, args.exc_value)
    log.debug("thread death", exc_info=args.exc_value)


def one_line_thread_crashes() -> None:
    """W11: make mode's ``ServiceThread.on_crash`` log one line instead of printing a traceback.

    When the brokers are gone, stopping Faust's consumer thread cancels aiokafka's pending
    fetch, and mode 0.4 reports that as a thread crash with ``traceback.print_exc`` straight
    to stderr. The crash is expected during such a stop; the line keeps what happened and
    the traceback stays available at DEBUG.
    """
    from mode.threads import ServiceThread

    if getattr(ServiceThread.on_crash, "_echoarb_one_line", False):
        return

    def on_crash(self: ServiceThread, msg: str, *fmt: Any, **kwargs: Any) -> None:
        exc = sys.exc_info()[1]
        log.error("%s (%s)", msg.format(*fmt), type(exc).__name__ if exc else "no exception")
        log.debug("thread crash", exc_info=exc)

    on_crash._echoarb_one_line = True  # type: ignore[attr-defined]
    ServiceThread.on_crash = on_crash  # type: ignore[method-assign]
