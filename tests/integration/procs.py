"""Subprocess helpers of the fault tests: run ``echoarb`` commands, read their logs, find their children.

Every command writes stdout and stderr to a log file (never a pipe nobody reads, which
could fill and block it); tests wait on a line in that file with a deadline, never on a
sleep. Process trees come from ``/proc`` (Linux; no psutil here).
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
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "config" / "recordings" / "sample.jsonl"


def echoarb(*args: str) -> list[str]:
    """The command line of ``echoarb ARGS`` in this interpreter."""
    return [sys.executable, "-m", "echoarb", *args]


def clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """This environment minus any outside Kafka or ClickHouse, with its own data dir."""
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP", "CLICKHOUSE_URL")}
    env["DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


class Proc:
    """One ``echoarb`` command running with its output in ``log``."""

    def __init__(
        self, args: list[str], env: Mapping[str, str], cwd: Path, log: Path, **popen: object
    ) -> None:
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            self.popen: subprocess.Popen[bytes] = subprocess.Popen(  # type: ignore[call-overload]
                echoarb(*args), env=dict(env), cwd=cwd, stdout=out, stderr=subprocess.STDOUT, **popen
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def poll(self) -> int | None:
        return self.popen.poll()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_line(self, pattern: str, timeout: float = 60.0, *, after: int = 0) -> re.Match[str]:
        """The first match of ``pattern`` in the output (from character ``after``); fails with the
        output's tail if the command exits or ``timeout`` passes first."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.compile(pattern, re.M).search(self.output(), after)
            if match:
                return match
            if self.poll() is not None:
                match = re.compile(pattern, re.M).search(self.output(), after)
                if match:
                    return match
                raise AssertionError(f"exited ({self.popen.returncode}) before {pattern!r}:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not printed within {timeout:g}s:\n{self.tail()}")
            time.sleep(0.1)

    def tail(self, chars: int = 3000) -> str:
        return self.output()[-chars:]

    def signal(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if self.poll() is None:
            self.popen.send_signal(sig)

    def wait(self, timeout: float) -> int | None:
        """The exit code, or None if still running after ``timeout``."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        if self.poll() is None:
            self.popen.kill()
        self.popen.wait()


def start(args: list[str], env: Mapping[str, str], cwd: Path, log: Path | None = None) -> Proc:
    """``echoarb ARGS`` in ``cwd``; output to ``log`` (default ``cwd/<command>.log``)."""
    return Proc(args, env, cwd, log or cwd / f"{args[0]}-{time.monotonic_ns()}.log")


def start_broker(env: Mapping[str, str], cwd: Path, *args: str) -> tuple[Proc, str]:
    """``echoarb broker`` and the bootstrap address it printed."""
    proc = start(["broker", *args], env, cwd)
    match = proc.wait_line(r"embedded broker on (\S+?);", 60.0)
    return proc, match.group(1)


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.05) -> bool:
    """True as soon as ``predicate()`` is truthy; False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def _stat(pid: int | str) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as fp:
            return fp.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def descendants(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (children, grandchildren...)."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(entry)
            if fields is not None and fields[0] != "Z":
                tree.setdefault(int(fields[1]), []).append(int(entry))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (a zombie counts as gone)."""
    return {pid for pid in pids if (fields := _stat(pid)) is not None and fields[0] != "Z"}


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fp:
        for line in fp:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def http_get(url: str, token: str | None = None, timeout: float = 5.0) -> tuple[int, str]:
    """(status, body) of a GET; an HTTP error status is an answer, not an exception."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as r:
            return int(r.status), r.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode(errors="replace")


def answers(url: str) -> bool:
    """Does an HTTP server answer at ``url`` (any status)?"""
    try:
        http_get(url, timeout=1.0)
    except OSError:
        return False
    return True
