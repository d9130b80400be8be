"""``echoarb up --simulate``: the whole stack as one process tree, opportunities within seconds,
a clean stop on SIGTERM, and no orphan (broker included) even when the supervisor is SIGKILLed."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from echoarb.kafka.processes import free_port
from tests.integration.procs import alive, descendants

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
# Every series the issue names, and which process must expose it.
EXPECTED_SERIES = {
    "echoarb_messages_received_total": "ingest",
    "echoarb_connections_active": "ingest",
    "echoarb_reconnect_attempts_total": "ingest",
    "echoarb_price_value": "ingest",
    "echoarb_ingest_latency_seconds_bucket": "ingest",
    "echoarb_message_latency_seconds_bucket": "serve",
    "echoarb_spread_events_total": "serve",
    "echoarb_executable_opportunities": "serve",
    "echoarb_net_edge": "serve",
    "echoarb_worker_ticks_total": "worker",
    "echoarb_worker_spread_events_total": "worker",
    "echoarb_sink_rows_total": "sink",
    "echoarb_sink_batch_rows_bucket": "sink",
    "echoarb_sink_insert_seconds_bucket": "sink",
    "echoarb_consumer_lag": "sink",
    "echoarb_serve_clients": "serve",
}


def start_up(tmp_path: Path, port: int, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "echoarb", "up", "--simulate", "--port", str(port),
         "--data-dir", str(tmp_path), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        env={k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP", "CLICKHOUSE_URL")},
    )  # fmt: skip


def read_until_board(proc: subprocess.Popen[str], timeout: float = 180.0) -> list[str]:
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    for line in proc.stdout:
        lines.append(line.rstrip())
        if " board " in line:
            return lines
        assert time.monotonic() < deadline, "\n".join(lines)
    raise AssertionError("echoarb up ended before the board was ready:\n" + "\n".join(lines))


def targets(lines: list[str]) -> dict[str, str]:
    """job -> host:port of each part's /metrics, from the ready lines."""
    found: dict[str, str] = {}
    for line in lines:
        m = re.search(r" ready  (ingest|worker 1|sink|serve)\s+http://(127\.0\.0\.1:\d+)/", line)
        if m:
            found[m.group(1).split()[0]] = m.group(2)
    return found


def query(port: int, promql: str) -> list[dict[str, object]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?query={urllib.parse.quote(promql)}"
    with urllib.request.urlopen(url, timeout=5) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    result: list[dict[str, object]] = body["data"]["result"]
    return result


def scrape_with_prometheus(tmp_path: Path, jobs: dict[str, str]) -> None:
    """A real Prometheus scrapes every part; its HTTP API must return each expected series."""
    port = free_port()
    config = tmp_path / "prometheus.yml"
    scrape = "".join(
        f"  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n"
        for job, target in sorted(jobs.items())
    )
    config.write_text(f"global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n{scrape}")
    log = (tmp_path / "prometheus.log").open("wb")
    prom = subprocess.Popen(
        [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'prom-data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        missing = dict(EXPECTED_SERIES)
        down: set[str] = set(jobs)
        while missing or down:
            assert prom.poll() is None, (tmp_path / "prometheus.log").read_text()[-2000:]
            assert time.monotonic() < deadline, f"missing series {missing}, targets down {down}"
            try:
                down = {str(r["metric"]["job"]) for r in query(port, "up") if r["value"][1] != "1"} | (  # type: ignore[index]
                    set(jobs) - {str(r["metric"]["job"]) for r in query(port, "up")}  # type: ignore[index]
                )
                for name, job in list(missing.items()):
                    if any(r["metric"].get("job") == job for r in query(port, name)):  # type: ignore[attr-defined]
                        del missing[name]
            except OSError:
                pass
            time.sleep(0.5)
        deadline = time.monotonic() + 30
        while not (latency := query(port, "sum(rate(echoarb_message_latency_seconds_count[30s]))")):
            assert time.monotonic() < deadline, "no rate() over the latency histogram"
            time.sleep(0.5)  # rate() needs two scrapes of the series
        assert float(latency[0]["value"][1]) >= 0  # type: ignore[index]
        venues = {r["metric"]["venue"] for r in query(port, "echoarb_messages_received_total")}  # type: ignore[index]
        assert venues == {"kalshi", "polymarket", "manifold"}
        # Consumer lag per group: the sink's own, and the workers' group as serve sees it.
        deadline = time.monotonic() + 30
        while True:
            groups = {(r["metric"]["job"], r["metric"]["group"]) for r in query(port, "echoarb_consumer_lag")}  # type: ignore[index]
            if {("sink", "echoarb-sink"), ("serve", "echoarb-live")} <= groups:
                break
            assert time.monotonic() < deadline, groups
            time.sleep(0.5)
    finally:
        prom.terminate()
        prom.wait(10)
        log.close()


def executable_opportunities(port: int) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/spreads?executable=true", timeout=2) as r:
        spreads: list[dict[str, Any]] = json.load(r)["spreads"]
        return spreads


def test_up_simulate_shows_opportunities_is_scraped_by_prometheus_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    proc = start_up(tmp_path, port)
    try:
        lines = read_until_board(proc)
        ready = [line.split()[2] for line in lines if " ready " in line]
        assert {"broker", "simulator", "worker", "sink", "serve", "ingest"} <= set(ready), lines
        assert any(f"http://127.0.0.1:{port}/" in line for line in lines if " board " in line)
        family = descendants(proc.pid)
        assert len(family) >= 8  # broker, 3 simulators, worker, sink, serve, ingest
        broker_port = int(re.search(r"embedded 127\.0\.0\.1:(\d+)", "\n".join(lines)).group(1))  # type: ignore[union-attr]
        deadline = time.monotonic() + 90
        while not (found := executable_opportunities(port)):
            assert time.monotonic() < deadline, "no executable opportunity within 90 s of the board"
            time.sleep(0.5)
        first = found[0]  # the same answer: an opportunity may close again a second later
        assert first["executable"] and float(first["net_profit"]) > 0
        assert {leg["venue"] for leg in first["legs"]} <= {"kalshi", "polymarket"}  # real money only
        jobs = targets(lines)
        assert set(jobs) == {"ingest", "worker", "sink", "serve"}, lines
        scrape_with_prometheus(tmp_path, jobs)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out
        for part in ("ingest", "worker 1", "serve", "simulator kalshi"):
            assert re.search(rf"stopped {part} \(exit 0", out), out
        assert re.search(r"stopped sink \(exit 0", out), out  # SIGTERM is the sink's clean stop
        assert out.index("stopped ingest") < out.index("stopped worker") < out.index("stopped sink")
        assert not alive(family), "a part outlived echoarb up"
        import socket

        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", broker_port)) != 0, "the broker still listens"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_up_killed_with_sigkill_leaves_no_orphan(tmp_path: Path) -> None:
    proc = start_up(tmp_path, free_port(), "--no-sink")
    try:
        read_until_board(proc)
        family = descendants(proc.pid)
        assert len(family) >= 7
        proc.kill()  # no handler runs: the kernel tells every part its parent died
        proc.wait()
        deadline = time.monotonic() + 30
        while alive(family):
            assert time.monotonic() < deadline, f"orphans: {alive(family)}"
            time.sleep(0.2)
    finally:
        for pid in descendants(proc.pid) | {proc.pid}:
            if alive({pid}):
                os.kill(pid, signal.SIGKILL)
