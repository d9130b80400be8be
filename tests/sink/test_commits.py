"""Committed offsets: advanced only by a successful commit, never backwards, awaitable."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from echoarb.sink.commits import Commits

A, B = TopicPartition("spreads", 0), TopicPartition("spreads", 1)


class Consumer:
    def __init__(self, fail: bool = False, committed: dict[TopicPartition, int | None] | None = None) -> None:
        self.fail = fail
        self.commits: list[dict[TopicPartition, int]] = []
        self._committed = committed or {}

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.fail:
            raise CommitFailedError("rebalancing")
        self.commits.append(dict(offsets))

    async def committed(self, tp: TopicPartition) -> int | None:
        if tp not in self._committed:
            raise KafkaError("coordinator unavailable")
        return self._committed[tp]


async def test_commit_advances_and_never_goes_back() -> None:
    commits, consumer = Commits(), Consumer()
    await commits.commit(consumer, {A: 10})
    await commits.commit(consumer, {A: 7, B: 3})
    assert dict(commits.view) == {A: 10, B: 3}
    assert consumer.commits == [{A: 10}, {A: 7, B: 3}]


async def test_a_failed_commit_is_counted_and_moves_nothing() -> None:
    commits = Commits()
    await commits.commit(Consumer(fail=True), {A: 10})
    assert (dict(commits.view), commits.failures) == ({}, 1)


async def test_seed_takes_the_groups_offsets_and_skips_what_it_cannot_read() -> None:
    commits = Commits()
    await commits.seed(Consumer(committed={A: 5, B: None}), [A, B, TopicPartition("x", 0)])
    assert dict(commits.view) == {A: 5}


async def test_wait_returns_when_reached_and_times_out_otherwise() -> None:
    commits, consumer = Commits(), Consumer()
    waiter = asyncio.create_task(commits.wait({A: 10}, timeout=5))
    await asyncio.sleep(0)
    assert not waiter.done()
    await commits.commit(consumer, {A: 10})
    await waiter
    with pytest.raises(TimeoutError):
        await commits.wait({B: 1}, timeout=0.05)
