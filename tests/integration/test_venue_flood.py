"""A venue flood: a simulator sends far above the normal rate; ingest's memory stays bounded
and its latency metric (venue event time -> publish) shows the lag.

The normal simulator cadence is one update per market every 50 ms; the flood sends one every
2 ms (25x) for the whole run. Peak RSS of the ingest process is sampled from /proc and
printed beside its start-up RSS.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from echoarb.kafka.processes import free_port

BOUND_MB = 150.0  # growth allowed over the process's own RSS once connected


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fp:
        for line in fp:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _start(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "echoarb", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=cwd,
    )


def _line(proc: subprocess.Popen[str], pattern: str) -> re.Match[str]:
    assert proc.stdout is not None
    for line in proc.stdout:
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"{pattern!r} never printed")


def _metrics(port: int) -> str:
    body: bytes = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    return body.decode()


@pytest.mark.chaos(
    "venue flood (25x the normal update rate)", "ingest RSS bounded; latency metric shows the lag"
)
def test_flood_keeps_ingest_memory_bounded(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP", "CLICKHOUSE_URL")}
    env["DATA_DIR"] = str(tmp_path / "data")
    procs: list[subprocess.Popen[str]] = []
    try:
        broker = _start(["broker"], env, tmp_path)
        procs.append(broker)
        bootstrap = _line(broker, r"embedded broker on (\S+?);").group(1)
        sim = _start(
            ["simulate", "--venue", "polymarket", "--interval", "0.002", "--scenario", "stream"],
            env,
            tmp_path,
        )
        procs.append(sim)
        hint = _line(sim, r"POLYMARKET_WS_URL=(\S+) POLYMARKET_GAMMA_URL=(\S+) POLYMARKET_CLOB_URL=(\S+)")
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
        ingest = _start(
            ["ingest", "--venue", "polymarket", "--metrics-port", str(port)], ingest_env, tmp_path
        )
        procs.append(ingest)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if "echoarb_messages_received" in _metrics(port):
                    break
            except OSError:
                time.sleep(0.2)
        start_rss = _rss_mb(ingest.pid)
        peak = start_rss
        for _ in range(60):  # 15 s of flood
            time.sleep(0.25)
            assert ingest.poll() is None, "ingest died under the flood"
            peak = max(peak, _rss_mb(ingest.pid))
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
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
