"""ClickHouse's disk fills up under the sink: a clear error, no crash loop, nothing committed
that is not stored, and every event stored once space returns.

The embedded ClickHouse data dir lives on a small tmpfs (the tests run as root, as CI does);
a filler file takes the free space while events arrive, and is deleted to give it back.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from echoarb.wire.codec import load_codecs
from tests.integration.procs import Proc, clean_env, start, start_broker, wait_for
from tests.integration.test_sink_service import spread_event

EVENTS = 3_000


async def _produce(bootstrap: str, topic: str) -> dict[int, int]:
    codec = load_codecs().spread_event
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, codec.encode(spread_event(i)), key=f"p{i % 7}".encode())
            for i in range(EVENTS)
        ]
        ends: dict[int, int] = {}
        for meta in await asyncio.gather(*futures):
            ends[meta.partition] = max(ends.get(meta.partition, 0), meta.offset + 1)
        return ends
    finally:
        await producer.stop()


async def _committed(bootstrap: str, topic: str, group: str, partitions: list[int]) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        out = {}
        for p in partitions:
            out[p] = await consumer.committed(TopicPartition(topic, p)) or 0
        return out
    finally:
        await consumer.stop()


def _stored(data_dir: Path, env: dict[str, str]) -> tuple[int, int]:
    code = (
        "import sys; from pathlib import Path; from echoarb.sink.client import connect_embedded; "
        f"c = connect_embedded(Path({str(data_dir / 'clickhouse')!r}), 'echoarb'); "
        "print(c.query('SELECT uniqExact(id), count() FROM spreads').result_rows[0])"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    unique, rows = json.loads(out.stdout.strip().replace("(", "[").replace(")", "]"))
    return int(unique), int(rows)


@pytest.mark.chaos("ClickHouse disk full mid-stream (tmpfs)", "clear error, no crash loop, no loss, recovery")
def test_disk_full_then_space_returns(tmp_path: Path) -> None:
    mount = tmp_path / "ch"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", str(mount)], check=True)
    env = clean_env(mount / "data", SINK_FLUSH_INTERVAL_S="0.2", SINK_BATCH_ROWS="500")
    procs: list[Proc] = []
    try:
        broker, bootstrap = start_broker({**env, "DATA_DIR": str(tmp_path / "b")}, tmp_path)
        procs.append(broker)
        env.update(KAFKA_BOOTSTRAP=bootstrap, ECHOARB_EMBEDDED_BROKER="1")
        sink = start(["sink"], env, tmp_path, tmp_path / "sink.log")
        procs.append(sink)
        sink.wait_line(r"sink: consuming", 120)

        free = os.statvfs(mount)
        filler = mount / "filler"
        with filler.open("wb") as fp:  # leave ~512 KiB: too little for any insert part
            fp.write(b"\0" * max(0, free.f_bavail * free.f_frsize - 512 * 1024))
        ends = asyncio.run(_produce(bootstrap, "spreads"))
        sink.wait_line(r"(?i)not enough space|NOT_ENOUGH_SPACE|no space", 120)
        assert "Traceback" not in sink.output()
        time.sleep(3)
        assert sink.poll() is None, "the sink died instead of waiting for space"
        committed = asyncio.run(_committed(bootstrap, "spreads", "echoarb-sink", sorted(ends)))
        assert sum(committed.values()) < EVENTS, "offsets were committed for rows that could not be stored"

        filler.unlink()  # space returns

        def caught_up() -> bool:
            done = asyncio.run(_committed(bootstrap, "spreads", "echoarb-sink", sorted(ends)))
            return all(done[p] >= end for p, end in ends.items())

        assert wait_for(caught_up, 180, interval=1.0), "the sink did not catch up once space returned"
        sink.signal(signal.SIGTERM)
        assert sink.wait(30) == 0, sink.tail()  # a requested stop is a clean exit
        assert "Traceback" not in sink.output(), sink.tail(6000)  # none at all, the stop included
        assert _stored(mount / "data", env) == (EVENTS, EVENTS)  # every event, each stored once
    finally:
        for proc in procs:
            proc.kill()
        subprocess.run(["umount", "-l", str(mount)], check=False)
