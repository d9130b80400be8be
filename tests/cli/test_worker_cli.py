"""`echoarb worker` refuses settings it cannot honour, with a clear message and exit 2."""

from __future__ import annotations

import os
import subprocess
import sys


def test_exactly_once_on_the_embedded_broker_is_refused_up_front() -> None:
    env = dict(
        os.environ,
        KAFKA_BOOTSTRAP="127.0.0.1:1",
        ECHOARB_EMBEDDED_BROKER="1",
        PROCESSING_GUARANTEE="exactly_once",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "echoarb", "worker"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "exactly_once needs transactional producers" in proc.stderr + proc.stdout
