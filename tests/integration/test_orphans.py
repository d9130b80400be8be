"""No orphans: every long-running command's children die with it, however it dies.

Checked on the real commands: ``echoarb broker`` stopped with SIGTERM, and ``echoarb replay``
killed with SIGKILL (a crash or an OOM kill) while its Tansu broker and Faust worker run.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.integration.procs import SAMPLE, alive, clean_env, descendants, start, start_broker, wait_for


@pytest.mark.chaos("SIGTERM to `echoarb broker`", "Tansu child gone within 3 s")
def test_broker_stopped_with_sigterm_takes_its_tansu_along(tmp_path: Path) -> None:
    proc, _ = start_broker(clean_env(tmp_path / "data"), tmp_path)
    try:
        tansu = descendants(proc.pid)
        assert tansu, "the broker command runs Tansu as a child"
        proc.signal(signal.SIGTERM)
        assert proc.wait(10) is not None, proc.tail()
        assert wait_for(lambda: not alive(tansu), 3.0), f"Tansu left running: {alive(tansu)}"
    finally:
        proc.kill()


@pytest.mark.chaos("SIGKILL to `echoarb replay` mid-run", "its broker and worker die with it")
def test_replay_killed_with_sigkill_leaves_no_broker_or_worker(tmp_path: Path) -> None:
    proc = start(
        ["replay", str(SAMPLE), "--speed", "1", "--out", str(tmp_path / "o")],
        clean_env(tmp_path / "data"),
        tmp_path,
    )
    children: set[int] = set()
    try:
        # Wait for the broker and the worker (a Python child) to be up.
        def both_up() -> bool:
            return len(descendants(proc.pid)) >= 2

        assert wait_for(both_up, 60.0), "replay never started its broker and worker"
        children = descendants(proc.pid)
        proc.signal(signal.SIGKILL)
        assert proc.wait(10) is not None
        assert wait_for(lambda: not alive(children), 5.0), f"orphans left running: {alive(children)}"
    finally:
        proc.kill()
        for pid in alive(children | descendants(proc.pid)):  # never leave the orphans we found
            os.kill(pid, signal.SIGKILL)
