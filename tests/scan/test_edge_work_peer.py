"""The bench's equal-work peers (``bench/edge_work.py``) do the worker's edge work: same events.

``bare-edge`` and ``quix-edge`` are only a fair comparison if, per TickBatch record, they run
what EchoArb's worker runs and emit the same spread events. Checked against
``bench.edge_engine.core`` (decode, ``tick_from_record``, the live merge and the scan, Avro
encode, as the worker does per record) over the latency workload's records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.common import WARMUP, write_pairs
from bench.edge_engine import PARTITIONS, core, records, workload
from bench.edge_work import EdgeWork
from echoarb.wire.codec import Codecs, load_codecs


def _without_clock(codecs: Codecs, value: bytes) -> dict[str, Any]:
    event = codecs.spread_event.decode(value)
    event.pop("computed_at")  # wall clock in the peer, 0 in bench.edge_engine
    return event


def test_edge_peer_emits_the_workers_spread_events(tmp_path: Path) -> None:
    n_pairs = 20
    recs = records(workload(n_pairs, 3_000, 2_500), n_pairs)
    codecs = load_codecs()
    _, _, expected, _ = core(recs, n_pairs, reference=False, flush_ms=500)

    work = EdgeWork(write_pairs(n_pairs, tmp_path / "pairs.json"), PARTITIONS)
    got = [value for partition, record in recs for value in work.process(partition, record)]

    assert len(expected) > 1_000  # crossed books: (nearly) every tick changes an opportunity
    assert [_without_clock(codecs, v) for v in got] == [_without_clock(codecs, v) for v in expected]


def test_edge_peer_echoes_the_warmup_record_and_skips_undecodable_ones(tmp_path: Path) -> None:
    codecs = load_codecs()
    work = EdgeWork(write_pairs(2, tmp_path / "pairs.json"), PARTITIONS)
    warm = codecs.tick_batch.encode(
        {"venue": "kalshi", "producer_id": WARMUP, "watermark": 0, "end_of_stream": False, "ticks": []}
    )
    assert work.process(0, warm) == [warm]
    assert work.process(0, b"\x00not avro") == []
    assert work.process(0, None) == []
