"""Retrying a failed sink step (ledger, insert, dead-letter) while Kafka fetching is paused.

While ClickHouse (or the dead-letter topic) fails, the sink repeats the same step with capped
exponential backoff (``echoarb.resilience.backoff``, without jitter: one process retrying its
own step, with the delay in the log). Meanwhile it commits nothing and pauses its partitions,
polling on so it keeps its group membership: a partition assigned during the pause is paused
before the next poll, so at most one poll of a fresh assignment arrives, and that is buffered,
never dropped. A step stops being retried when the sink stops (``Abandoned``: nothing of it was
committed, it is re-read on restart) or when all of its partitions were revoked (``Dropped``:
their next owner redoes it from the ledger).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Set
from typing import TYPE_CHECKING, TypeVar

from aiokafka import TopicPartition

from echoarb.redact import scrub
from echoarb.resilience.backoff import Backoff

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer

    from echoarb.sink.routes import Record

log = logging.getLogger(__name__)

T = TypeVar("T")
Fetched = Mapping[TopicPartition, list["Record"]]


class Abandoned(Exception):
    """The sink stopped while a step was still failing; nothing of it was committed."""


class Dropped(Exception):
    """Every partition of the failing step was revoked: its next owner takes over."""


class Retrier:
    """Runs sink steps one at a time, retrying each until it succeeds, stops or is dropped.

    ``owned`` is the sink's live set of owned partitions; ``buffer`` takes what a poll during a
    pause returns. ``lock`` serialises attempts: a revocation takes it to wait for the attempt
    in flight, so no ledger row or block is written for a partition after it was revoked.
    """

    def __init__(
        self,
        *,
        owned: Set[TopicPartition],
        stopping: asyncio.Event,
        buffer: Callable[[Fetched], None],
        initial_s: float,
        max_s: float,
        secret: str | None = None,
    ) -> None:
        self._owned = owned
        self._stopping = stopping
        self._buffer = buffer
        self._initial_s = initial_s
        self._max_s = max_s
        self._secret = secret
        self.lock = asyncio.Lock()
        self.consumer: AIOKafkaConsumer | None = None  # set while the sink is in the group
        self.failures = 0  # failed attempts, each retried

    async def __call__(
        self,
        what: str,
        attempt: Callable[[], Awaitable[T]],
        *,
        tps: Iterable[TopicPartition] = (),
        kafka: bool = True,
    ) -> T:
        """Repeat ``attempt`` until it succeeds; ``kafka=False`` before the sink joined its group."""
        wanted = set(tps)
        backoff = Backoff(self._initial_s, max(self._initial_s, self._max_s), jitter=False)
        failures = 0
        try:
            while True:
                if wanted and not wanted & self._owned:
                    log.info("sink: %s dropped: its partitions were revoked", what)
                    raise Dropped
                try:
                    async with self.lock:
                        result = await attempt()
                except Exception as exc:
                    failures += 1
                    self.failures += 1
                    delay = backoff.next_delay()
                    log.error(
                        "sink: %s failed (attempt %d): %s; offsets not committed, fetching paused, "
                        "retrying in %.1f s",
                        what, failures, scrub(exc, self._secret), delay,
                    )  # fmt: skip
                    await self._pause_for(delay, kafka)
                    if self._stopping.is_set():
                        log.warning("sink: stopping with an unstored batch; it is re-read on restart")
                        raise Abandoned from exc
                else:
                    if failures:
                        log.info("sink: %s succeeded after %d failed attempts", what, failures)
                    return result
        finally:
            if failures and kafka and self.consumer is not None:
                self.consumer.resume(*self.consumer.assignment())

    async def _pause_for(self, delay: float, kafka: bool) -> None:
        """Wait ``delay`` s (or until stop) without fetching; keep polling to stay in the group."""
        consumer = self.consumer if kafka else None
        deadline = time.monotonic() + delay
        while not self._stopping.is_set() and (left := deadline - time.monotonic()) > 0:
            if consumer is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), left)
                continue
            consumer.pause(*consumer.assignment())
            self._buffer(await consumer.getmany(timeout_ms=int(min(left, 0.5) * 1000)))
