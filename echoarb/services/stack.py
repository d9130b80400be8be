"""``echoarb up``: the whole live stack as one supervised process tree.

broker (embedded Tansu unless KAFKA_BOOTSTRAP) -> [simulators] -> ingest -> worker(s) -> sink,
serve. Every part except the broker is a child ``python -m echoarb ...`` process, the same
command a user runs alone against a real cluster, with its log in ``DATA_DIR/logs/up-*.log``
and its readiness probed over HTTP (``/health``) or TCP. The supervisor logs one line per part
when it is ready, then watches them: a part that exits stops the stack with its log tail.

Stopping (Ctrl-C, SIGTERM, a failed part): every part gets SIGTERM at once (upstream first)
and stops on its own within its grace period, else SIGKILL: ingest delivers what it buffered,
the workers deliver and commit their checkpoints, the sink inserts what it buffered and
commits; nothing of that depends on another part still running, so the stack stops as fast
as its slowest part. The broker is stopped last, on every path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from echoarb.kafka.processes import free_port, spawn, terminate
from echoarb.settings import Settings

log = logging.getLogger("echoarb.up")

SIM_KALSHI_KEY_ID = "echoarb-simulator"
WORKER_GROUP = "echoarb-live"


class StackError(RuntimeError):
    pass


@dataclass
class Part:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    probe: Callable[[], bool]
    describe: str = ""
    grace_s: float = 15.0
    proc: subprocess.Popen[bytes] | None = None
    ready_after: float | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log_file:
            # Own session: a Ctrl-C reaches the supervisor only, which stops the parts in order;
            # and a SIGKILLed supervisor leaves no part behind (parent-death signal).
            self.proc = spawn(
                self.argv, env=self.env, stdout=log_file, stderr=subprocess.STDOUT, new_session=True
            )

    def exited(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.proc is not None:
            terminate(self.proc, self.grace_s)


def http_ok(url: str) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    return probe


def tcp_open(port: int) -> Callable[[], bool]:
    import socket

    def probe() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    return probe


@dataclass
class StackPlan:
    """What ``echoarb up`` starts; built by :func:`plan` so tests can inspect it."""

    parts: list[Part] = field(default_factory=list)
    board_url: str = ""
    #: With --simulate: the simulators' REST base URLs, for ``echoarb discover`` (announced).
    discover_env: dict[str, str] = field(default_factory=dict)


def _child_env(settings: Settings, bootstrap: str, embedded: bool, **overrides: Any) -> dict[str, str]:
    """Every setting reaches every part (``Settings.child_env``), plus the broker to use."""
    env: dict[str, str] = settings.child_env(
        kafka_bootstrap=bootstrap, embedded_broker=embedded, worker_id=WORKER_GROUP, **overrides
    )
    env["PYTHONUNBUFFERED"] = "1"
    return env


def sim_kalshi_key(data_dir: Path) -> tuple[Path, Path]:
    """A throwaway key pair for the Kalshi simulator (the real protocol signs every upgrade)."""
    from echoarb.venues.kalshi.auth import generate_keypair

    directory = data_dir / "simulator-keys"
    private, public = directory / "kalshi-sim.pem", directory / "kalshi-sim.pub.pem"
    if not private.exists():
        generate_keypair(directory, "kalshi-sim")
    return private, public


def plan(
    settings: Settings,
    bootstrap: str,
    embedded: bool,
    *,
    simulate: bool,
    workers: int = 1,
    host: str = "127.0.0.1",
    serve_port: int = 8000,
    sink: bool = True,
    venues: list[str] | None = None,
    seed: int = 7,
) -> StackPlan:
    exe = [sys.executable, "-m", "echoarb"]
    logs = settings.data_dir / "logs"
    env = _child_env(settings, bootstrap, embedded)
    result = StackPlan()
    ingest_env = dict(env)
    if simulate:
        private, public = sim_kalshi_key(settings.data_dir)
        for venue in ("kalshi", "polymarket", "manifold"):
            port = free_port()
            argv = [
                *exe,
                "simulate",
                "--venue",
                venue,
                "--port",
                str(port),
                "--market",
                "--seed",
                str(seed),
                "--interval",
                "0.1",
            ]
            if venue == "kalshi":
                argv += ["--public-key", str(public)]
            result.parts.append(
                Part(
                    f"simulator {venue}",
                    argv,
                    env,
                    logs / f"up-sim-{venue}.log",
                    tcp_open(port),
                    f"ws://127.0.0.1:{port}",
                    grace_s=3,
                )
            )
            base = f"ws://127.0.0.1:{port}"
            if venue == "kalshi":
                ingest_env.update(
                    KALSHI_WS_URL=f"{base}/trade-api/ws/v2",
                    KALSHI_API_URL=f"http://127.0.0.1:{port}/trade-api/v2",
                    KALSHI_API_KEY=SIM_KALSHI_KEY_ID,
                    KALSHI_PRIVATE_KEY_PATH=str(private),
                )
                result.discover_env["KALSHI_API_URL"] = ingest_env["KALSHI_API_URL"]
            elif venue == "polymarket":
                ingest_env.update(
                    POLYMARKET_WS_URL=f"{base}/ws/market",
                    POLYMARKET_GAMMA_URL=f"http://127.0.0.1:{port}",
                    POLYMARKET_CLOB_URL=f"http://127.0.0.1:{port}",
                )
                result.discover_env["POLYMARKET_GAMMA_URL"] = ingest_env["POLYMARKET_GAMMA_URL"]
            else:
                ingest_env.update(
                    MANIFOLD_WS_URL=f"{base}/ws", MANIFOLD_API_URL=f"http://127.0.0.1:{port}/v0"
                )
                result.discover_env["MANIFOLD_API_URL"] = ingest_env["MANIFOLD_API_URL"]
    for i in range(workers):
        port = free_port()
        wenv = dict(
            env,
            WORKER_WEB_PORT=str(port),
            WORKER_CANONICAL_URL=f"http://127.0.0.1:{port}",
        )
        result.parts.append(
            Part(
                f"worker {i + 1}",
                [*exe, "worker"],
                wenv,
                logs / f"up-worker-{i + 1}.log",
                http_ok(f"http://127.0.0.1:{port}/health"),
                f"http://127.0.0.1:{port}/metrics",
                grace_s=20,
            )
        )
    if sink:
        port = free_port()
        result.parts.append(
            Part(
                "sink",
                [*exe, "sink", "--metrics-port", str(port)],
                env,
                logs / "up-sink.log",
                http_ok(f"http://127.0.0.1:{port}/health"),
                f"http://127.0.0.1:{port}/metrics",
                grace_s=30,
            )
        )
    serve_port = serve_port or free_port()
    result.board_url = f"http://{host if host not in ('0.0.0.0', '::') else '127.0.0.1'}:{serve_port}/"
    result.parts.append(
        Part(
            "serve",
            [*exe, "serve", "--host", host, "--port", str(serve_port)],
            env,
            logs / "up-serve.log",
            http_ok(f"{result.board_url}health"),
            result.board_url,
            grace_s=10,
        )
    )
    port = free_port()
    argv = [*exe, "ingest", "--metrics-port", str(port)]
    for venue in venues or []:
        argv += ["--venue", venue]
    result.parts.append(
        Part(
            "ingest",
            argv,
            ingest_env,
            logs / "up-ingest.log",
            http_ok(f"http://127.0.0.1:{port}/health"),
            f"http://127.0.0.1:{port}/metrics",
            grace_s=15,
        )
    )
    return result


# Stop order: producers before consumers, the broker (outside the plan) last.
_STOP_ORDER = ("ingest", "worker", "sink", "serve", "simulator")


def _stop_rank(part: Part) -> int:
    return next((i for i, prefix in enumerate(_STOP_ORDER) if part.name.startswith(prefix)), len(_STOP_ORDER))


class Stack:
    def __init__(self, stack_plan: StackPlan, *, ready_timeout: float = 120.0) -> None:
        self.plan = stack_plan
        self.ready_timeout = ready_timeout
        self._stop = asyncio.Event()
        self.started_at = time.monotonic()

    def request_stop(self) -> None:
        self._stop.set()

    async def _await_ready(self, part: Part, announce: Callable[[str], None]) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while not await asyncio.to_thread(part.probe):
            code = part.exited()
            if code is not None:
                raise StackError(
                    f"{part.name} exited with code {code} while starting; "
                    f"log {part.log_path}:\n{part.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise StackError(
                    f"{part.name} not ready after {self.ready_timeout:.0f}s; "
                    f"log {part.log_path}:\n{part.log_tail()}"
                )
            await asyncio.sleep(0.2)
        part.ready_after = time.monotonic() - self.started_at
        announce(f"ready  {part.name:<20} {part.describe}  ({part.ready_after:.1f}s, log {part.log_path})")

    async def run(self, announce: Callable[[str], None]) -> None:
        """Start everything, announce readiness, supervise until a stop request or a failure."""
        parts = self.plan.parts
        try:
            simulators = [p for p in parts if p.name.startswith("simulator")]
            for part in simulators:  # ingest connects to them at once: they go first
                part.start()
            await self._gather_ready(simulators, announce)
            rest = [p for p in parts if p not in simulators]
            for part in rest:
                part.start()
            await self._gather_ready(rest, announce)
            announce(
                f"board  {self.plan.board_url}  (API docs {self.plan.board_url}docs; Ctrl-C stops everything)"
            )
            if self.plan.discover_env:
                urls = " ".join(f"{k}={v}" for k, v in self.plan.discover_env.items())
                announce(f"discover against the simulators: {urls} echoarb discover --refresh")
            while not self._stop.is_set():
                for part in parts:
                    code = part.exited()
                    if code is not None:
                        raise StackError(
                            f"{part.name} exited with code {code}; log {part.log_path}:\n{part.log_tail()}"
                        )
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.5):
                        await self._stop.wait()
        finally:
            await asyncio.to_thread(self.stop_all, announce)

    async def _gather_ready(self, parts: list[Part], announce: Callable[[str], None]) -> None:
        tasks: list[asyncio.Task[object]] = [
            asyncio.create_task(self._await_ready(p, announce)) for p in parts
        ]
        stop: asyncio.Task[object] = asyncio.create_task(self._stop.wait())
        try:
            pending: set[asyncio.Task[object]] = set(tasks)
            while pending:
                done, pending = await asyncio.wait(pending | {stop}, return_when=asyncio.FIRST_COMPLETED)
                if stop in done:
                    return
                pending.discard(stop)
                for task in done:
                    task.result()
        finally:
            stop.cancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, stop, return_exceptions=True)

    def stop_all(self, announce: Callable[[str], None]) -> None:
        """SIGTERM to every running part (upstream first), then wait for each within its grace
        period, in parallel: the stop takes as long as the slowest part, not their sum. Each part
        flushes and commits its own work on SIGTERM, so nothing depends on the others being up."""
        running = [
            p for p in sorted(self.plan.parts, key=_stop_rank) if p.proc is not None and p.proc.poll() is None
        ]
        began = time.monotonic()
        for part in running:
            assert part.proc is not None
            with contextlib.suppress(ProcessLookupError):
                part.proc.send_signal(signal.SIGTERM)
        for part in running:
            assert part.proc is not None
            try:
                part.proc.wait(max(0.0, began + part.grace_s - time.monotonic()))
            except subprocess.TimeoutExpired:
                part.proc.kill()
                part.proc.wait()
            announce(f"stopped {part.name} (exit {part.proc.returncode}, {time.monotonic() - began:.1f}s)")
