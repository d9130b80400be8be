"""Secrets never leak: ingest, worker, sink and replay run with known secret values, and
every output is searched for them: stdout/stderr, log files, recordings, spread files,
Prometheus metrics and every record (key, value, headers) of every Kafka topic.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from echoarb.kafka.processes import free_port
from tests.integration.procs import SAMPLE, Proc, answers, clean_env, echoarb, http_get, wait_for
from tests.integration.procs import start as start_proc

KEY_ID = "kid-7f3a9c1e-SECRETKEYID"
CH_PASSWORD = "chpw-Zq8SECRETPASSWORD"


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[dict[str, object]]:
    procs: list[Proc] = []
    yield {"tmp": tmp_path, "env": clean_env(tmp_path / "data"), "procs": procs}
    for proc in procs:
        proc.signal()
        if proc.wait(10) is None:
            proc.kill()


async def _all_records(bootstrap: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=100,
    )
    await consumer.start()
    out: list[bytes] = []
    try:
        topics = sorted(await consumer.topics())
        consumer.subscribe(topics)
        idle = 0
        while idle < 3:
            batch = await consumer.getmany(timeout_ms=500)
            idle = 0 if batch else idle + 1
            for records in batch.values():
                for r in records:
                    out += [r.key or b"", r.value or b"", *(v for _, v in r.headers), r.topic.encode()]
    finally:
        await consumer.stop()
    return out


@pytest.mark.chaos(
    "known secrets through ingest, worker, sink, replay", "no secret in logs, files, metrics or Kafka"
)
def test_no_secret_in_any_output(workspace: dict[str, object]) -> None:
    tmp: Path = workspace["tmp"]  # type: ignore[assignment]
    env: dict[str, str] = workspace["env"]  # type: ignore[assignment]
    procs: list[Proc] = workspace["procs"]  # type: ignore[assignment]
    outputs: list[str] = []

    def start(*args: str, extra: dict[str, str] | None = None) -> Proc:
        proc = start_proc(list(args), {**env, **(extra or {})}, tmp, tmp / "logs" / f"{args[0]}.log")
        procs.append(proc)
        return proc

    def finish(proc: Proc, timeout: float = 60) -> str:
        assert proc.wait(timeout) is not None, f"{proc.popen.args!r} did not finish: {proc.tail()}"
        out = proc.output()
        outputs.append(out)
        return out

    keys = subprocess.run(
        echoarb("keys", "--dir", str(tmp / "keys")), env=env, capture_output=True, text=True, cwd=tmp
    )
    assert keys.returncode == 0, keys.stderr
    private = tmp / "keys" / "kalshi.pem"
    pem_lines = [line for line in private.read_text().splitlines() if line and not line.startswith("-----")]
    secrets = {"KALSHI_API_KEY": KEY_ID, "CLICKHOUSE password": CH_PASSWORD}
    secrets.update({f"private key line {i}": line for i, line in enumerate(pem_lines)})
    secret_env = {"KALSHI_API_KEY": KEY_ID, "KALSHI_PRIVATE_KEY_PATH": str(private)}

    broker = start("broker")
    bootstrap = broker.wait_line(r"embedded broker on (\S+?);").group(1)
    cluster = {**secret_env, "KAFKA_BOOTSTRAP": bootstrap, "ECHOARB_EMBEDDED_BROKER": "1"}

    sim = start(
        "simulate",
        "--venue",
        "kalshi",
        "--public-key",
        str(tmp / "keys" / "kalshi.pub.pem"),
        "--interval",
        "0.05",
    )
    ws_url, api_url = sim.wait_line(r"KALSHI_WS_URL=(\S+) KALSHI_API_URL=(\S+)").groups()

    # Ingest with the key, recording every frame and serving metrics.
    metrics_port = free_port()
    ingest = start(
        "ingest",
        "--venue",
        "kalshi",
        "--duration",
        "6",
        "--record",
        str(tmp / "rec.jsonl"),
        "--metrics-port",
        str(metrics_port),
        extra={**cluster, "KALSHI_WS_URL": ws_url, "KALSHI_API_URL": api_url},
    )
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    assert wait_for(lambda: answers(url) and "echoarb_" in http_get(url)[1], 30, interval=0.2), ingest.tail()
    metrics = http_get(url)[1]
    outputs.append(metrics)
    assert "echoarb_" in metrics
    ingested = finish(ingest)
    assert "ingested" in ingested

    # A worker on the same cluster, stopped after it has run for a while.
    worker = start(
        "worker", extra={**cluster, "BROKER_SESSION_TIMEOUT": "2", "WORKER_WEB_PORT": str(free_port())}
    )
    time.sleep(8)
    worker.signal(signal.SIGTERM)
    finish(worker)

    # The sink pointed at a ClickHouse server that is not there, with a password in the URL.
    sink = start(
        "sink", extra={**cluster, "CLICKHOUSE_URL": f"http://default:{CH_PASSWORD}@127.0.0.1:1/echoarb"}
    )
    time.sleep(5)
    sink.signal(signal.SIGTERM)
    finish(sink)

    # A whole replay (its own embedded broker) with the key configured.
    replay = start("replay", str(SAMPLE), "--out", str(tmp / "spreads.jsonl"), extra=secret_env)
    assert "replayed" in finish(replay, timeout=300)

    records = asyncio.run(_all_records(bootstrap))
    assert records, "the shared broker carried records"

    files = [p for p in tmp.rglob("*") if p.is_file() and "keys" not in p.parts]
    assert any(p.name == "rec.jsonl" for p in files) and any(p.suffix == ".log" for p in files)
    haystacks = {f"output #{i}": text.encode() for i, text in enumerate(outputs)}
    haystacks.update({str(p.relative_to(tmp)): p.read_bytes() for p in files})
    haystacks["kafka records"] = b"\n".join(records)
    leaks = [
        f"{what} in {where}"
        for what, secret in secrets.items()
        for where, data in haystacks.items()
        if secret.encode() in data
    ]
    assert not leaks, leaks
