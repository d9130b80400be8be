"""Each test pins one faust-streaming behaviour that ``streams.faust_compat`` works around.

As in ``test_tansu_compat.py``, the "raw" assertions document Faust's behaviour itself: if
a Faust upgrade changes it they fail, and the matching workaround (W1..W7 in the module
docstring) can be revisited. The others fail without the workaround.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import faust
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from faust.tables.recovery import Recovery
from faust.types import TP, Message

from echoarb.kafka import tansu_compat
from echoarb.kafka.embedded import EmbeddedBroker, create_topics
from echoarb.settings import Settings
from streams import faust_compat


def _app(**options: Any) -> faust.App:
    # Never started: these tests read and drive Faust's consumer bookkeeping directly.
    return faust.App(
        f"compat-{uuid.uuid4().hex[:6]}", broker="kafka://127.0.0.1:1", web_enabled=False, **options
    )


def test_the_pinned_faust_version_is_installed() -> None:
    from importlib.metadata import version

    assert version("faust-streaming") == faust_compat.FAUST_VERSION == "0.15.3"


# -- W1: resume before seek; seek_wait resets the read offset ---------------------------------
def test_recovery_resumes_stream_partitions_before_seeking_them() -> None:
    """The origin of the late seek: every resume path calls resume_partitions, then perform_seek."""
    for name in ("_resume_streams", "on_recovery_completed"):
        source = inspect.getsource(getattr(Recovery, name))
        assert source.index("consumer.resume_partitions(") < source.index("consumer.perform_seek()"), name


@pytest.mark.asyncio
async def test_seek_wait_resets_fausts_read_offset_a_plain_seek_does_not(broker: EmbeddedBroker) -> None:
    """Faust drops any offset below its read offset as seen: the seek back must move it too."""
    topic = f"w1-{uuid.uuid4().hex[:8]}"
    await create_topics(broker.bootstrap, {topic: 1})
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, **tansu_compat.aiokafka_producer_kwargs())
    await producer.start()
    try:
        for _ in range(60):
            await producer.send(topic, b"x", partition=0)
        await producer.flush()
    finally:
        await producer.stop()
    app = faust.App(f"w1-{uuid.uuid4().hex[:6]}", broker=f"kafka://{broker.bootstrap}", web_enabled=False)
    tp = TP(topic, 0)
    consumer: Any = app.consumer
    client = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, **tansu_compat.aiokafka_consumer_kwargs())
    await client.start()
    try:
        client.assign([tp])
        consumer._read_offset[tp] = 50  # what _drain_messages set from the stale fetch
        client.seek(tp, 45)
        assert consumer._read_offset[tp] == 50  # raw: 45..49 would be dropped as already seen
        await consumer._thread._seek_wait(client, {tp: 45})  # what Consumer.seek_wait runs
        assert consumer._read_offset[tp] == 45
        assert await client.position(tp) == 45
    finally:
        await client.stop()


@dataclass
class _FakeConsumer:
    """Faust consumer surface the sequencer touches: its ``_gap`` and ``seek_wait``."""

    seeks: list[dict[Any, int]] = field(default_factory=list)
    _gap: dict[Any, Any] = field(default_factory=dict)
    highwaters: dict[Any, int | None] = field(default_factory=dict)

    async def seek_wait(self, partitions: dict[Any, int]) -> None:
        self.seeks.append(dict(partitions))

    def highwater(self, tp: Any) -> int | None:
        return self.highwaters[tp]


class _FakeApp:
    def __init__(self) -> None:
        self.consumer = _FakeConsumer()
        self.consumer_generation_id = 1


TICKS = TP("ticks.kalshi", 3)


def _message(offset: int, generation: int = 1, tp: TP = TICKS) -> Message:
    return Message(tp.topic, tp.partition, offset, 0.0, 0, None, b"k", b"v", None, generation_id=generation)


async def _sequencer(committed: int | None) -> tuple[faust_compat.Sequencer, _FakeApp]:
    app = _FakeApp()
    seq = faust_compat.Sequencer(app, Settings(), embedded_broker=True)  # type: ignore[arg-type]

    async def committed_offset(tp: Any) -> int | None:
        return committed

    seq._committed = committed_offset  # type: ignore[method-assign]
    return seq, app


@pytest.mark.asyncio
async def test_sequencer_makes_a_late_seek_contiguous_from_the_commit() -> None:
    seq, app = await _sequencer(committed=45)
    tp = TP("ticks.kalshi", 3)
    app.consumer._gap[tp] = "jump 46..48 counted as acked"
    # The stale fetch first (48, 49), then the re-fetch from the seek (45..49), then 50.
    passed = [m.offset for m in map(_message, (48, 49, 45, 46, 47, 48, 49, 46, 50)) if await seq.accept(m)]
    assert passed == [45, 46, 47, 48, 49, 50]
    assert app.consumer.seeks == [{tp: 45}]  # one seek for one stale fetch (debounced)
    assert tp not in app.consumer._gap  # W2: forgotten
    assert (seq.reseeks, seq.repeats_skipped) == (1, 1)


@pytest.mark.asyncio
async def test_sequencer_retries_a_seek_that_was_overtaken() -> None:
    seq, app = await _sequencer(committed=10)
    tp = TP("ticks.kalshi", 3)
    assert not await seq.accept(_message(30))
    await seq.retry_seeks(time.monotonic(), {tp})  # too soon: the re-fetch may be on its way
    assert len(app.consumer.seeks) == 1
    await asyncio.sleep(faust_compat.RESEEK_DEBOUNCE_S * 2)
    await seq.retry_seeks(time.monotonic() + faust_compat.RESEEK_RETRY_S, {tp})
    assert app.consumer.seeks == [{tp: 10}, {tp: 10}]
    assert await seq.accept(_message(10))
    await seq.retry_seeks(time.monotonic() + 10, {tp})  # records flow again: no more seeks
    assert len(app.consumer.seeks) == 2


# -- W8: fetched records dropped after aiokafka moved past them ---------------------------------
@pytest.mark.asyncio
async def test_check_stalls_seeks_back_a_partition_that_stopped_below_its_high_watermark() -> None:
    """The survivor of a SIGKILL once sat at the high watermark having passed nothing (W8)."""
    seq, app = await _sequencer(committed=40)
    quiet, stalled, other = TP("ticks.kalshi", 1), TICKS, TP("pair-state-changelog", 3)
    app.consumer.highwaters.update({quiet: 40, stalled: 90, other: 500})
    topics = frozenset({"ticks.kalshi"})
    assigned = [quiet, stalled, other]
    t0 = time.monotonic()
    await seq.check_stalls(t0, assigned, topics)  # a new generation: give the fetches time
    assert app.consumer.seeks == []
    await seq.check_stalls(t0 + faust_compat.STALL_S + 0.1, assigned, topics)
    # Only the tick partition below its high watermark; the quiet one is read to its end, and
    # the changelog is not the sequencer's.
    assert app.consumer.seeks == [{stalled: 40}]
    await seq.check_stalls(t0 + faust_compat.STALL_S + 1.0, assigned, topics)
    assert len(app.consumer.seeks) == 1  # at most one seek per STALL_S
    # The re-fetch arrives: records pass, expected moves on, nothing more to seek.
    assert [m.offset for m in map(_message, range(40, 90)) if await seq.accept(m)] == list(range(40, 90))
    await seq.check_stalls(t0 + 3 * faust_compat.STALL_S, assigned, topics)
    assert app.consumer.seeks == [{stalled: 40}] and seq.stalls == 1


@pytest.mark.asyncio
async def test_check_stalls_leaves_a_partition_that_keeps_passing_records() -> None:
    seq, app = await _sequencer(committed=0)
    app.consumer.highwaters[TICKS] = 1_000  # far ahead: a backlog being read
    topics = frozenset({TICKS.topic})
    for offset in range(5):
        assert await seq.accept(_message(offset))
        await seq.check_stalls(time.monotonic() + faust_compat.STALL_S / 2, [TICKS], topics)
    assert app.consumer.seeks == []
    # It stops at 5 (what was fetched was dropped): sought back to 5, not to the commit.
    await seq.check_stalls(time.monotonic() + faust_compat.STALL_S + 0.1, [TICKS], topics)
    assert app.consumer.seeks == [{TICKS: 5}]


# -- W2: Faust counts a jump as acked ----------------------------------------------------------
async def _commit_offsets(forget: bool) -> list[int | None]:
    consumer: Any = _app().consumer
    tp = TP("t", 0)
    await consumer._add_gap(tp, 47, 51)  # what _drain_messages records when 51 follows 46
    if forget:
        faust_compat.forget_gap(consumer, tp)
    offsets = []
    for processed in (45, 46, 47, 48):  # the agent processes (and acks) up to 48 only
        consumer._acked[tp].append(processed)
        consumer._acked_index[tp].add(processed)
        offsets.append(consumer._new_offset(tp))
    offsets.extend(consumer._new_offset(tp) for _ in range(2))
    return offsets


@pytest.mark.asyncio
async def test_a_jump_is_committed_as_acked_unless_the_gap_is_forgotten() -> None:
    raw = await _commit_offsets(forget=False)
    assert max(o for o in raw if o is not None) == 52  # raw: commits past 49..51, never processed
    fixed = await _commit_offsets(forget=True)
    assert max(o for o in fixed if o is not None) == 49


# -- W3: records of an earlier generation ------------------------------------------------------
@pytest.mark.asyncio
async def test_sequencer_skips_records_fetched_before_the_rebalance() -> None:
    seq, app = await _sequencer(committed=5)
    app.consumer_generation_id = 2
    assert not await seq.accept(_message(5, generation=1))
    assert seq.stale_skipped == 1
    assert await seq.accept(_message(5, generation=2))


# -- W4: acks of an earlier generation count ---------------------------------------------------
@dataclass
class _Event:
    message: Message
    acked: bool = False

    def ack(self) -> None:
        self.acked = True


def test_faust_counts_an_ack_from_an_earlier_generation_ack_current_drops_it() -> None:
    app = _app()
    app.topics.acking_topics.add("t")  # as the conductor does for a subscribed topic
    app.consumer_generation_id = 2
    old = _message(7, generation=1, tp=TP("t", 0))
    assert app.consumer.ack(old)  # raw: counted, so committed with the new generation's offsets
    events = [
        _Event(_message(8, generation=1, tp=TP("t", 0))),
        _Event(_message(9, generation=2, tp=TP("t", 0))),
    ]
    faust_compat.ack_current(app, events)
    assert [e.acked for e in events] == [False, True]


# -- W5: stream_wait_empty ---------------------------------------------------------------------
@pytest.mark.asyncio
async def test_a_rebalance_waits_for_unacked_events_unless_stream_wait_empty_is_off() -> None:
    calls: list[str] = []

    class Consumer:
        async def wait_empty(self) -> None:  # Faust's waits until every taken event is acked
            calls.append("wait_empty")

    log = logging.getLogger("test")
    await _app()._consumer_wait_empty(Consumer(), log)  # type: ignore[arg-type]
    assert calls == ["wait_empty"]  # raw: held ticks would block the rebalance
    await _app(**faust_compat.APP_OPTIONS)._consumer_wait_empty(Consumer(), log)  # type: ignore[arg-type]
    assert calls == ["wait_empty"]


# -- W6 and W7 ---------------------------------------------------------------------------------
def test_recovered_reads_the_recovery_service() -> None:
    app = _app()
    assert not faust_compat.tables_recovered(app)
    app.tables.recovery.completed.set()  # type: ignore[attr-defined]
    assert faust_compat.tables_recovered(app)


def test_windowed_table_writes_need_a_current_event() -> None:
    app = _app()
    table = app.Table(f"w7-{uuid.uuid4().hex[:6]}", default=None, partitions=1).tumbling(60)
    assert not faust_compat.in_stream_iteration()
    with pytest.raises(RuntimeError):  # raw: what the mirror would raise from the timer
        table["pair"] = 1
