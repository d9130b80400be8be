"""Bad input to the CLI gets one clear line and exit code 2, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "config" / "recordings" / "sample.jsonl"


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP", "CLICKHOUSE_URL")}
    base["DATA_DIR"] = str(tmp_path / "data")
    return subprocess.run(
        [sys.executable, "-m", "echoarb", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


def assert_one_clear_line(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = [line for line in proc.stderr.splitlines() if line.startswith("echoarb: error:")]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


@pytest.mark.chaos("bad recording lines (JSON, recv_ts, UTF-8)", "one line naming file:line, exit 2")
def test_recording_line_that_is_not_json(tmp_path: Path) -> None:
    rec = tmp_path / "bad.jsonl"
    lines = SAMPLE.read_text().splitlines()[:5]
    rec.write_text("\n".join([*lines[:3], "{not json", *lines[3:]]) + "\n")
    proc = run(["replay", str(rec)], tmp_path)
    assert_one_clear_line(proc, f"{rec}:4:", "not valid JSON", "--skip-bad-lines")


@pytest.mark.chaos("bad recording lines (JSON, recv_ts, UTF-8)", "one line naming file:line, exit 2")
def test_recording_with_a_bad_recv_ts(tmp_path: Path) -> None:
    rec = tmp_path / "bad.jsonl"
    rec.write_text('{"venue":"kalshi","recv_ts":"x","frame":"{}"}\n')
    proc = run(["replay", str(rec)], tmp_path)
    assert_one_clear_line(proc, f"{rec}:1:", "recv_ts")


@pytest.mark.chaos("bad recording lines (JSON, recv_ts, UTF-8)", "one line naming file:line, exit 2")
def test_recording_that_is_not_utf8(tmp_path: Path) -> None:
    rec = tmp_path / "bad.jsonl"
    rec.write_bytes(b'{"venue":"kalshi","recv_ts":1,"frame":"\xff\xfe"}\n')
    proc = run(["replay", str(rec)], tmp_path)
    assert_one_clear_line(proc, f"{rec}:1:")


@pytest.mark.chaos("unreachable Kafka at start", "retries with backoff, then one line, exit 2")
def test_unreachable_kafka_retries_then_gives_up_in_one_line(tmp_path: Path) -> None:
    started = time.monotonic()
    proc = run(["worker"], tmp_path, KAFKA_BOOTSTRAP="127.0.0.1:1", KAFKA_CONNECT_TIMEOUT_S="2")
    assert_one_clear_line(proc, "127.0.0.1:1", "did not answer", "KAFKA_CONNECT_TIMEOUT_S")
    assert "retrying in" in proc.stderr  # it did retry, and said so
    assert "KafkaConnectionError: KafkaConnectionError" not in proc.stderr
    assert "ERROR" not in proc.stderr  # aiokafka's own line per refused connection is quiet
    assert time.monotonic() - started < 60


def test_bad_cli_flag_gives_usage_not_a_traceback(tmp_path: Path) -> None:
    proc = run(["replay", "--no-such-flag"], tmp_path)
    assert proc.returncode == 2
    assert "usage: echoarb" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.chaos(
    "unreachable ClickHouse with a password in the URL", "one line, password masked as a value"
)
def test_top_with_unreachable_clickhouse_masks_only_the_password(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "echoarb", "top"],
        env={**os.environ, "CLICKHOUSE_URL": "http://u:p@127.0.0.1:1/db", "DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "http://u:***@127.0.0.1:1/db" in proc.stderr
    assert "htt***" not in proc.stderr
    assert ":p@" not in proc.stderr
