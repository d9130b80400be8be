"""The Quix Streams peer: the bare loop's workload as a Quix Streams application.

Runs inside its own venv (``bench/peers.py`` builds it: Quix Streams pins its own
confluent-kafka), with this repository on ``PYTHONPATH`` so that it decodes and encodes with
the project's codec (``echoarb.wire.codec``) inside its ``apply``. Per TickBatch record:
decode, ``tick_from_record`` every tick, keep the latest quote per (pair, venue), emit one
output per tick (``expand=True``) to the output topic. The latest quotes are a dict in the
closure, as in the bare loop: Quix state is per message key, and a TickBatch carries many pairs.
With ``"work": "edge"`` (the ``quix-edge`` system) its ``apply`` runs EchoArb's merge and edge
engine on the record's partition instead and emits its spread events (``bench/edge_work.py``).

``python bench/quix_peer.py '{"bootstrap": ..., "topics": [...], "out": ..., "group": ...}'``
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from quixstreams import Application, message_context

from bench.common import one_tick_batch
from bench.edge_work import EdgeWork
from echoarb.wire.codec import load_codecs
from echoarb.wire.records import tick_from_record


def main() -> int:
    cfg = json.loads(sys.argv[1])
    codec = load_codecs().tick_batch
    decode, encode = codec.decode, codec.encode
    app = Application(
        broker_address=cfg["bootstrap"],
        consumer_group=cfg["group"],
        auto_offset_reset="earliest",
        # The embedded broker holds JoinGroup for half the session timeout, and holds every
        # fetch for its full max wait (see echoarb/kafka/tansu_compat.py): short values.
        consumer_extra_config={
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
            "fetch.wait.max.ms": 10,
        },
        producer_extra_config={"linger.ms": 5},
        consumer_poll_timeout=0.01,
        commit_interval=0.5,
        use_changelog_topics=False,
        auto_create_topics=False,
        loglevel="WARNING",
    )
    latest: dict[tuple[str, str], Any] = {}
    edge = EdgeWork(Path(cfg["pairs_file"]), cfg["partitions"]) if cfg.get("work") == "edge" else None

    def process_edge(value: bytes) -> list[bytes]:
        assert edge is not None
        return edge.process(message_context().partition, value)

    def process(value: bytes) -> list[bytes]:
        batch = decode(value)
        out = []
        for rec in batch["ticks"]:
            tick = tick_from_record(rec)
            latest[(tick.pair_id, tick.venue)] = tick
            out.append(encode(one_tick_batch(batch, rec)))
        return out

    output = app.topic(cfg["out"], value_serializer="bytes", key_serializer="bytes")
    for name in cfg["topics"]:
        sdf = app.dataframe(app.topic(name, value_deserializer="bytes", key_deserializer="bytes"))
        sdf.apply(process if edge is None else process_edge, expand=True).to_topic(output)
    app.run()
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    sys.exit(main())
