"""The live publish loop sends a lingering batch when its linger ends, not at the next heartbeat."""

from __future__ import annotations

import asyncio

from bench.common import pairs_config
from echoarb.ingest.batching import TickBatcher
from echoarb.ingest.frames import FrameHandler
from echoarb.ingest.live import BufferedIngest
from echoarb.ingest.pipeline import MemorySink
from echoarb.pairs import parse_pairs
from echoarb.partitioning import venue_streams
from echoarb.venues.sample import generate_recording


async def test_quiet_feed_tick_is_sent_after_the_linger_not_the_heartbeat() -> None:
    raw = pairs_config(3)
    config = parse_pairs(raw)
    sink = MemorySink(TickBatcher(4, venue_streams(config, 4)), linger_ms=5)
    # A heartbeat far beyond the test: only the linger can send the batch.
    ingest = BufferedIngest(FrameHandler(config), sink, heartbeat_ms=600_000)
    loop = asyncio.create_task(ingest.run())
    try:
        probe = FrameHandler(config)
        frame = next(
            f
            for f in generate_recording(raw, frames=100, seed=3)
            if probe.handle(f.venue, f.frame, f.recv_ts, source=f.source, path=f.path).ticks
        )
        await ingest.on_frame(frame)
        async with asyncio.timeout(30):
            while not any(b.ticks for b in sink.batches):
                await asyncio.sleep(0.01)
        sent = [t for b in sink.batches for t in b.ticks]
        assert sent and all(t.recv_ts == frame.recv_ts for t in sent)
        # The watermark moved past the tick (nothing else queued), so even a strict merge can
        # release it without waiting for a heartbeat.
        assert all(b.watermark >= frame.recv_ts for b in sink.batches if b.ticks)
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
