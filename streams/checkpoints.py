"""Checkpoints: what the worker may persist and commit once its outputs are delivered.

The agent never waits for the broker. Per partition it collects, over ``state_flush_ms``,
the delivery futures of the spread events and window records it sent (one per producer
batch where they were appended to an open batch: ``streams.open_batch``) and the records it
may ack; sealing that set also serialises the pair states it touched (one changelog record
per pair per checkpoint, however many ticks changed it). A single committer task takes
checkpoints in order and, only after every output in one is delivered, writes its states
to the table and acks its records. The rule "outputs first, state second" therefore holds
without a round trip per record: a crash loses at most undelivered outputs whose records
were not acked, and the new owner re-emits them (identical duplicates).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Checkpoint:
    partition: int
    generation: int
    futures: list[Awaitable[Any]] = field(default_factory=list)  # one per output record
    # Outputs appended to an open producer batch (streams.open_batch): the batch's delivery
    # future -> offset within the batch of the last of them (one entry per batch, not per record).
    batches: dict[Awaitable[Any], int] = field(default_factory=dict)
    acks: list[Any] = field(default_factory=list)
    states: list[tuple[bytes, bytes]] = field(default_factory=list)
    control: str | None = None  # producer id whose end of stream this checkpoint completes
    opened: float = field(default_factory=time.monotonic)

    @property
    def empty(self) -> bool:
        return not (self.futures or self.batches or self.acks or self.states or self.control)


class Checkpoints:
    """Open checkpoints per partition and the ordered queue of sealed ones."""

    def __init__(self, flush_s: float) -> None:
        self.flush_s = flush_s
        self.open: dict[int, Checkpoint] = {}
        self.sealed: asyncio.Queue[Checkpoint] = asyncio.Queue()

    def current(self, partition: int, generation: int) -> Checkpoint:
        cp = self.open.get(partition)
        if cp is None or cp.generation != generation:
            cp = self.open[partition] = Checkpoint(partition, generation)
        return cp

    def due(self, partition: int, now: float) -> bool:
        cp = self.open.get(partition)
        return cp is not None and now - cp.opened >= self.flush_s

    def seal(self, partition: int, states: list[tuple[bytes, bytes]], control: str | None = None) -> None:
        cp = self.open.pop(partition, None)
        if cp is None:
            return
        cp.states.extend(states)
        cp.control = control
        if not cp.empty:
            self.sealed.put_nowait(cp)

    def drop(self, partition: int) -> None:
        """Forget an open checkpoint of a revoked partition (its records are re-read elsewhere)."""
        self.open.pop(partition, None)

    @property
    def pending(self) -> int:
        return self.sealed.qsize() + len(self.open)


async def run_committer(
    checkpoints: Checkpoints, commit: Callable[[Checkpoint, list[Any]], Awaitable[None]]
) -> None:
    """Deliver-then-commit loop: one checkpoint at a time, in the order they were sealed.

    ``commit`` gets the outcomes of ``cp.futures`` then of ``cp.batches``, in that order."""
    while True:
        cp = await checkpoints.sealed.get()
        results = await asyncio.gather(*cp.futures, *cp.batches, return_exceptions=True)
        await commit(cp, list(results))
