"""SIGTERM stops every long-running command within a bound, even when the broker is gone.

Each command runs against a shared embedded broker (``echoarb broker``); in the "broker
gone" variant the broker is SIGKILLed first, as a crashed cluster would be. A stop must
exit within ``BOUND`` seconds and leave none of the command's children behind.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from echoarb.kafka.processes import free_port
from tests.integration.test_orphans import alive, descendants, wait_for

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "config" / "recordings" / "sample.jsonl"
BOUND = 15.0

COMMANDS: dict[str, list[str]] = {
    "ingest": ["ingest", "--venue", "manifold"],
    "worker": ["worker"],
    "sink": ["sink"],
    "replay": ["replay", str(SAMPLE), "--speed", "0.5"],
}


def _answers(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
    except urllib.error.HTTPError:
        return True  # any HTTP answer: the web server is up
    except OSError:
        return False
    return True


def _start_broker(env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "echoarb", "broker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=cwd,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        match = re.search(r"embedded broker on (\S+?);", line)
        if match:
            return proc, match.group(1)
    raise AssertionError("broker did not start")


@pytest.mark.chaos(
    "SIGTERM to ingest/worker/sink/replay (broker up, broker gone)",
    "clean stop within 15 s, no traceback, no orphans",
)
@pytest.mark.parametrize("broker_gone", [False, True], ids=["broker-up", "broker-gone"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_sigterm_stops_within_bound(command: str, broker_gone: bool, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP", "CLICKHOUSE_URL")}
    web_port = free_port()
    env.update(DATA_DIR=str(tmp_path / "data"), BROKER_SESSION_TIMEOUT="2", WORKER_WEB_PORT=str(web_port))
    # Manifold's REST and WebSocket point at a closed port: ingest keeps reconnecting, as in an outage.
    env.update(MANIFOLD_API_URL="http://127.0.0.1:1/v0", MANIFOLD_WS_URL="ws://127.0.0.1:1/ws")
    broker, bootstrap = _start_broker(env, tmp_path)
    try:
        if command != "replay":  # replay brings its own embedded broker
            env.update(KAFKA_BOOTSTRAP=bootstrap, ECHOARB_EMBEDDED_BROKER="1")
        proc = subprocess.Popen(
            [sys.executable, "-m", "echoarb", *COMMANDS[command]],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        if command == "worker":  # ready: Faust answers on its web port
            assert wait_for(lambda: _answers(web_port), 90.0), "worker never became ready"
        time.sleep(4)  # well into its run: connected, consuming or replaying
        assert proc.poll() is None, f"{command} exited early: {proc.communicate()[1][-2000:]}"
        children = descendants(proc.pid)
        if broker_gone:
            if command == "replay":
                for pid in children:  # its own broker: kill the Tansu child
                    if "tansu" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                        os.kill(pid, signal.SIGKILL)
            else:
                broker.kill()
            time.sleep(1)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=BOUND)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
            raise AssertionError(
                f"{command} ignored SIGTERM for {BOUND}s; stderr tail: {err[-2000:]}"
            ) from None
        took = time.monotonic() - started
        assert "Traceback" not in err, err[:6000]
        assert wait_for(lambda: not alive(children), 5.0), f"children left: {alive(children)}"
        print(
            f"{command} ({'broker gone' if broker_gone else 'broker up'}): "
            f"stopped in {took:.1f}s, rc={proc.returncode}"
        )
    finally:
        broker.kill()
        broker.wait()
