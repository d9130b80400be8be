"""A venue flood: a simulator sends far above the normal rate; ingest's memory stays bounded
and its latency metric (venue event time -> publish) shows the lag.

The normal simulator cadence is one update per market every 50 ms; the flood sends one every
2 ms (25x) for the whole run. Peak RSS of the ingest process is sampled from /proc and
printed beside its start-up RSS.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from echoarb.kafka.processes import free_port
from tests.integration.procs import Proc, answers, clean_env, http_get, rss_mb, start, start_broker, wait_for

BOUND_MB = 150.0  # growth allowed over the process's own RSS once connected


def _metrics(port: int) -> str:
    status, body = http_get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200, body[:500]
    return body


@pytest.mark.chaos(
    "venue flood (25x the normal update rate)", "ingest RSS bounded; latency metric shows the lag"
)
def test_flood_keeps_ingest_memory_bounded(tmp_path: Path) -> None:
    env = clean_env(tmp_path / "data")
    procs: list[Proc] = []
    try:
        broker, bootstrap = start_broker(env, tmp_path)
        procs.append(broker)
        sim = start(
            ["simulate", "--venue", "polymarket", "--interval", "0.002", "--scenario", "stream"],
            env,
            tmp_path,
        )
        procs.append(sim)
        hint = sim.wait_line(r"POLYMARKET_WS_URL=(\S+) POLYMARKET_GAMMA_URL=(\S+) POLYMARKET_CLOB_URL=(\S+)")
        ws_url, gamma_url, clob_url = hint.groups()
        port = free_port()
        ingest_env = {
            **env,
            "KAFKA_BOOTSTRAP": bootstrap,
            "ECHOARB_EMBEDDED_BROKER": "1",
            "POLYMARKET_WS_URL": ws_url,
            "POLYMARKET_GAMMA_URL": gamma_url,
            "POLYMARKET_CLOB_URL": clob_url,
            "INGEST_BUFFER_FRAMES": "2000",
        }
        ingest = start(["ingest", "--venue", "polymarket", "--metrics-port", str(port)], ingest_env, tmp_path)
        procs.append(ingest)
        assert wait_for(
            lambda: (
                answers(f"http://127.0.0.1:{port}/metrics") and "echoarb_messages_received" in _metrics(port)
            ),
            60,
            interval=0.2,
        ), ingest.tail()
        start_rss = rss_mb(ingest.pid)
        peak = start_rss
        for _ in range(60):  # 15 s of flood
            time.sleep(0.25)
            assert ingest.poll() is None, f"ingest died under the flood: {ingest.tail()}"
            peak = max(peak, rss_mb(ingest.pid))
        text = _metrics(port)
        received = sum(
            float(m.group(1))
            for m in re.finditer(r"^echoarb_messages_received_total\{[^}]*\} (\S+)$", text, re.M)
        )
        latency_count = sum(
            float(m.group(1))
            for m in re.finditer(r"^echoarb_ingest_latency_seconds_count\S* (\S+)$", text, re.M)
        )
        print(
            f"flood: {received:.0f} frames in ~15 s; ingest RSS {start_rss:.0f} MB at start, "
            f"peak {peak:.0f} MB; "
            f"{latency_count:.0f} latency observations"
        )
        assert received > 2_000, "the flood reached ingest"
        assert latency_count > 0, "the latency metric saw the flood"
        assert peak - start_rss < BOUND_MB, f"RSS grew {peak - start_rss:.0f} MB under the flood"
    finally:
        for proc in reversed(procs):
            proc.signal()
            if proc.wait(10) is None:
                proc.kill()
