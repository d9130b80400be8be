"""The broker restarts under live ingest: ingest rides out the outage and publishes again.

What a restart means for the embedded broker: Tansu keeps everything in memory, so a
restarted broker is an empty cluster on the same address: topics, records, committed
offsets and consumer groups are gone. The guarantee that holds is the producer's: ingest
keeps its connectors running, buffers within INGEST_BUFFER_FRAMES (then applies
backpressure to the venue sockets instead of growing), recreates its topics and publishes
fresh tick batches to the new broker, without a restart of its own. A real cluster keeps
its logs across a broker restart; there workers and the sink resume from their committed
offsets (the kill and restart tests of tests/integration/test_cluster.py and
test_sink_exactly_once.py prove that path).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from echoarb.kafka.embedded import EmbeddedBroker
from echoarb.kafka.processes import free_port
from tests.integration.test_venue_flood import _rss_mb


async def _tick_records(bootstrap: str, topic: str, wait_s: float) -> int:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", fetch_max_wait_ms=100
    )
    await consumer.start()
    try:
        count = 0
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and count == 0:
            batch = await consumer.getmany(timeout_ms=500)
            count += sum(len(v) for v in batch.values())
        return count
    finally:
        await consumer.stop()


@pytest.mark.chaos(
    "embedded broker killed and restarted under live ingest", "ingest buffers bounded, resumes publishing"
)
def test_ingest_rides_out_a_broker_restart(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP", "CLICKHOUSE_URL")}
    env["DATA_DIR"] = str(tmp_path / "data")
    broker = EmbeddedBroker(log_path=tmp_path / "tansu.log", port=port).start()
    sim = subprocess.Popen(
        [sys.executable, "-m", "echoarb", "simulate", "--venue", "polymarket", "--interval", "0.01"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    )
    ingest: subprocess.Popen[str] | None = None
    try:
        assert sim.stdout is not None
        pattern = r"POLYMARKET_WS_URL=(\S+) POLYMARKET_GAMMA_URL=(\S+) POLYMARKET_CLOB_URL=(\S+)"
        found = next(m for line in sim.stdout if (m := re.search(pattern, line)))
        ws_url, gamma_url, clob_url = found.groups()
        log = tmp_path / "ingest.log"
        ingest = subprocess.Popen(
            [sys.executable, "-m", "echoarb", "ingest", "--venue", "polymarket"],
            env={
                **env,
                "KAFKA_BOOTSTRAP": broker.bootstrap,
                "ECHOARB_EMBEDDED_BROKER": "1",
                "POLYMARKET_WS_URL": ws_url,
                "POLYMARKET_GAMMA_URL": gamma_url,
                "POLYMARKET_CLOB_URL": clob_url,
                "INGEST_BUFFER_FRAMES": "500",
                "INGEST_KAFKA_OUTAGE_S": "60",
            },
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            text=True,
            cwd=tmp_path,
        )
        assert asyncio.run(_tick_records(broker.bootstrap, "ticks.polymarket", 60)) > 0, "ingest published"
        rss_before = _rss_mb(ingest.pid)

        broker.stop()  # the cluster goes away...
        peak = rss_before
        for _ in range(20):  # ... for 5 s of live venue traffic
            time.sleep(0.25)
            assert ingest.poll() is None, log.read_text()[-3000:]
            peak = max(peak, _rss_mb(ingest.pid))
        broker = EmbeddedBroker(
            log_path=tmp_path / "tansu-2.log", port=port
        ).start()  # ... and comes back empty

        assert asyncio.run(_tick_records(broker.bootstrap, "ticks.polymarket", 90)) > 0, (
            "no tick batches on the restarted broker; ingest log: " + log.read_text()[-3000:]
        )
        assert ingest.poll() is None, "ingest restarted itself instead of riding out the outage"
        text = log.read_text()
        assert "Traceback" not in text, text[-3000:]
        print(
            f"broker restart: ingest RSS {rss_before:.0f} MB before the outage, peak {peak:.0f} MB during it"
        )
        assert peak - rss_before < 100
    finally:
        for proc in (ingest, sim):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        broker.stop()
