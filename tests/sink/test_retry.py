"""Retrying a sink step: backoff without jitter, fetching paused meanwhile, stop and revocation end it.

Pure asyncio logic with a stand-in consumer (the real one is exercised by
tests/integration/test_sink_service.py, against the broker and ClickHouse).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from aiokafka import TopicPartition

from echoarb.sink.retry import Abandoned, Dropped, Retrier

TP = TopicPartition("spreads", 0)


class Consumer:
    """Records pause/resume and answers polls with one fetched batch, then nothing."""

    def __init__(self) -> None:
        self.paused: list[tuple[TopicPartition, ...]] = []
        self.resumed: list[tuple[TopicPartition, ...]] = []
        self.polls = 0

    def assignment(self) -> set[TopicPartition]:
        return {TP}

    def pause(self, *tps: TopicPartition) -> None:
        self.paused.append(tps)

    def resume(self, *tps: TopicPartition) -> None:
        self.resumed.append(tps)

    async def getmany(self, timeout_ms: int = 0) -> dict[TopicPartition, list[Any]]:
        self.polls += 1
        await asyncio.sleep(timeout_ms / 1000)
        return {TP: ["record"]} if self.polls == 1 else {}


def retrier(
    owned: set[TopicPartition], stopping: asyncio.Event, buffered: list[Any], initial_s: float = 0.01
) -> Retrier:
    return Retrier(
        owned=owned,
        stopping=stopping,
        buffer=buffered.append,
        initial_s=initial_s,
        max_s=0.2,
        secret="hunter2",
    )


def failing(times: int, result: str = "done") -> Any:
    calls = {"n": 0}

    async def attempt() -> str:
        calls["n"] += 1
        if calls["n"] <= times:
            raise RuntimeError("ClickHouse said no to hunter2")
        return result

    return attempt


async def test_a_step_is_retried_with_doubling_delays_while_fetching_is_paused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    buffered: list[Any] = []
    retry = retrier({TP}, asyncio.Event(), buffered, initial_s=0.1)
    consumer = Consumer()
    retry.consumer = consumer
    assert await retry("insert", failing(3), tps=[TP]) == "done"
    assert retry.failures == 3
    assert consumer.paused and consumer.resumed == [(TP,)]  # resumed once, after success
    assert [f for f in buffered if f] == [{TP: ["record"]}]  # what a poll during the pause returned is kept
    delays = [
        r.getMessage().split("retrying in ")[1] for r in caplog.records if "retrying in" in r.getMessage()
    ]
    assert delays == ["0.1 s", "0.2 s", "0.2 s"]  # doubling, capped, no jitter
    assert "hunter2" not in caplog.text  # the password is scrubbed from the error
    assert "succeeded after 3 failed attempts" in caplog.text


async def test_a_step_without_failures_does_not_touch_the_consumer() -> None:
    retry = retrier({TP}, asyncio.Event(), [])
    consumer = Consumer()
    retry.consumer = consumer
    assert await retry("insert", failing(0), tps=[TP]) == "done"
    assert (consumer.paused, consumer.resumed, retry.failures) == ([], [], 0)


async def test_a_step_whose_partitions_were_revoked_is_dropped() -> None:
    owned = {TP}
    retry = retrier(owned, asyncio.Event(), [])
    attempt = failing(1)

    async def revoke_then_fail() -> str:
        owned.clear()
        result: str = await attempt()
        return result

    with pytest.raises(Dropped):
        await retry("insert", revoke_then_fail, tps=[TP], kafka=False)
    assert retry.failures == 1


async def test_stopping_abandons_a_failing_step() -> None:
    stopping = asyncio.Event()
    retry = retrier({TP}, stopping, [])

    async def fail_and_stop() -> None:
        stopping.set()
        raise RuntimeError("down")

    with pytest.raises(Abandoned):
        await retry("connect", fail_and_stop, kafka=False)
