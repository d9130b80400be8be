"""Effectively-once into ClickHouse across SIGKILLs between insert and commit.

Real processes: ``echoarb sink`` (through ``sink_crash_entry.py``, which SIGKILLs it right after
an insert, before the commit) on its own DATA_DIR and the session's embedded broker. It is
killed twice, then runs to completion; a separate process then opens that data dir (chdb: one
process per dir, and this test process already holds the session's) and counts.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from echoarb.kafka import tansu_compat
from echoarb.kafka.client_config import topic_layout
from echoarb.kafka.embedded import create_topics
from echoarb.settings import Settings
from echoarb.wire.codec import load_codecs
from tests.integration.test_sink_service import produce, spread_event, spread_window

ENTRY = Path(__file__).with_name("sink_crash_entry.py")
PARTITIONS = 2

VERIFY = """
import json, sys
import clickhouse_connect
c = clickhouse_connect.get_client(dsn="chdb://" + sys.argv[1])
q = lambda sql: [list(r) for r in c.query(sql).result_rows]
print(json.dumps({
    "spreads": q("SELECT count(), uniqExact(id), uniqExact(partition, offset) FROM echoarb.spreads")[0],
    "windows": q("SELECT count(), uniqExact(pair_id), sum(executable_ms) FROM echoarb.spread_windows")[0],
    "ticks": q("SELECT count(), uniqExact(topic, partition, offset, index) FROM echoarb.ticks")[0],
    "minute_stats": q("SELECT sum(events), sum(executable_ms) FROM echoarb.pair_minute_stats")[0],
    "ledger": q("SELECT count(), uniqExact(topic, partition, first_offset) FROM echoarb.sink_batches")[0],
}, default=str))
"""


def tick_batch(venue: str, i: int, ticks: int, t0: int = 1_733_000_000_000) -> dict[str, Any]:
    return {
        "venue": venue,
        "producer_id": "test",
        "watermark": t0 + i,
        "end_of_stream": False,
        "ticks": [
            {
                "pair_id": f"pair-{(i + k) % 5}",
                "venue": venue,
                "outcome": "",
                "yes_asks": [{"price_micros": 400_000 + k, "size_micros": 10_000_000}],
                "no_asks": [] if k % 2 else [{"price_micros": 580_000, "size_micros": 1_000_000}],
                "event_ts": t0 + i,
                "recv_ts": t0 + 1 + i,
                "fee_rate_micros": 70_000,
                "status": "open",
                "in_sync": True,
                "real_money": True,
                "seq": i * 10 + k,
            }
            for k in range(ticks)
        ],
    }


def run_sink(env: dict[str, str], log: Path, crash_after: int | None) -> subprocess.Popen[bytes]:
    child_env = dict(env)
    if crash_after:
        child_env["SINK_CRASH_AFTER_INSERTS"] = str(crash_after)
    with log.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, str(ENTRY)], env=child_env, cwd=env["DATA_DIR"], stdout=err, stderr=err
        )


async def committed(bootstrap: str, group: str, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, **FAST)
    await consumer.start()
    try:
        return {tp: (await consumer.committed(tp)) or 0 for tp in tps}
    finally:
        await consumer.stop()


FAST = tansu_compat.aiokafka_consumer_kwargs()


@pytest.mark.chaos("SIGKILL the sink between insert and commit", "every event stored exactly once")
async def test_sigkill_between_insert_and_commit_stores_every_event_exactly_once(
    broker: Any, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:8]
    env_values = {
        "KAFKA_BOOTSTRAP": broker.bootstrap,
        "ECHOARB_EMBEDDED_BROKER": "1",
        "DATA_DIR": str(tmp_path),
        "PARTITIONS": str(PARTITIONS),
        "TOPIC_SPREADS": f"spreads-{suffix}",
        "TOPIC_SPREAD_WINDOWS": f"spread-windows-{suffix}",
        "TOPIC_DEAD_LETTER": f"dead-letter-{suffix}",
        "TOPIC_CONTROL": f"control-{suffix}",
        "TOPIC_TICKS_PREFIX": f"ticks-{suffix}.",
        "SINK_TICKS": "true",
        "SINK_GROUP_ID": f"sink-{suffix}",
        "SINK_BATCH_ROWS": "60",
        "SINK_FLUSH_INTERVAL_S": "0.2",
        "LOG_LEVEL": "INFO",
    }
    env = {k: v for k, v in os.environ.items() if k not in ("CLICKHOUSE_URL", "SCHEMA_REGISTRY_URL")}
    env.update(env_values)
    settings = Settings(**{k.lower(): v for k, v in env_values.items() if k != "ECHOARB_EMBEDDED_BROKER"})
    await create_topics(broker.bootstrap, topic_layout(settings))
    codecs = load_codecs()
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=5)
    await producer.start()
    ends: dict[TopicPartition, int] = {}

    async def send(topic: str, values: list[tuple[bytes, bytes]]) -> None:
        for tp, end in (await produce(producer, topic, values)).items():
            ends[tp] = max(ends.get(tp, 0), end)

    log = tmp_path / "sink.log"
    try:
        await send(
            settings.topic_spreads,
            [(f"p{i % 7}".encode(), codecs.spread_event.encode(spread_event(i))) for i in range(400)],
        )
        await send(settings.topic_spreads, [(b"junk", b"not avro")])  # dead-lettered, no row
        await send(
            settings.topic_spread_windows,
            [(f"p{i}".encode(), codecs.spread_window.encode(spread_window(i))) for i in range(20)],
        )
        await send(
            settings.tick_topic("kalshi"),
            [(f"k{i}".encode(), codecs.tick_batch.encode(tick_batch("kalshi", i, 3))) for i in range(60)],
        )
        await send(  # an empty batch (watermark heartbeat) stores no row
            settings.tick_topic("kalshi"), [(b"k", codecs.tick_batch.encode(tick_batch("kalshi", 99, 0)))]
        )

        # Run 1: killed right after its first insert; run 2: after its fourth (replays included).
        for crash_after in (1, 4):
            sink = run_sink(env, log, crash_after)
            assert await asyncio.to_thread(sink.wait, 90) == -signal.SIGKILL, log.read_text()[-3000:]
            await send(  # more data between crashes, so replayed and new batches mix
                settings.topic_spreads,
                [
                    (f"p{i % 7}".encode(), codecs.spread_event.encode(spread_event(i)))
                    for i in range(400 + 50 * crash_after, 450 + 50 * crash_after)
                ],
            )
        # Run 3: no crash; stop it once every partition is committed.
        sink = run_sink(env, log, None)
        try:
            for _ in range(300):
                if await committed(broker.bootstrap, settings.sink_group_id, list(ends)) == ends:
                    break
                assert sink.poll() is None, log.read_text()[-3000:]
                await asyncio.sleep(0.3)
            else:
                raise AssertionError(f"not committed: {log.read_text()[-3000:]}")
        finally:
            sink.send_signal(signal.SIGINT)
            try:
                await asyncio.to_thread(sink.wait, 20)
            except subprocess.TimeoutExpired:
                sink.kill()
                await asyncio.to_thread(sink.wait)
    finally:
        await producer.stop()

    text = log.read_text()
    assert text.count("crash: SIGKILL before commit") == 2
    assert "re-inserting it with the same deduplication token" in text  # the dedup path was taken

    verify = subprocess.run(
        [sys.executable, "-c", VERIFY, str(tmp_path / "clickhouse")],
        capture_output=True,
        timeout=60,
        check=True,
    )
    got = json.loads(verify.stdout.decode().strip().splitlines()[-1])
    spreads = 400 + 50 + 50  # the two batches sent between runs add 50 each
    assert got["spreads"] == [spreads, spreads, spreads]
    assert got["windows"] == [20, 20, sum(100 * i for i in range(20))]
    assert got["ticks"] == [180, 180]
    # The materialized view counted every event once too (retries are deduplicated there as well).
    assert got["minute_stats"] == [spreads, sum(100 * i for i in range(20))]
    assert got["ledger"][1] <= got["ledger"][0]
