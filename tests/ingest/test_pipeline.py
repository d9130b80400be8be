"""The shared frame -> tick -> batch pipeline, in-process (``MemorySink``): no Kafka needed."""

from __future__ import annotations

from echoarb.ingest.batching import END_OF_TIME
from echoarb.ingest.pipeline import FramePipeline, MemorySink, frame_handler, tick_batcher
from echoarb.pairs import load_pairs
from echoarb.settings import Settings
from echoarb.venues.recording import read_recording
from tests.paths import PAIRS, SAMPLE


async def _run(**overrides: object) -> tuple[FramePipeline, MemorySink]:
    settings = Settings(pairs_file=PAIRS, partitions=4, **overrides)  # type: ignore[arg-type]
    pairs = load_pairs(PAIRS)
    sink = MemorySink(tick_batcher(settings, pairs), linger_ms=settings.batch_linger_ms)
    pipeline = FramePipeline(frame_handler(settings, pairs), sink)
    for frame in read_recording(SAMPLE):
        await pipeline.feed(frame)
    await sink.flush(end_of_stream=True)
    return pipeline, sink


async def test_sample_through_the_pipeline_in_memory() -> None:
    pipeline, sink = await _run()
    stats = pipeline.stats
    assert (stats.frames, stats.parse_errors) == (3000, 5)  # what the replay e2e test sees
    assert len(sink.dead_letters) == 5 and all(reason for _, _, reason, _ in sink.dead_letters)
    assert stats.ticks == sink.ticks_sent == sum(len(b.ticks) for b in sink.batches) > 1000
    assert sink.records_sent == len(sink.batches)
    # Every stream ends with an end-of-stream batch, and the watermark promise holds: a
    # batch's ticks are all later than the previous batch's watermark on that stream.
    last: dict[tuple[str, int], int] = {}
    for batch in sink.batches:
        stream = (batch.venue, batch.partition)
        assert all(t.recv_ts > last.get(stream, -1) for t in batch.ticks), stream
        assert batch.watermark >= last.get(stream, -1)
        last[stream] = batch.watermark
    assert set(last.values()) == {END_OF_TIME}
    assert all(b.end_of_stream for b in sink.batches if b.watermark == END_OF_TIME)


async def test_batching_does_not_change_the_ticks() -> None:
    """One tick per batch or up to 200: the same ticks in the same order per stream."""
    _, big = await _run()
    _, small = await _run(batch_max_ticks=1, batch_linger_ms=0)
    assert len(small.batches) > len(big.batches)

    def per_stream(sink: MemorySink) -> dict[tuple[str, int], list[object]]:
        out: dict[tuple[str, int], list[object]] = {}
        for batch in sink.batches:
            out.setdefault((batch.venue, batch.partition), []).extend(batch.ticks)
        return out

    assert per_stream(small) == per_stream(big)
