"""A faust-streaming transport that hands an agent one event per fetched run of records.

Why: faust-streaming spends ~300 µs on every Kafka record before user code runs (the
consumer's drain loop awaits ``Conductor.on_message`` per record, then the channel queue,
the stream iteration and the per-event ack). At the worker's input rates that, not the
edge engine, is the ceiling. Everything else Faust gives (agents, changelog tables, web
views, assignment and rebalancing) is kept; only the per-record delivery is replaced.

What: the driver registered for :data:`SCHEME` (``kafka-runs://host:port``) is Faust's
aiokafka driver with one consumer change. For the topics named with :func:`deliver_runs`,
``getmany`` turns the records fetched for one topic-partition into ONE
:class:`RunMessage` (its ``offset`` is the run's last offset, ``records`` all of them, in
offset order); records of every other topic (table changelogs during recovery, ...) are
delivered one by one exactly as upstream. Acking a run acks every offset from its first to
its last, so commits move to the run's last offset only once the whole run is processed
(the agent decides when: ``streams.app`` acks after the run's outputs are delivered).
The drain loop is upstream's with the read-offset and gap bookkeeping done per run (a run
is not a gap in itself), and one fix: a message fetched before the last rebalance is
dropped without moving the partition's read offset (upstream moves it, and then drops the
re-fetched records of the new generation below it: a partition that goes quiet right after
a rebalance is never read again).

Changelog partitions that Faust pauses (a table's, once recovered) are paused in aiokafka
too: upstream pauses them only in its own bookkeeping, aiokafka goes on fetching them, and
each fetched-but-never-taken result stops all fetching from that broker for 100 ms
(:meth:`Consumer._fetching`).

The consumer itself runs on the worker's event loop (:class:`SameLoopConsumerThread`),
not in the thread Faust's aiokafka driver gives it: no cross-thread hand-off per fetch, no
GIL ping-pong between a busy agent and an I/O-bound consumer thread.

Pinned to faust-streaming :data:`FAUST_VERSION`: ``_drain_messages``, ``getmany`` and the
ack bookkeeping follow its ``faust/transport/consumer.py`` line for line; importing this
module under another version raises (``tests/streams/test_run_transport.py`` pins it).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, cast

import faust
from aiokafka import TopicPartition
from faust.transport import drivers
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as upstream
from faust.types import TP, ConsumerMessage
from faust.types import tuples as faust_tuples
from mode import Service
from mode.utils.futures import maybe_async, notify

FAUST_VERSION = "0.15.3"
SCHEME = "kafka-runs"

if faust.__version__ != FAUST_VERSION:  # pragma: no cover - exercised by the pin test
    raise ImportError(
        f"streams.run_transport follows faust-streaming {FAUST_VERSION}'s consumer internals; "
        f"found {faust.__version__}: re-check Consumer._drain_messages/getmany/ack and update the pin"
    )

_ACK_LOCK: Any = getattr(faust_tuples, "ack_lock", None) or contextlib.nullcontext()
_RUN_TOPICS: weakref.WeakKeyDictionary[Any, frozenset[str]] = weakref.WeakKeyDictionary()


def deliver_runs(app: faust.App, topics: Iterable[str]) -> None:
    """Deliver the records of ``topics`` to ``app``'s agents as runs (other topics: per record)."""
    _RUN_TOPICS[app] = frozenset(topics)


def broker_url(bootstrap: str) -> str:
    """The ``broker`` setting that selects this transport for ``host:port[,host:port]``."""
    return ";".join(f"{SCHEME}://{host}" for host in bootstrap.split(","))


def register() -> None:
    """Make :data:`SCHEME` URLs resolve to :class:`Transport` (idempotent)."""
    drivers.TRANSPORTS.aliases[SCHEME] = f"{__name__}:Transport"


