"""The baseline: a bare aiokafka ``getmany`` loop doing the peer workload (a child process).

Per TickBatch record: decode it with the project's codec, ``tick_from_record`` every tick,
keep the latest quote per (pair, venue), and emit one output per tick (that tick as a
one-tick TickBatch, same codec) to the output topic, on the input's partition. No consumer
group, no commits, no state beyond a dict: the floor any stream framework pays on top of.
With ``"work": "edge"`` (the ``bare-edge`` system) it runs EchoArb's merge and edge engine on
each record instead and emits its spread events (``bench/edge_work.py``).

``python -m bench.bare_loop '{"bootstrap": ..., "topics": [...], "out": ..., "partitions": 8,
"pairs_file": ..., "work": "copy" | "edge"}'``
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.common import one_tick_batch
from bench.edge_work import EdgeWork
from echoarb.kafka import client_config
from echoarb.model import Tick
from echoarb.wire.codec import load_codecs
from echoarb.wire.records import tick_from_record


async def run(cfg: dict[str, Any]) -> None:
    codec = load_codecs().tick_batch
    edge = EdgeWork(Path(cfg["pairs_file"]), cfg["partitions"]) if cfg.get("work") == "edge" else None
    consumer = AIOKafkaConsumer(
        bootstrap_servers=cfg["bootstrap"], enable_auto_commit=False, **client_config.consumer(True)
    )
    producer = AIOKafkaProducer(bootstrap_servers=cfg["bootstrap"], **client_config.producer(True))
    await consumer.start()
    await producer.start()
    latest: dict[tuple[str, str], Tick] = {}
    out_topic = cfg["out"]
    try:
        tps = [TopicPartition(t, p) for t in cfg["topics"] for p in range(cfg["partitions"])]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, 0)
        send = producer.send
        decode, encode = codec.decode, codec.encode
        while True:
            got = await consumer.getmany(timeout_ms=100, max_records=2000)
            for tp, records in got.items():
                for r in records:
                    if edge is not None:
                        for value in edge.process(tp.partition, r.value):
                            await send(out_topic, value, partition=tp.partition)
                        continue
                    batch = decode(r.value)
                    for rec in batch["ticks"]:
                        t = tick_from_record(rec)
                        latest[(t.pair_id, t.venue)] = t
                        await send(out_topic, encode(one_tick_batch(batch, rec)), partition=tp.partition)
    finally:
        await consumer.stop()
        await producer.stop()


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(json.loads(sys.argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
