"""The latency bench's offered load (bench.offered): records built ahead, as the publisher sends them."""

from __future__ import annotations

import itertools

from bench.common import pairs, synthetic_ticks
from bench.offered import schedule
from echoarb.ingest.batching import TickBatcher
from echoarb.partitioning import venue_streams
from echoarb.wire.codec import load_codecs

START_MS = 1_800_000_000_000


async def test_each_tick_is_sent_once_stamped_with_its_due_time_within_one_linger() -> None:
    config = pairs(5)
    codecs = load_codecs()
    ticks = synthetic_ticks(config, 300, crossed=True, probe_every=1)
    rate, linger_ms = 2_500, 5.0
    flushes = await schedule(
        ticks,
        rate,
        START_MS,
        codec=codecs.tick_batch,
        batcher=TickBatcher(4, venue_streams(config, 4), 200),
        topics={"kalshi": "t.k", "polymarket": "t.p", "manifold": "t.m"},
        producer_id="bench",
        dead_letter_topic="dlq",
        linger_ms=linger_ms,
    )
    sent: list[tuple[str, int]] = []
    for flush in flushes:
        flush_ms = START_MS + int(flush.due_s * 1000)
        for topic, value, _key, partition in flush.records:
            batch = codecs.tick_batch.decode(value)
            assert topic == {"kalshi": "t.k", "polymarket": "t.p", "manifold": "t.m"}[batch["venue"]]
            assert 0 <= partition < 4
            # The flush's watermark is its own time less 1 ms, as the live loop's: a tick due in
            # the flush's own millisecond is past it, every earlier one is not.
            assert batch["watermark"] == flush_ms - 1
            for t in batch["ticks"]:
                assert t["event_ts"] == t["recv_ts"] <= batch["watermark"] + 1
                # Sent no later than one linger after it was due.
                assert flush_ms - linger_ms <= t["event_ts"] <= flush_ms
                sent.append((t["pair_id"], t["event_ts"]))
    due = [(t.pair_id, START_MS + int(i / rate * 1000)) for i, t in enumerate(ticks)]
    assert sorted(sent) == sorted(due)
    assert [f.due_s for f in flushes] == sorted(f.due_s for f in flushes)
    assert all(b.due_s - a.due_s >= linger_ms / 1000 - 1e-9 for a, b in itertools.pairwise(flushes))
