"""The backtest's opportunity stream is the worker's: same batches, same spread events.

``streams/app.py`` decodes each tick batch record and pushes it into
``echoarb.scan.partition.PartitionCores``; the backtest pushes the in-memory batches into its
own loop over the same merger and scanner (``echoarb.backtest.scan``). Here both get the
batches of one ingest run of the bundled sample, through the Avro codec for the worker side
as on Kafka, and must emit the same events with the same ids in the same order. A different
batching (one tick per record, a different interleaving) must not change anything either.
The comparison with a real ``echoarb replay`` over Kafka is
``tests/integration/test_backtest_vs_replay.py``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from echoarb.backtest.scan import InProcessScan
from echoarb.ingest.batching import OutBatch
from echoarb.ingest.pipeline import FramePipeline, MemorySink, frame_handler, tick_batcher
from echoarb.model import SpreadEvent
from echoarb.pairs import load_pairs
from echoarb.partitioning import venue_streams
from echoarb.scan.partition import PartitionCores
from echoarb.scan.scanner import scan_params
from echoarb.settings import Settings
from echoarb.venues.recording import read_recording
from echoarb.wire.records import spread_to_record, tick_from_record, tick_to_record
from tests.paths import PAIRS, SAMPLE


def _batches(settings: Settings) -> list[OutBatch]:
    pairs = load_pairs(PAIRS)
    sink = MemorySink(tick_batcher(settings, pairs), linger_ms=settings.batch_linger_ms)
    pipeline = FramePipeline(frame_handler(settings, pairs), sink)

    async def feed() -> None:
        for frame in read_recording(SAMPLE):
            await pipeline.feed(frame)
        await sink.flush(end_of_stream=True)

    asyncio.run(feed())
    return sink.batches


def _records(events: list[SpreadEvent]) -> list[dict[str, Any]]:
    return [{k: v for k, v in spread_to_record(e).items() if k != "computed_at"} for e in events]


def _worker(settings: Settings, batches: list[OutBatch]) -> list[SpreadEvent]:
    pairs = load_pairs(PAIRS)
    cores = PartitionCores(
        venue_streams(pairs, settings.partitions), pairs.by_id(), scan_params(settings), lambda _: None
    )
    out: list[SpreadEvent] = []
    for i, batch in enumerate(batches):
        # As the worker receives them: Avro tick records decoded back into ticks.
        ticks = [tick_from_record(tick_to_record(t)) for t in batch.ticks]
        step = cores.get(batch.partition).push([(batch.venue, batch.watermark, ticks)], 0.0, 0, i)
        out.extend(step.spreads)
    return out


def _backtest(settings: Settings, batches: list[OutBatch]) -> list[SpreadEvent]:
    scan = InProcessScan(load_pairs(PAIRS), scan_params(settings), settings.partitions)
    for batch in batches:
        scan.push(batch)
    return [e.event for e in scan.emitted]


def test_same_spread_events_as_the_worker_core() -> None:
    settings = Settings(partitions=4)
    batches = _batches(settings)
    worker = _worker(settings, batches)
    ours = _backtest(settings, batches)
    assert len(ours) == 4 and sum(e.opportunity.executable for e in ours) == 1
    assert _records(ours) == _records(worker)


def test_batching_and_partitions_do_not_change_the_events() -> None:
    reference = _records(_backtest(Settings(partitions=4), _batches(Settings(partitions=4))))
    one_tick = Settings(partitions=3, batch_max_ticks=1, batch_linger_ms=0)
    assert _records(_backtest(one_tick, _batches(one_tick))) == reference
