"""Runs a Faust worker as a child process (Faust owns its event loop and signals)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from echoarb.kafka.processes import free_port, terminate
from echoarb.settings import Settings


class WorkerError(RuntimeError):
    pass


class WorkerProcess:
    def __init__(
        self,
        settings: Settings,
        *,
        bootstrap: str,
        embedded_broker: bool,
        worker_id: str,
        web_port: int | None = None,
        merge_max_wait_ms: int | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.settings = settings
        self.worker_id = worker_id
        self.web_port = web_port or free_port()
        self.log_path = log_path or settings.data_dir / "logs" / f"{worker_id}.log"
        env = dict(os.environ)
        env.update(
            KAFKA_BOOTSTRAP=bootstrap,
            ECHOARB_EMBEDDED_BROKER="1" if embedded_broker else "0",
            WORKER_ID=worker_id,
            WORKER_WEB_PORT=str(self.web_port),
            PAIRS_FILE=str(settings.pairs_file),
            DATA_DIR=str(settings.data_dir),
            PARTITIONS=str(settings.partitions),
            TOPIC_TICKS_PREFIX=settings.topic_ticks_prefix,
            TOPIC_SPREADS=settings.topic_spreads,
            TOPIC_SPREAD_WINDOWS=settings.topic_spread_windows,
            TOPIC_DEAD_LETTER=settings.topic_dead_letter,
            TOPIC_CONTROL=settings.topic_control,
            MIN_EDGE=str(settings.min_edge),
            MAX_QUOTE_AGE_MS=str(settings.max_quote_age_ms),
        )
        if merge_max_wait_ms is not None:
            env["MERGE_MAX_WAIT_MS"] = str(merge_max_wait_ms)
        self._env = env
        self._proc: subprocess.Popen[bytes] | None = None
        self.killed = 0

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "echoarb", "worker"],
            env=self._env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def check_alive(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            raise WorkerError(
                f"worker {self.worker_id} exited with code {self._proc.returncode}; last log lines:\n"
                + self.log_tail()
            )

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no final commit (what a crash looks like)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None
        self.killed += 1

    def stop(self, timeout: float = 10.0) -> None:
        if self._proc is not None:
            terminate(self._proc, timeout)
