"""No orphans: every long-running command's children die with it, however it dies.

Checked on the real commands: ``echoarb broker`` stopped with SIGTERM, and ``echoarb replay``
killed with SIGKILL (a crash or an OOM kill) while its Tansu broker and Faust worker run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "config" / "recordings" / "sample.jsonl"


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fp:
                fields = fp.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    out = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fp:
                if fp.read().rsplit(")", 1)[1].split()[0] != "Z":
                    out.add(pid)
        except OSError:
            pass
    return out


def wait_for(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP", "CLICKHOUSE_URL")}
    env["DATA_DIR"] = str(tmp_path / "data")
    return env


@pytest.mark.chaos("SIGTERM to `echoarb broker`", "Tansu child gone within 3 s")
def test_broker_stopped_with_sigterm_takes_its_tansu_along(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "echoarb", "broker"],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "embedded broker on" in line:
                break
        tansu = descendants(proc.pid)
        assert tansu, "the broker command runs Tansu as a child"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        assert wait_for(lambda: not alive(tansu), 3.0), f"Tansu left running: {alive(tansu)}"
    finally:
        proc.kill()


@pytest.mark.chaos("SIGKILL to `echoarb replay` mid-run", "its broker and worker die with it")
def test_replay_killed_with_sigkill_leaves_no_broker_or_worker(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "echoarb",
            "replay",
            str(SAMPLE),
            "--speed",
            "1",
            "--out",
            str(tmp_path / "o"),
        ],
        env=_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    children: set[int] = set()
    try:
        # Wait for the broker and the worker (a Python child) to be up.
        def both_up() -> bool:
            return len(descendants(proc.pid)) >= 2

        assert wait_for(both_up, 60.0), "replay never started its broker and worker"
        children = descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert wait_for(lambda: not alive(children), 5.0), f"orphans left running: {alive(children)}"
    finally:
        proc.kill()
        for pid in alive(children | descendants(proc.pid)):  # never leave the orphans we found
            os.kill(pid, signal.SIGKILL)
