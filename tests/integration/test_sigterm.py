"""SIGTERM stops every long-running command within a bound, even when the broker is gone.

Each command runs against a shared embedded broker (``echoarb broker``); in the "broker
gone" variant the broker is SIGKILLed first, as a crashed cluster would be. A stop must
exit within ``BOUND`` seconds, print no traceback and leave none of the command's children
behind. The services that own a clean stop (sink, serve, up) exit 0 on it.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from echoarb.kafka.processes import free_port
from tests.integration.procs import (
    SAMPLE,
    alive,
    answers,
    clean_env,
    cmdline,
    descendants,
    start,
    start_broker,
    wait_for,
)

BOUND = 15.0


@dataclass(frozen=True)
class Command:
    args: list[str]
    ready: str | None = None  # a log line that says it is running (else: a few seconds in)
    clean_exit: bool = False  # SIGTERM is its normal stop: exit code 0


def _commands(port: int) -> dict[str, Command]:
    return {
        "ingest": Command(["ingest", "--venue", "manifold"]),
        "worker": Command(["worker"]),
        "sink": Command(["sink"], ready=r"sink: consuming", clean_exit=True),
        # Ready once it publishes: a stop must not wait for tick batches the dead broker never takes.
        "replay": Command(["replay", str(SAMPLE), "--speed", "0.5"], ready=r"replaying .*: publishing"),
        "serve": Command(["serve", "--port", str(port)], ready=r"serve ready: board", clean_exit=True),
        "up": Command(["up", "--simulate", "--port", str(port)], ready=r" board ", clean_exit=True),
    }


COMMANDS = sorted(_commands(0))


@pytest.mark.chaos(
    "SIGTERM to ingest/worker/sink/replay/serve/up (broker up, broker gone)",
    "clean stop within 15 s, no traceback, no orphans",
)
@pytest.mark.parametrize("broker_gone", [False, True], ids=["broker-up", "broker-gone"])
@pytest.mark.parametrize("command", COMMANDS)
def test_sigterm_stops_within_bound(command: str, broker_gone: bool, tmp_path: Path) -> None:
    web_port, port = free_port(), free_port()
    spec = _commands(port)[command]
    env = clean_env(tmp_path / "data", BROKER_SESSION_TIMEOUT="2", WORKER_WEB_PORT=str(web_port))
    # Manifold's REST and WebSocket point at a closed port: ingest keeps reconnecting, as in an outage.
    env.update(MANIFOLD_API_URL="http://127.0.0.1:1/v0", MANIFOLD_WS_URL="ws://127.0.0.1:1/ws")
    broker, bootstrap = start_broker(env, tmp_path)
    try:
        if command != "replay":  # replay brings its own embedded broker
            env.update(KAFKA_BOOTSTRAP=bootstrap, ECHOARB_EMBEDDED_BROKER="1")
        proc = start(spec.args, env, tmp_path, tmp_path / f"{command}.log")
        if command == "worker":  # ready: Faust answers on its web port
            assert wait_for(lambda: answers(f"http://127.0.0.1:{web_port}/"), 90.0), proc.tail()
        if spec.ready:
            proc.wait_line(spec.ready, 180.0)
            time.sleep(1)  # a second into it (replay: batches sent)
        else:
            time.sleep(4)  # well into its run: connected, consuming or replaying
        assert proc.poll() is None, f"{command} exited early: {proc.tail()}"
        children = descendants(proc.pid)
        if broker_gone:
            if command == "replay":
                for pid in children:  # its own broker: kill the Tansu child
                    if "tansu" in cmdline(pid):
                        os.kill(pid, signal.SIGKILL)
            else:
                broker.kill()
            time.sleep(1)
        started = time.monotonic()
        proc.signal(signal.SIGTERM)
        rc = proc.wait(BOUND)
        if rc is None:
            proc.kill()
            raise AssertionError(f"{command} ignored SIGTERM for {BOUND}s; output tail: {proc.tail()}")
        took = time.monotonic() - started
        out = proc.output()
        assert "Traceback" not in out, out[-6000:]
        assert wait_for(lambda: not alive(children), 5.0), f"children left: {alive(children)}"
        if spec.clean_exit and not broker_gone:
            assert rc == 0, proc.tail()
        print(f"{command} ({'broker gone' if broker_gone else 'broker up'}): stopped in {took:.1f}s, rc={rc}")
    finally:
        broker.kill()
