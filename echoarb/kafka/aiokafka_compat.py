"""Workarounds for aiokafka 0.14 behaviour that a long-running command's stop runs into.

Each one is pinned by ``tests/integration/test_aiokafka_compat.py`` (the raw behaviour,
then the workaround), against the real broker. They reach into aiokafka's private fields,
so they check for them and do nothing when aiokafka changes shape.

A1 -- a stop that never ends. ``AIOKafkaConsumer.stop`` first awaits the group
    coordinator's coordination task, which, with the brokers gone, retries FindCoordinator
    for ever: SIGTERM to a sink or ``serve`` whose cluster died would hang until a
    supervisor's SIGKILL. :func:`stop_consumer` bounds the stop; past the bound the consumer
    is closed without leaving its group (the broker notices through the session timeout).
A2 -- a dead fetch fails the stop. ``Fetcher.close`` cancels and then awaits each fetch task
    still pending; one that had already failed (a connection error while the broker went
    away) re-raises there, so ``stop`` raises and never closes the client's connections.
    :func:`stop_consumer` logs one line and closes the rest.
A3 -- a producer stop that never ends. ``AIOKafkaProducer.stop`` first waits until every
    pending batch is delivered, for up to ``request_timeout_ms`` (ingest rides out a two-minute
    outage with it); with the brokers gone a SIGTERM would wait that long.
    :func:`stop_producer` bounds it and then closes the sender and the connections: the
    undelivered batches are reported, not waited for.
A4 -- a commit cancelled mid-flight fails unseen. ``AIOKafkaConsumer.commit`` shields an
    inner task; cancel the caller (SIGTERM stopping the sink) and that task goes on alone,
    and when the consumer's stop then closes its connection it fails and asyncio prints
    "Task exception was never retrieved" with a traceback. :func:`commit` lets a cancelled
    commit finish within a grace period (the rows are stored: the commit should land) and
    always collects its outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

log = logging.getLogger("echoarb.kafka")

#: How long a consumer's stop may take (leave the group) before it is closed without it.
STOP_GRACE_S = 5.0


async def stop_consumer(consumer: AIOKafkaConsumer, grace_s: float = STOP_GRACE_S) -> bool:
    """Stop ``consumer`` within about ``grace_s``; True when aiokafka's own stop finished.

    A cancellation of the caller still propagates (after the consumer is closed).
    """
    try:
        await asyncio.wait_for(consumer.stop(), grace_s)
        return True
    except TimeoutError:  # A1
        log.warning(
            "Kafka consumer: no broker answered its stop within %gs; closed without leaving the group",
            grace_s,
        )
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            await _close_rest(consumer)
            raise
        _dead_fetch(asyncio.CancelledError())  # A2: a cancelled fetch task re-raised in close()
    except Exception as exc:  # A2
        _dead_fetch(exc)
    await _close_rest(consumer)
    return False


def _dead_fetch(exc: BaseException) -> None:
    log.warning(
        "Kafka consumer: a fetch had failed when it stopped (%s%s); closed anyway",
        type(exc).__name__,
        f": {exc}" if str(exc) else "",
    )


async def _close_rest(consumer: AIOKafkaConsumer) -> None:
    """What ``stop`` did not get to: the fetch tasks and the client's connections."""
    internals: Any = consumer
    coordinator = getattr(internals, "_coordinator", None)
    fetcher = getattr(internals, "_fetcher", None)
    tasks: list[Any] = [
        getattr(coordinator, name, None)
        for name in ("_coordination_task", "_heartbeat_task", "_commit_refresh_task", "_reset_committed_task")
    ]
    tasks += [getattr(fetcher, "_fetch_task", None), *getattr(fetcher, "_pending_tasks", ())]
    running = [t for t in tasks if isinstance(t, asyncio.Future) and not t.done()]
    for task in running:
        task.cancel()
    await asyncio.gather(*(t for t in tasks if isinstance(t, asyncio.Future)), return_exceptions=True)
    if fetcher is not None:
        with contextlib.suppress(AttributeError):
            fetcher._pending_tasks.clear()
    client = getattr(internals, "_client", None)
    if client is not None:
        with contextlib.suppress(Exception):
            await client.close()


async def stop_producer(producer: AIOKafkaProducer, grace_s: float = STOP_GRACE_S) -> bool:
    """Stop ``producer`` within about ``grace_s``; True when every pending batch was delivered."""
    try:
        await asyncio.wait_for(producer.stop(), grace_s)
        return True
    except TimeoutError:  # A3
        log.warning(
            "Kafka producer: batches still undelivered %gs into its stop (brokers unreachable?); "
            "closed without them",
            grace_s,
        )
    internals: Any = producer
    sender_task = getattr(getattr(internals, "_sender", None), "sender_task", None)
    if isinstance(sender_task, asyncio.Future) and not sender_task.done():
        sender_task.cancel()
        await asyncio.gather(sender_task, return_exceptions=True)
    client = getattr(internals, "client", None)
    if client is not None:
        with contextlib.suppress(Exception):
            await client.close()
    return False


async def commit(consumer: AIOKafkaConsumer, offsets: Any, grace_s: float = STOP_GRACE_S) -> None:
    """``consumer.commit(offsets)``; cancelled, it waits up to ``grace_s`` for the commit to
    land, then lets the cancellation through. Its outcome is always collected (A4)."""
    task = asyncio.ensure_future(consumer.commit(offsets))
    task.add_done_callback(_collect)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait({task}, timeout=grace_s)
        raise


def _collect(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("Kafka consumer: a commit failed after its caller stopped: %s", task.exception())
