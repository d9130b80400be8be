import random
from decimal import Decimal

from echoarb.ingest.batching import END_OF_TIME, OutBatch, TickBatcher
from echoarb.model import Tick, Venue
from echoarb.partitioning import partition_for
from echoarb.scan.merge import PartitionMerger


def tick(venue: Venue, pair: str, recv: int) -> Tick:
    return Tick(pair, venue, (), (), recv, recv, Decimal(0))


def test_partition_matches_java_default_partitioner() -> None:
    # Values computed by Kafka's Java client (Utils.murmur2 & 0x7fffffff) % n.
    from aiokafka.partitioner import DefaultPartitioner

    for key in ["fed-rate-march", "election-2028", "x" * 40]:
        assert partition_for(key, 8) == DefaultPartitioner()(key.encode(), list(range(8)), list(range(8)))


def test_batcher_groups_by_stream_assigns_seq_and_heartbeats() -> None:
    pairs = ["a", "b", "c", "d"]
    parts = {p: partition_for(p, 2) for p in pairs}
    streams = {part: {"kalshi", "polymarket"} for part in set(parts.values())}
    batcher = TickBatcher(2, streams, max_ticks=100)
    batcher.advance(9)
    batcher.add(tick("kalshi", "a", 10))
    batcher.add(tick("kalshi", "b", 11))
    batcher.advance(11)
    out = batcher.drain()
    sent = [(b.venue, b.partition, len(b.ticks)) for b in out]
    # kalshi batches carry ticks; polymarket streams of the touched partitions get heartbeats.
    assert all(b.watermark == 11 for b in out)
    assert sum(n for _, _, n in sent) == 2
    assert {(v, p) for v, p, n in sent if n == 0} == {("polymarket", parts["a"]), ("polymarket", parts["b"])}
    assert sorted(t.seq for b in out for t in b.ticks) == [1, 2]
    final = batcher.drain(end_of_stream=True)
    assert {(b.venue, b.partition) for b in final} == {(v, p) for p, vs in streams.items() for v in vs}
    assert all(b.watermark == END_OF_TIME and b.end_of_stream for b in final)


def _replay(frames: list[Tick], seed: int, max_ticks: int) -> list[tuple[str, str, int]]:
    """Send a fixed tick sequence through batcher + merger with random delivery interleaving."""
    rng = random.Random(seed)
    batcher = TickBatcher(1, {0: {"kalshi", "polymarket"}}, max_ticks=max_ticks)
    queues: dict[str, list[OutBatch]] = {"kalshi": [], "polymarket": []}
    for t in frames:
        batcher.advance(t.recv_ts - 1)
        batcher.add(t)
        if rng.random() < 0.3:
            for b in batcher.drain():
                queues[b.venue].append(b)
    for b in batcher.drain(end_of_stream=True):
        queues[b.venue].append(b)
    merger = PartitionMerger({"kalshi", "polymarket"})
    out = []
    while queues["kalshi"] or queues["polymarket"]:
        venue = rng.choice([v for v in queues if queues[v]])
        b = queues[venue].pop(0)
        out.extend(merger.push(b.venue, b.watermark, b.ticks, 0.0))
    assert merger.done and merger.buffered == 0
    return [(t.venue, t.pair_id, t.recv_ts) for t in out]


def test_merge_order_is_independent_of_batching_and_delivery() -> None:
    rng = random.Random(1)
    frames: list[Tick] = []
    ts = 1000
    for i in range(300):
        ts += rng.choice([0, 0, 1, 5])
        frames.append(tick(rng.choice(["kalshi", "polymarket"]), f"p{i % 3}", ts))
    expected = _replay(frames, 0, 1000)
    assert sorted(expected, key=lambda x: x[2]) == expected
    for seed in range(1, 8):
        assert _replay(frames, seed, rng.choice([1, 3, 50])) == expected


def test_stalled_stream_is_released_after_max_wait() -> None:
    merger = PartitionMerger({"kalshi", "polymarket"})
    assert merger.push("kalshi", 100, [tick("kalshi", "a", 50)], now=0.0) == []
    assert merger.release_stalled(now=1.0, max_wait_s=2.0) == []
    released = merger.release_stalled(now=2.5, max_wait_s=2.0)
    assert [t.recv_ts for t in released] == [50]


def test_live_merge_releases_when_the_other_streams_are_read_up_to_their_high_watermark() -> None:
    caught_up = {"kalshi": True, "polymarket": False}
    strict = PartitionMerger({"kalshi", "polymarket"})
    live = PartitionMerger({"kalshi", "polymarket"}, caught_up=caught_up.__getitem__)
    assert live.live and not strict.live
    # A kalshi tick stamped after its batch's watermark: strict waits for both watermarks.
    for merger in (strict, live):
        assert merger.push("kalshi", 99, [tick("kalshi", "a", 100)], now=0.0, token="k1") == []
    # polymarket has fetched-but-unread records: live waits too (for its watermark).
    assert live.release_caught_up(now=0.0) == []
    assert live.ackable() == []
    caught_up["polymarket"] = True  # its records were read and nothing more is in Kafka
    assert [t.recv_ts for t in live.release_caught_up(now=0.0)] == [100]
    assert live.ackable() == ["k1"]
    assert strict.release_caught_up(now=0.0) == []  # strict: only watermarks release
    assert strict.push("polymarket", 100, [], now=0.0) == []  # kalshi's own watermark is still 99
    assert [t.recv_ts for t in strict.push("kalshi", 120, [], now=0.0)] == [100]


def test_live_merge_counts_a_tick_that_arrives_after_a_later_one_was_released() -> None:
    live = PartitionMerger({"kalshi", "polymarket"}, caught_up=lambda venue: True)
    assert [t.recv_ts for t in live.push("kalshi", 99, [tick("kalshi", "a", 100)], now=0.0)] == [100]
    # Reached Kafka later, stamped earlier: processed in arrival order, counted late.
    assert [t.recv_ts for t in live.push("polymarket", 95, [tick("polymarket", "a", 96)], now=0.0)] == [96]
    assert live.late == 1


def test_tokenless_records_of_a_run_are_not_acked_alone() -> None:
    merger = PartitionMerger({"kalshi"})
    merger.push("kalshi", 10, [tick("kalshi", "a", 5)], now=0.0, token=None)
    merger.push("kalshi", 20, [tick("kalshi", "a", 15)], now=0.0, token="run")
    assert merger.ackable() == ["run"]
