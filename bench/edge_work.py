"""The equal-work peers' per-record work: EchoArb's merge and edge engine, without its stream layer.

The bare loop and Quix Streams peers (``bench/bare_loop.py``, ``bench/quix_peer.py``) copy
each tick to the output: far less work than EchoArb's worker, which walks the books in six
directions, rounds fees per fill and emits a spread event per changed opportunity. Run with
``"work": "edge"`` (the ``bare-edge`` and ``quix-edge`` systems of ``bench.pipeline``), they do
EchoArb's per-tick work instead, with EchoArb's own code, per TickBatch record:

  decode it with the project's codec -> ``tick_from_record`` every tick -> the record's
  partition's ``PartitionCore.push`` (the live merge with every venue caught up, as
  ``bench.edge_engine`` runs it) -> ``spread_to_wire`` + the SpreadEvent codec for each event.

What they leave out is EchoArb's stream layer: pair states in a Faust table with a changelog
and checkpoints, the spread windows' mirror topic, the offset gate that commits only what the
spread events cover, dead letters, rebalancing. EchoArb's row minus an edge peer's row is
what that layer costs at the same offered load; the copying peers' rows say what the
framework alone costs.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.common import WARMUP
from echoarb.pairs import PairsConfig, load_pairs
from echoarb.partitioning import venue_streams
from echoarb.scan.partition import PartitionCores
from echoarb.scan.scanner import ScanParams
from echoarb.wire.codec import CodecError, load_codecs
from echoarb.wire.records import spread_to_wire, tick_from_record


def live_cores(config: PairsConfig, partitions: int, *, reference: bool = False) -> PartitionCores:
    """The worker's merge and scan per partition as the benchmarks run them: default scan
    parameters, no checkpointed state to load, the live merge with every venue caught up
    (each tick is released at once)."""
    return PartitionCores(
        venue_streams(config, partitions),
        config.by_id(),
        ScanParams(),
        lambda pair_id: None,
        caught_up=lambda partition: lambda venue: True,
        reference=reference,
    )


class EdgeWork:
    """One peer process's merge and edge engine over the ``partitions`` partitions of the tick topics."""

    def __init__(self, pairs_file: Path, partitions: int) -> None:
        config = load_pairs(pairs_file)
        codecs = load_codecs()
        self._decode = codecs.tick_batch.decode
        self._encode = codecs.spread_event.encode
        self._cores = live_cores(config, partitions)
        self._records = 0

    def process(self, partition: int, value: bytes | None) -> list[bytes]:
        """The spread events (Avro, Confluent framing) one TickBatch record of ``partition`` yields.

        The warm-up record comes back as it is: it says the peer is consuming and producing.
        A record that does not decode yields nothing (the bench's own records all decode).
        """
        try:
            batch = self._decode(value)
        except CodecError:
            return []
        if batch["producer_id"] == WARMUP:
            return [value] if value is not None else []
        self._records += 1
        ticks = [tick_from_record(rec) for rec in batch["ticks"]]
        now_ms = int(time.time() * 1000)
        step = self._cores.get(partition).push(
            [(batch["venue"], batch["watermark"], ticks)], time.monotonic(), now_ms, self._records
        )
        encode = self._encode
        return [encode(spread_to_wire(event)) for event in step.spreads]
