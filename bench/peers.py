"""The pipeline benchmark's comparison points, as child processes: the bare loop and Quix Streams.

Both run the same workload (``bench/bare_loop.py``, ``bench/quix_peer.py``) on the same
broker and the same TickBatch records as the EchoArb worker. Quix Streams is installed by
the bench itself into its own venv (``.echoarb/bench-venvs/quix-<version>``, built once;
Quix pins its own confluent-kafka), with fastavro at the project venv's version so that the
project's codec behaves the same there (and aiokafka and msgspec, which the edge work imports).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from echoarb.kafka.processes import terminate

ROOT = Path(__file__).resolve().parent.parent
QUIX_VERSION = "3.28.1"
QUIX_VENV = ROOT / ".echoarb" / "bench-venvs" / f"quix-{QUIX_VERSION}"
# The codec; for the edge work (bench/edge_work.py), aiokafka (the partitioner's murmur2) and
# msgspec (pair states); pydantic: whatever Quix Streams resolves.
_SHARED_PINS = ("fastavro", "aiokafka", "msgspec")


class PeerUnavailable(RuntimeError):
    """The peer cannot run here; the message says why (it goes into the results)."""


def quix_python(progress: bool = True) -> Path:
    """The Quix venv's interpreter, creating the venv on first use (~1 min, PyPI)."""
    python = QUIX_VENV / "bin" / "python"
    stamp = QUIX_VENV / ".installed"
    pins = [f"quixstreams=={QUIX_VERSION}"]
    pins += [f"{name}=={importlib.metadata.version(name)}" for name in _SHARED_PINS]
    if stamp.exists() and python.exists() and stamp.read_text().split() == pins:
        return python
    if progress:
        print(f"bench: installing Quix Streams {QUIX_VERSION} into {QUIX_VENV} ...", file=sys.stderr)
    try:
        if not python.exists():  # else: an older install, topped up with the pins it lacks
            subprocess.run(
                [sys.executable, "-m", "venv", str(QUIX_VENV)], check=True, capture_output=True, text=True
            )
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *pins],
            check=True,
            capture_output=True,
            text=True,
            timeout=900,
        )
    except subprocess.CalledProcessError as exc:
        tail = (exc.stderr or exc.stdout or "").strip().splitlines()[-3:]
        raise PeerUnavailable(f"pip could not install {' '.join(pins)}: {' / '.join(tail)}") from exc
    except subprocess.TimeoutExpired as exc:
        raise PeerUnavailable("installing Quix Streams took over 15 minutes") from exc
    stamp.write_text(" ".join(pins) + "\n")
    return python


class Peer:
    """One peer process consuming ``topics``, writing ``out``: ``kind`` is "bare" or "quix",
    copying each tick, or "bare-edge" / "quix-edge", doing EchoArb's edge work (``bench.edge_work``)."""

    def __init__(self, kind: str, cfg: dict[str, Any], log_path: Path) -> None:
        self.kind = kind
        self.cfg = cfg
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        base, _, work = self.kind.partition("-")
        cfg = json.dumps({**self.cfg, "work": work or "copy"})
        if base == "bare":
            argv = [sys.executable, "-m", "bench.bare_loop", cfg]
        elif base == "quix":
            argv = [str(quix_python()), str(ROOT / "bench" / "quix_peer.py"), cfg]
        else:
            raise ValueError(self.kind)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log_file:
            self._proc = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def check_alive(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            tail = self.log_path.read_text(errors="replace").strip().splitlines()[-5:]
            raise PeerUnavailable(f"{self.kind} peer exited {self._proc.returncode}: {' / '.join(tail)}")

    def stop(self) -> None:
        if self._proc is not None:
            terminate(self._proc, 10.0)
            self._proc = None
