"""Runs a Faust worker as a child process (Faust owns its event loop and signals)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from echoarb.kafka.processes import free_port, spawn, terminate
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
        merge_mode: str | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.settings = settings
        self.worker_id = worker_id
        self.web_port = web_port or free_port()
        self.log_path = log_path or settings.data_dir / "logs" / f"{worker_id}.log"
        # Every setting goes to the child (Settings.child_env); these few are the child's own.
        overrides: dict[str, Any] = {
            "kafka_bootstrap": bootstrap,
            "embedded_broker": embedded_broker,
            "worker_id": worker_id,
            "worker_web_port": self.web_port,
        }
        if merge_max_wait_ms is not None:
            overrides["merge_max_wait_ms"] = merge_max_wait_ms
        if merge_mode is not None:
            overrides["merge_mode"] = merge_mode
        env = settings.child_env(**overrides)
        self._env = env
        self._proc: subprocess.Popen[bytes] | None = None
        self.killed = 0

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self._proc = spawn(
            [sys.executable, "-m", "echoarb", "worker"], env=self._env, stdout=log, stderr=subprocess.STDOUT
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
