"""Batch cutting: size/time bounds, and replayed plans that reproduce a crashed run's boundaries."""

from __future__ import annotations

import pytest
from aiokafka import TopicPartition

from echoarb.sink.batches import Buffers, Entry, Plan, dedup_token

TP = TopicPartition("spreads", 3)


def entries(first: int, last: int, rows_each: int = 1, at: float = 0.0) -> list[Entry]:
    return [Entry(o, 1_000 + o, rows_each, at) for o in range(first, last + 1)]


def bounds(batches: list) -> list[tuple[int, int, bool]]:  # type: ignore[type-arg]
    return [(b.first_offset, b.last_offset, b.replayed) for b in batches]


def test_token_names_topic_partition_offsets_and_first_timestamp() -> None:
    assert dedup_token("spreads", 3, 10, 19, 1_733) == "spreads-3-10-19@1733"
    buffers = Buffers(max_rows=100, max_age_s=1.0)
    buffers.add(TP, "spreads", entries(10, 19))
    buffers.resolve(TP, None)
    (batch,) = buffers.cut(now=5.0)
    assert batch.token == "spreads-3-10-19@1010"


def test_size_cuts_full_blocks_and_keeps_the_tail_until_it_is_due() -> None:
    buffers = Buffers(max_rows=10, max_age_s=1.0)
    buffers.add(TP, "ticks", entries(0, 11, rows_each=3))  # 36 rows
    assert buffers.cut(now=0.1) == []  # not resolved against the ledger yet
    buffers.resolve(TP, None)
    assert bounds(buffers.cut(now=0.1)) == [(0, 2, False), (3, 5, False), (6, 8, False)]
    assert buffers.total_rows == 9
    assert buffers.seconds_until_due(0.5) == pytest.approx(0.5)
    assert bounds(buffers.cut(now=1.0)) == [(9, 11, False)]
    assert buffers.total_rows == 0


def test_a_record_bigger_than_the_limit_is_a_batch_of_its_own() -> None:
    buffers = Buffers(max_rows=2, max_age_s=1.0)
    buffers.add(TP, "ticks", entries(0, 1, rows_each=5))
    buffers.resolve(TP, None)
    assert bounds(buffers.cut(now=0.0)) == [(0, 0, False), (1, 1, False)]


def test_plans_are_replayed_exactly_then_the_next_head_is_looked_up_again() -> None:
    buffers = Buffers(max_rows=1_000, max_age_s=1.0)
    buffers.add(TP, "spreads", entries(100, 130))
    assert buffers.unresolved() == [(TP, 100, 1_100)]
    buffers.resolve(TP, Plan(100, 140, 1_100))
    assert buffers.cut(now=9.0, force=True) == []  # incomplete plan: wait, never cut differently
    assert buffers.waiting_for_plan() == [TP]
    buffers.add(TP, "spreads", entries(131, 160))
    assert bounds(buffers.cut(now=9.0)) == [(100, 140, True)]
    assert buffers.cut(now=9.0) == []  # the head after a replayed batch is unresolved
    assert buffers.unresolved() == [(TP, 141, 1_141)]
    buffers.resolve(TP, Plan(141, 150, 1_141))
    assert bounds(buffers.cut(now=9.0)) == [(141, 150, True)]
    buffers.resolve(TP, None)
    assert bounds(buffers.cut(now=9.0)) == [(151, 160, False)]


def test_a_plan_must_start_at_the_buffered_head() -> None:
    buffers = Buffers(max_rows=10, max_age_s=1.0)
    buffers.add(TP, "spreads", entries(5, 6))
    with pytest.raises(ValueError, match="does not start"):
        buffers.resolve(TP, Plan(5, 6, 999))  # another incarnation of the topic


def test_dead_records_count_no_rows_but_are_cut_and_committed() -> None:
    buffers = Buffers(max_rows=10, max_age_s=1.0)
    buffers.add(TP, "spreads", [Entry(0, 1, 0, 0.0, "raw", "bad magic"), *entries(1, 2)])
    buffers.resolve(TP, None)
    (batch,) = buffers.cut(now=2.0)
    assert (batch.row_count, batch.dead, batch.last_offset) == (2, [("raw", "bad magic")], 2)
    buffers.drop([TP])
    assert TP not in buffers
