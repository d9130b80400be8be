"""``echoarb replay``: a recording through the whole pipeline, and back out of the spreads topic.

recording -> venue parsers -> Avro tick batches on ``ticks.*`` -> Faust worker (a child
process) -> ``spreads`` / ``spread-windows`` -> ClickHouse sink (in this process) and the
output file. The replay ends when the worker reports, per partition, that it processed the
end-of-stream batches (with the last offsets it wrote) and both the reader and the sink
have everything up to those offsets.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from echoarb.ingest.pipeline import FramePipeline, frame_handler
from echoarb.ingest.publisher import TickPublisher
from echoarb.kafka import aiokafka_compat, client_config
from echoarb.pairs import PairsConfig
from echoarb.partitioning import venue_streams
from echoarb.services.worker_process import WorkerProcess
from echoarb.settings import Settings
from echoarb.sink.service import SinkService
from echoarb.venues.recording import RecordingError, read_recording
from echoarb.wire.codec import CodecError, Codecs, load_codecs
from echoarb.wire.control import decode_control
from echoarb.wire.records import spread_record_to_json

log = logging.getLogger("echoarb.replay")


class ReplayError(RuntimeError):
    pass


@dataclass
class ReplayReport:
    frames: int = 0
    ticks: int = 0
    tick_records: int = 0
    parse_errors: int = 0
    bad_lines: int = 0
    spreads: int = 0
    windows: int = 0
    spreads_in_clickhouse: int = 0
    windows_in_clickhouse: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    worker_id: str = ""


class SpreadReader:
    """Reads spreads and the control topic back; collects spread events for the output file."""

    def __init__(
        self,
        bootstrap: str,
        settings: Settings,
        codecs: Codecs,
        producer_id: str,
        consumer_kwargs: dict[str, Any],
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.settings = settings
        self.codecs = codecs
        self.producer_id = producer_id
        self.on_event = on_event
        self.events: list[tuple[int, str, int, int, dict[str, Any]]] = []
        self.positions: dict[int, int] = {}  # spreads partition -> last offset read
        self.eos: dict[int, dict[str, int]] = {}  # partition -> last offsets per topic
        self.decode_errors = 0
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **consumer_kwargs,
        )
        self._changed = asyncio.Condition()

    async def run(self) -> None:
        s = self.settings
        await self._consumer.start()
        try:
            tps = [TopicPartition(s.topic_spreads, p) for p in range(s.partitions)]
            tps.append(TopicPartition(s.topic_control, 0))
            self._consumer.assign(tps)
            for tp in tps:
                self._consumer.seek(tp, 0)
            while True:
                batches = await self._consumer.getmany(timeout_ms=200, max_records=5000)
                for tp, records in batches.items():
                    for record in records:
                        self._handle(tp, record)
                if batches:
                    async with self._changed:
                        self._changed.notify_all()
        finally:
            await aiokafka_compat.stop_consumer(self._consumer)  # bounded, with the brokers gone too

    def _handle(self, tp: TopicPartition, record: Any) -> None:
        if tp.topic == self.settings.topic_control:
            try:
                marker = decode_control(self.codecs.control, record.value)
            except CodecError:
                return
            if marker is not None and marker.producer_id == self.producer_id:
                self.eos[marker.partition] = dict(marker.last_offsets)
            return
        self.positions[tp.partition] = record.offset
        try:
            raw = self.codecs.spread_event.decode(record.value)
        except CodecError:
            self.decode_errors += 1
            return
        event = spread_record_to_json(raw)
        self.events.append((event["event_ts"], event["pair_id"], tp.partition, record.offset, event))
        if self.on_event:
            self.on_event(event)

    async def wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(predicate)
        except TimeoutError:
            raise ReplayError(f"timed out after {timeout:.0f}s waiting for {what}") from None


@dataclass
class ReplayRun:
    """What a hook sees of a running replay."""

    pool: list[WorkerProcess]
    publisher: TickPublisher
    reader: SpreadReader
    timeout: float


class ReplayHooks:
    """Extension points of a replay; the defaults do nothing.

    Tests subclass it (killing a worker mid-stream, probing the workers' web views): the
    chaos lives in the tests, so nothing in the product can make a replay kill its workers.
    """

    async def after_frame(self, run: ReplayRun, frames: int) -> None:
        """After the ``frames``-th frame went into the pipeline (maybe not yet flushed)."""

    async def before_shutdown(self, run: ReplayRun) -> None:
        """Everything is processed and stored; the workers are still up."""


async def run_replay(
    settings: Settings,
    pairs: PairsConfig,
    recording: Path,
    out: Path | None,
    *,
    bootstrap: str,
    embedded_broker: bool,
    speed: float = 0.0,
    timeout: float = 300.0,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    workers: int = 1,
    hooks: ReplayHooks | None = None,
    skip_bad_lines: bool = False,
) -> ReplayReport:
    """Run the whole pipeline over ``recording``; returns counts and timings.

    ``workers`` Faust workers share the partitions; ``hooks`` run after each frame and
    before shutdown.
    """
    started = time.monotonic()
    report = ReplayReport()
    s = settings
    run_id = f"replay-{uuid.uuid4().hex[:10]}"
    codecs = load_codecs(s.schema_registry_url)
    consumer_kwargs = client_config.consumer(embedded_broker, s)
    streams = venue_streams(pairs, s.partitions)

    await client_config.ensure_topics(bootstrap, s)
    pool = [
        WorkerProcess(
            s,
            bootstrap=bootstrap,
            embedded_broker=embedded_broker,
            worker_id=f"echoarb-{run_id}",
            merge_max_wait_ms=600_000,
            merge_mode="strict",  # the same spread events at any speed and batching
            log_path=s.data_dir / "logs" / f"echoarb-{run_id}-{i}.log",
        )
        for i in range(workers)
    ]
    for worker in pool:
        worker.start()
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, **client_config.tick_producer(embedded_broker, s)
    )
    sink = SinkService(s, bootstrap, codecs, producer=producer, consumer_kwargs=consumer_kwargs)
    reader = SpreadReader(bootstrap, s, codecs, run_id, consumer_kwargs, on_event)
    tasks: list[asyncio.Task[Any]] = []
    try:
        await producer.start()
        await sink.start()
        tasks = [
            asyncio.create_task(sink.run(), name="sink"),
            asyncio.create_task(reader.run(), name="reader"),
        ]
        publisher = TickPublisher.for_settings(producer, codecs.tick_batch, s, pairs, producer_id=run_id)
        pipeline = FramePipeline(frame_handler(s, pairs), publisher)
        run = ReplayRun(pool, publisher, reader, timeout)

        # 1. Feed the recording (paced by receive time when speed > 0).
        def on_bad(error: RecordingError) -> None:
            report.bad_lines += 1
            log.warning("skipped: %s", error)

        first_recv: int | None = None
        log.info(
            "replaying %s %s: publishing its frames",
            recording,
            f"at {speed:g}x its recorded pace" if speed > 0 else "as fast as it goes",
        )
        wall0 = time.monotonic()
        for frame in read_recording(recording, on_bad=on_bad if skip_bad_lines else None):
            if first_recv is None:
                first_recv = frame.recv_ts
            if speed > 0:
                due = (frame.recv_ts - first_recv) / 1000 / speed
                ahead = due - (time.monotonic() - wall0)
                if ahead > 0.002:
                    await publisher.flush()
                    await asyncio.sleep(ahead)
            await pipeline.feed(frame)
            if hooks is not None:
                await hooks.after_frame(run, pipeline.stats.frames)
            for worker in pool:
                worker.check_alive()
        await publisher.flush(end_of_stream=True)
        report.frames, report.parse_errors = pipeline.stats.frames, pipeline.stats.parse_errors
        report.ticks, report.tick_records = publisher.ticks_sent, publisher.records_sent
        report.phases["publish"] = time.monotonic() - started
        log.info(
            "published %d frames as %d ticks in %d records (%d rejected frames); waiting for the worker",
            report.frames,
            report.ticks,
            report.tick_records,
            report.parse_errors,
        )

        # 2. Wait until the worker has processed every partition's end of stream.
        expected = set(streams)
        deadline = time.monotonic() + timeout
        while not expected <= set(reader.eos):
            for worker in pool:
                worker.check_alive()
            if time.monotonic() > deadline:
                missing = sorted(expected - set(reader.eos))
                raise ReplayError(
                    f"worker did not finish partitions {missing} within {timeout:.0f}s"
                    f" (logs: {', '.join(str(w.log_path) for w in pool)})"
                )
            try:
                await reader.wait(lambda: expected <= set(reader.eos), 1.0, "end of stream")
            except ReplayError:
                continue
        report.phases["worker"] = time.monotonic() - started

        # 3. Every worker flushed before reporting, so the output topics' ends are final now
        # (whichever worker wrote them, including one that was killed). Wait for the reader
        # and the sink to have everything up to those ends.
        output_tps = [
            TopicPartition(topic, p)
            for topic in (s.topic_spreads, s.topic_spread_windows)
            for p in range(s.partitions)
        ]
        ends = await client_config.end_offsets(bootstrap, output_tps, embedded_broker, s)
        spreads_end = {tp.partition: end for tp, end in ends.items() if tp.topic == s.topic_spreads}
        await reader.wait(
            lambda: all(reader.positions.get(p, -1) >= end - 1 for p, end in spreads_end.items()),
            timeout,
            "spread events",
        )
        targets = {tp: end for tp, end in ends.items() if end > 0}
        try:
            await sink.wait_committed(targets, timeout)
        except TimeoutError:
            raise ReplayError(f"ClickHouse sink did not commit {targets} within {timeout:.0f}s") from None
        report.phases["sink"] = time.monotonic() - started
        report.worker_id = f"echoarb-{run_id}"
        if hooks is not None:
            await hooks.before_shutdown(run)
        report.spreads = len(reader.events)
        report.windows = sum(end for tp, end in ends.items() if tp.topic == s.topic_spread_windows)
        report.spreads_in_clickhouse = sink.spreads_inserted
        report.windows_in_clickhouse = sink.windows_inserted
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await sink.stop()
        # Bounded: with the brokers gone, a plain stop waits for its undelivered tick batches for
        # the producer's whole request timeout (40 s), past a supervisor's SIGTERM grace (A3).
        # A second is enough: a replay that stops before its end has no use for them.
        await aiokafka_compat.stop_producer(producer, grace_s=1.0)
        for worker in pool:
            worker.stop()

    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as fp:
            for *_, event in sorted(reader.events, key=lambda e: e[:4]):
                fp.write(json.dumps(event, separators=(",", ":")) + "\n")
    report.seconds = time.monotonic() - started
    return report
