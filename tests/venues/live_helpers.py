"""Shared helpers for the live connector tests: a fake publisher, a waiting helper, key pairs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY

from echoarb.ingest.frames import FrameHandler
from echoarb.ingest.live import BufferedIngest
from echoarb.model import Tick
from echoarb.pairs import PairsConfig, load_pairs
from echoarb.venues.connector import ConnectorTiming
from tests.paths import PAIRS as PAIRS_FILE

# Short intervals so failure scenarios resolve in tens of milliseconds.
FAST = ConnectorTiming(
    ping_interval=0.05,
    heartbeat_timeout=0.4,
    connect_timeout=2.0,
    backoff_base=0.01,
    backoff_cap=0.05,
    breaker_threshold=50,
    breaker_reset=0.1,
)


class FakePublisher:
    """Collects what the pipeline publishes; ``gate`` (when cleared) blocks delivery like a dead Kafka."""

    def __init__(self) -> None:
        self.ticks: list[Tick] = []
        self.dead_letters: list[tuple[str, str]] = []
        self.watermark = -1
        self.flushes = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def add(self, ticks: list[Tick]) -> None:
        await self.gate.wait()
        self.ticks.extend(ticks)

    def advance(self, watermark: int) -> None:
        self.watermark = max(self.watermark, watermark)

    async def flush(self, *, end_of_stream: bool = False) -> None:
        await self.gate.wait()
        self.flushes += 1

    async def wait_delivered(self) -> None:
        await self.gate.wait()

    async def dead_letter(self, venue: str, frame: str, reason: str, recv_ts: int) -> None:
        self.dead_letters.append((venue, reason))


def pairs() -> PairsConfig:
    return load_pairs(PAIRS_FILE)


def pipeline(buffer_frames: int = 10_000, heartbeat_ms: int = 20) -> tuple[BufferedIngest, FakePublisher]:
    publisher = FakePublisher()
    return BufferedIngest(
        FrameHandler(pairs()), publisher, buffer_frames=buffer_frames, heartbeat_ms=heartbeat_ms
    ), publisher


async def until(predicate: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    """Poll ``predicate`` every 5 ms; fail with ``what`` after ``timeout`` seconds (generous: on
    a loaded CI machine a live simulator round trip can take seconds; a pass returns at once)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.005)


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def stop(*tasks: asyncio.Task[Any]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def keypair(tmp_path: Path) -> tuple[Path, Path]:
    from echoarb.venues.kalshi.auth import generate_keypair

    return generate_keypair(tmp_path / "keys")
