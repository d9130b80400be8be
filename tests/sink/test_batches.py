"""Batch cutting: size/time bounds, and replayed plans that reproduce a crashed run's boundaries."""

from __future__ import annotations

import pytest
from aiokafka import TopicPartition

from echoarb.sink.batches import Buffers, Entries, Plan, dedup_token
from tests.sink.helpers import FakeRecord

TP = TopicPartition("spreads", 3)


def entries(first: int, last: int, rows_each: int = 1, at: float = 0.0) -> Entries:
    records = [FakeRecord(o, b"", 1_000 + o) for o in range(first, last + 1)]
    return Entries(records, [rows_each] * len(records), at)


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
    raw = FakeRecord(0, b"raw", 1)
    buffers.add(TP, "spreads", Entries([raw], [0], 0.0, {0: "bad magic"}))
    buffers.add(TP, "spreads", entries(1, 2))
    buffers.resolve(TP, None)
    (batch,) = buffers.cut(now=2.0)
    assert (batch.row_count, batch.dead, batch.last_offset) == (2, [(raw, "bad magic")], 2)
    buffers.drop([TP])
    assert TP not in buffers


def _reference_cut(rows: list[int], limit: int, due: bool) -> list[tuple[int, int]]:
    """The greedy rule, one record at a time: a block ends before the record that would take it
    past ``limit`` (a block holds at least one record); the tail goes only when due or full."""
    out, start, total = [], 0, 0
    for i, n in enumerate(rows):
        if i > start and total + n > limit:
            out.append((start, i - 1))
            start, total = i, 0
        total += n
    if start < len(rows) and (due or total >= limit):
        out.append((start, len(rows) - 1))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_cuts_follow_the_greedy_rule_for_any_row_counts(seed: int) -> None:
    import random

    rng = random.Random(seed)
    limit = rng.choice([1, 2, 5, 10, 50])
    rows = [rng.choice([0, 0, 1, 1, 1, 2, 3, 7, 60]) for _ in range(rng.randint(1, 80))]
    due = rng.random() < 0.5
    buffers = Buffers(max_rows=limit, max_age_s=1.0)
    records = [FakeRecord(o, b"", 1_000 + o) for o in range(len(rows))]
    buffers.add(TP, "ticks", Entries(records, list(rows), 0.0))
    buffers.resolve(TP, None)
    cut = buffers.cut(now=2.0 if due else 0.5)
    assert [(b.first_offset, b.last_offset) for b in cut] == _reference_cut(rows, limit, due)
    assert [b.rows for b in cut] == [rows[b.first_offset : b.last_offset + 1] for b in cut]
    left = len(rows) - sum(len(b.records) for b in cut)
    assert buffers.total_entries == left and buffers.total_rows == sum(rows[len(rows) - left :])