class RunMessage(ConsumerMessage):
    """One fetched run of a topic-partition: ``offset`` is the last record's, ``first_offset``
    the first's; ``key``/``value`` are the last record's (what Faust's conductor decodes)."""

    __slots__ = ("first_offset", "highwater", "records")

    def __init__(
        self, *args: Any, first_offset: int, records: Sequence[Any], highwater: int | None, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.first_offset = first_offset
        self.records = records
        #: The partition's high watermark in the fetch that returned the run (None: unknown).
        self.highwater = highwater

    def narrow(self, first: int, last: int) -> None:
        """Ack only ``first..last`` (the records the agent accepted; the rest are re-fetched)."""
        self.first_offset = first
        self.offset = last

    def on_final_ack(self, consumer: Any) -> bool:
        return ack_run(consumer, self)

    def __repr__(self) -> str:
        return f"<RunMessage: {self.tp} offsets={self.first_offset}..{self.offset}>"


def records_of(message: Any) -> Sequence[Any]:
    """The records an event carries: a run's, or the message itself (same attributes:
    ``offset``, ``key``, ``value``, ``headers``) when it came through the upstream driver."""
    if isinstance(message, RunMessage):
        return message.records
    return (message,)


def ack_run(consumer: Any, message: RunMessage) -> bool:
    """Upstream ``Consumer.ack`` for every offset ``first_offset..offset`` of a run."""
    with _ACK_LOCK:
        if message.acked:
            return False
        message.acked = True
        tp = message.tp
        if not consumer.app.topics.acks_enabled_for(message.topic):
            return False
        try:
            committed = consumer._committed_offset[tp]
            start = message.first_offset if committed is None else max(message.first_offset, committed)
            index = consumer._acked_index[tp]
            new = [offset for offset in range(start, message.offset + 1) if offset not in index]
            if not new:
                return False
            consumer._unacked_messages.discard(message)
            index.update(new)
            consumer._acked[tp].extend(new)
            consumer._n_acked += len(new)
            return True
        finally:
            notify(consumer._waiting_for_ack)


class _SameLoopWorker:
    """Stands in for mode's ``WorkerThread``: runs the service on the caller's loop, as a task."""

    def __init__(self, service: Any) -> None:
        self.service = service
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = self.service.parent_loop.create_task(self._serve(), name="aiokafka-consumer")

    async def _serve(self) -> None:
        try:
            await self.service._serve()
        except Exception:
            # mode's thread does the same: its _serve() already reported the crash.
            self.service.set_shutdown()

    def stop(self) -> None:
        """Nothing to join: the task ends with the service (``ServiceThread.stop`` waits for it)."""

    def is_alive(self) -> bool:
        return self.task is not None and not self.task.done()


class SameLoopConsumerThread(upstream.AIOKafkaConsumerThread):
    """Faust's consumer "thread" run on the worker's own event loop, without a thread.

    Why: with the consumer in its own thread, every fetch crosses threads twice (method
    queue, then the result) and the two threads take turns on the GIL: an I/O-bound thread
    waiting for a busy one gets the GIL back only every switch interval (5 ms), several times
    per fetch. On one loop a fetch is handed over with a plain ``await``, as in a bare aiokafka
    loop. What the thread bought upstream (heartbeats while an agent blocks the loop) is not
    needed here: aiokafka heartbeats from its own task and the agent never blocks for long.
    """

    def __init__(self, consumer: Any, **kwargs: Any) -> None:
        loop = kwargs.pop("loop", None) or asyncio.get_event_loop_policy().get_event_loop()
        super().__init__(consumer, loop=loop, thread_loop=loop, Worker=_SameLoopWorker, **kwargs)

    async def call_thread(self, fun: Any, *args: Any, **kwargs: Any) -> Any:
        # Same loop: no method queue, no cross-thread future (the queue, too, accepts plain
        # functions: aiokafka's subscribe() is one).
        return await maybe_async(fun(*args, **kwargs))

    async def cast_thread(self, fun: Any, *args: Any, **kwargs: Any) -> None:
        await maybe_async(fun(*args, **kwargs))

    async def on_thread_started(self) -> None:
        """No method queue to start (``call_thread`` awaits directly)."""

    async def _gather_remaining_tasks(self) -> None:
        """Upstream cancels every task left on the thread's loop: here that is the app's loop."""

    def _stopped_set(self) -> None:
        self._stopped.set()

    def set_shutdown(self) -> None:
        self._shutdown.set()


class Consumer(upstream.Consumer):
    """Faust's aiokafka consumer, delivering runs for the topics of :func:`deliver_runs`,
    with its consumer on the worker's event loop (:class:`SameLoopConsumerThread`)."""

    def _new_consumer_thread(self) -> upstream.AIOKafkaConsumerThread:
        return SameLoopConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def pause_partitions(self, tps: Iterable[TP]) -> None:
        """Upstream, and a changelog partition is paused in aiokafka too (see :meth:`_fetching`)."""
        tpset = set(tps)
        super().pause_partitions(tpset)
        self._fetching(tpset, False)

    def resume_partitions(self, tps: Iterable[TP]) -> None:
        tpset = set(tps)
        super().resume_partitions(tpset)
        self._fetching(tpset, True)

    def _fetching(self, tps: set[TP], fetch: bool) -> None:
        """Stop (or restart) aiokafka fetching the changelog partitions among ``tps``.

        Why: Faust's ``pause_partitions`` only takes a partition out of the set its ``getmany``
        drains; aiokafka goes on fetching it. A table's changelog partitions are paused that way
        once recovery is done, and every checkpoint writes to them, so their fetched records sit
        in aiokafka's buffer, never taken. A fetch result left there keeps aiokafka from sending
        ANY fetch to that broker for its ``prefetch_backoff`` (100 ms): measured at 250 ticks/s,
        one such stall per changelog partition after each assignment, which made the p90 of
        publish -> record in the agent 70 ms instead of 14 ms. Paused in aiokafka too, the
        partition is not fetched at all (aiokafka drops what it had buffered for it); resumed,
        it is fetched again from its position, as recovery and standbys need.
        """
        changelog = [TopicPartition(tp.topic, tp.partition) for tp in tps if self._is_changelog_tp(tp)]
        if not changelog:
            return
        try:
            consumer = self._thread._ensure_consumer()
        except Exception:  # not started yet: nothing is fetched
            return
        assigned = consumer.assignment()
        changelog = [tp for tp in changelog if tp in assigned]
        if changelog:
            (consumer.resume if fetch else consumer.pause)(*changelog)

    def _to_run(self, tp: TP, records: Sequence[Any], highwater: int | None) -> RunMessage:
        last = records[-1]
        timestamp = None if last.timestamp is None else last.timestamp / 1000.0
        return RunMessage(
            last.topic,
            last.partition,
            last.offset,
            cast(float, timestamp),
            last.timestamp_type,
            last.headers,
            last.key,
            last.value,
            last.checksum,
            last.serialized_key_size,
            last.serialized_value_size,
            tp,
            generation_id=self.app.consumer_generation_id,
            first_offset=records[0].offset,
            records=records,
            highwater=highwater,
        )

    def _safe_highwater(self, tp: TP) -> int | None:
        try:
            return int(self.highwater(tp))
        except Exception:  # not assigned any more, or no fetch answered yet
            return None

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Any]]:
        """Upstream ``Consumer.getmany``; run topics yield one :class:`RunMessage` per partition."""
        records, active_partitions = await self._wait_next_records(timeout)
        generation_id = self.app.consumer_generation_id
        if records is None or self.should_stop:
            return
        if not self.flow_active:
            self.log.dev("getmany called while flow not active. Seek back to committed offsets.")
            try:
                await self.perform_seek()
            except Exception as ex:
                self.log.warning(f"exception performing seek when flow not active {ex}")
            return
        run_topics = _RUN_TOPICS.get(self.app, frozenset())
        singles = {tp: recs for tp, recs in records.items() if tp.topic not in run_topics}
        monitor = self.app.monitor
        buffered = self._buffered_partitions
        for tp, recs in records.items():
            if tp.topic not in run_topics or not recs:
                continue
            if not self.flow_active or self.app.consumer_generation_id != generation_id:
                return
            if active_partitions is None or tp in active_partitions or tp in buffered:
                highwater = self._safe_highwater(tp)
                monitor.track_tp_end_offset(tp, highwater if highwater is not None else recs[-1].offset + 1)
                yield tp, self._to_run(tp, recs, highwater)
        to_message = self._to_message
        for tp, record in self.scheduler.iterate(singles):
            if not self.flow_active or self.app.consumer_generation_id != generation_id:
                break
            if active_partitions is None or tp in active_partitions or tp in buffered:
                monitor.track_tp_end_offset(tp, self.highwater(tp))
                yield tp, to_message(tp, record)

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - the fetcher task
        """Upstream's drain loop; read offsets and gaps are tracked per run (first..last offset)."""
        callback = self.callback
        getmany = self.getmany
        consumer_should_stop = cast(Service, self)._stopped.is_set
        fetcher_should_stop = cast(Service, fetcher)._stopped.is_set
        get_read_offset = self._read_offset.__getitem__
        set_read_offset = self._read_offset.__setitem__
        flag_consumer_fetching = CONSUMER_FETCHING
        set_flag = self.diag.set_flag
        unset_flag = self.diag.unset_flag
        commit_every = self._commit_every
        acks_enabled_for = self.app.topics.acks_enabled_for
        yield_every = 100
        suspended = self.suspend_flow.is_set
        num_since_yield = 0
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(flag_consumer_fetching)
                ait = getmany(timeout=1.0)
                await self.sleep(0)
                if not self.should_stop:
                    async for tp, message in ait:
                        num_since_yield += 1
                        if num_since_yield > yield_every:
                            await asyncio.sleep(0)
                            num_since_yield = 0
                        if message.generation_id != self.app.consumer_generation_id:
                            # Fetched before the last rebalance: its records are re-read from the
                            # committed offset, so it must not move the read offset past them.
                            continue
                        last = message.offset
                        r_offset = get_read_offset(tp)
                        if isinstance(message, RunMessage):
                            if r_offset is not None and message.first_offset < r_offset:
                                # Upstream drops records below the read offset one by one.
                                kept = [r for r in message.records if r.offset >= r_offset]
                                if not kept:
                                    continue
                                message.records = kept
                                message.first_offset = kept[0].offset
                            first = message.first_offset
                        else:
                            first = last
                            if r_offset is not None and last < r_offset:
                                self.log.dev("DROPPED MESSAGE ROFF %r", last)
                                continue
                        gap = first - (r_offset or 0)
                        if gap > 1 and r_offset and acks_enabled_for(message.topic):
                            await self._add_gap(tp, r_offset + 1, first)
                        if commit_every is not None and self._n_acked >= commit_every:
                            self._n_acked = 0
                            await self.commit()
                        if suspended():
                            await self.wait_first(callback(message), self.suspend_flow.wait())
                        else:
                            # Upstream always races the delivery against a flow suspension
                            # (and the service's stop and crash events): four tasks per
                            # delivery, three cancelled, and two or three turns of the loop
                            # before the next run of the fetch is handed over. With the flow
                            # running, the delivery is awaited in place; a suspension that
                            # comes while it waits for room in the channel holds it until the
                            # flow resumes (its stale records are skipped, see
                            # streams.faust_compat W3), and a stop cancels it.
                            await callback(message)
                        if message.generation_id == self.app.consumer_generation_id:
                            set_read_offset(tp, last)
                    unset_flag(flag_consumer_fetching)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            unset_flag(flag_consumer_fetching)


class Transport(upstream.Transport):
    """Faust's aiokafka transport with the run-delivering :class:`Consumer`."""

    Consumer = Consumer
