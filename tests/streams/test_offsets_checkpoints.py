"""Pure parts of the worker's delivery rules: the offset gate and checkpoint ordering."""

from __future__ import annotations

import asyncio
from typing import Any

from streams.checkpoints import Checkpoint, Checkpoints, run_committer
from streams.offsets import OffsetGate, Verdict

TP = ("ticks.kalshi", 3)


def test_gate_starts_at_committed_offset_and_asks_to_seek_back_on_a_jump() -> None:
    gate = OffsetGate()
    gate.start(TP, 45)
    # A fetch issued before Faust's seek delivers later offsets first: not accepted.
    assert gate.check(TP, 48) is Verdict.AHEAD
    assert gate.expected(TP) == 45
    assert [gate.check(TP, o) for o in (45, 46, 47, 48)] == [Verdict.ACCEPT] * 4
    # The same records once more (Faust's own seek to the commit): skipped.
    assert gate.check(TP, 46) is Verdict.REPEAT
    assert gate.check(TP, 49) is Verdict.ACCEPT


def test_gate_without_commit_accepts_the_first_record_and_resets_per_generation() -> None:
    gate = OffsetGate()
    assert not gate.known(TP)
    gate.start(TP, None)
    assert gate.check(TP, 7) is Verdict.ACCEPT
    assert gate.check(TP, 9) is Verdict.AHEAD
    gate.reset()
    assert not gate.known(TP)


async def test_committer_commits_in_seal_order_only_after_every_output_is_delivered() -> None:
    loop = asyncio.get_running_loop()
    cps = Checkpoints(0.1)
    first, second = loop.create_future(), loop.create_future()
    a = cps.current(0, generation=1)
    a.futures.append(first)
    a.acks.append("r1")
    cps.seal(0, [(b"pair-a", b"{}")])
    b = cps.current(0, generation=1)
    b.futures.append(second)
    b.acks.append("r2")
    cps.seal(0, [])
    cps.seal(1, [])  # nothing in it: not queued
    committed: list[tuple[list[Any], list[Any]]] = []

    async def commit(cp: Checkpoint, results: list[Any]) -> None:
        committed.append((cp.acks, results))

    task = asyncio.create_task(run_committer(cps, commit))
    second.set_result("md2")  # the later one is delivered first...
    await asyncio.sleep(0.01)
    assert committed == []  # ...but nothing commits before the earlier checkpoint
    first.set_result("md1")
    await asyncio.sleep(0.01)
    assert committed == [(["r1"], ["md1"]), (["r2"], ["md2"])]
    task.cancel()


def test_a_new_generation_discards_the_open_checkpoint() -> None:
    cps = Checkpoints(0.1)
    cps.current(2, generation=1).acks.append("old")
    assert cps.current(2, generation=2).acks == []
    cps.drop(2)
    assert cps.pending == 0


async def test_a_checkpoint_of_batch_appends_waits_for_each_batch_and_reports_it_after_the_singles() -> None:
    loop = asyncio.get_running_loop()
    cps = Checkpoints(0.1)
    single, batch_a, batch_b = loop.create_future(), loop.create_future(), loop.create_future()
    cp = cps.current(0, generation=1)
    cp.batches[batch_a] = 3  # offset within its batch of the checkpoint's last record there
    assert not cp.empty
    cp.futures.append(single)
    cp.batches[batch_b] = 0
    cps.seal(0, [(b"pair-a", b"{}")])
    committed: list[list[Any]] = []

    async def commit(cp: Checkpoint, results: list[Any]) -> None:
        committed.append(results)

    task = asyncio.create_task(run_committer(cps, commit))
    single.set_result("md")
    batch_b.set_result("base-b")
    await asyncio.sleep(0.01)
    assert committed == []  # batch_a is not delivered yet: nothing commits
    batch_a.set_exception(RuntimeError("lost"))
    await asyncio.sleep(0.01)
    assert len(committed) == 1
    md, base_a, base_b = committed[0]
    assert (md, base_b) == ("md", "base-b") and isinstance(base_a, RuntimeError)
    task.cancel()
