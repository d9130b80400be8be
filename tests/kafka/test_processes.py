"""Children die with their parent: a SIGKILLed parent leaves no broker or worker behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from echoarb.kafka.processes import spawn


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat") as fp:
            return fp.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _wait_dead(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("die_with_parent", [True, False])
def test_child_dies_when_parent_is_sigkilled(die_with_parent: bool) -> None:
    parent_code = textwrap.dedent(
        f"""
        import sys, time
        from echoarb.kafka.processes import spawn
        sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
        child = spawn(sleeper, die_with_parent={die_with_parent})
        print(child.pid, flush=True)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    try:
        assert _alive(child_pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        # Without the parent-death signal the child would outlive its parent (the old bug).
        assert _wait_dead(child_pid, 3.0) is die_with_parent
    finally:
        if _alive(child_pid):
            os.kill(child_pid, signal.SIGKILL)


def test_spawned_child_runs_normally() -> None:
    proc = spawn([sys.executable, "-c", "print('ok')"], stdout=subprocess.PIPE)
    out, _ = proc.communicate(timeout=30)
    assert out.strip() == b"ok"
    assert proc.returncode == 0
