"""Test-only replay hooks: SIGKILL a worker mid-stream, probe the workers before shutdown.

They live here, not in the product (``echoarb.services.replay`` only offers the no-op
``ReplayHooks``), so no production setting can make a replay kill its workers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from echoarb.services.replay import ReplayHooks, ReplayRun
from echoarb.services.worker_process import WorkerProcess

log = logging.getLogger("tests.chaos")


class KillWorker(ReplayHooks):
    """SIGKILL the first worker after ``at_frame`` frames, once spread events show it is working."""

    def __init__(self, at_frame: int, *, restart: bool = False) -> None:
        self.at_frame = at_frame
        self.restart = restart
        self.killed = 0

    async def after_frame(self, run: ReplayRun, frames: int) -> None:
        if frames != self.at_frame:
            return
        await run.publisher.flush()
        await run.publisher.wait_delivered()
        reader = run.reader
        await reader.wait(lambda: len(reader.events) > 0, run.timeout, "first spread event")
        worker = run.pool[0]
        log.info("chaos: SIGKILL worker pid %s at frame %d", worker.pid, frames)
        worker.kill()
        self.killed += 1
        if self.restart:
            worker.start()


class BeforeShutdown(ReplayHooks):
    """Run ``probe`` on the worker pool once everything is processed (the workers still up)."""

    def __init__(self, probe: Callable[[list[WorkerProcess]], Awaitable[None]]) -> None:
        self.probe = probe

    async def before_shutdown(self, run: ReplayRun) -> None:
        await self.probe(run.pool)
