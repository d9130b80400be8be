"""Per-partition buffers cut into batches with fixed, replayable boundaries.

Effectively-once needs a retried insert to be *the same* insert: the same records of one
topic-partition, hence the same ``insert_deduplication_token``. The size/time trigger that
normally cuts a batch depends on timing, so it cannot be reproduced after a crash; instead the
sink records every batch's boundaries in the ledger before inserting it, and after a restart
or a rebalance a buffer whose first record starts a recorded batch is cut at exactly that
batch's last offset (a *plan*) before anything else; the record after it is looked up again,
since one flush may have planned several batches of a partition. Pure and synchronous.

Records are kept column-wise (the Kafka records as fetched, the rows each yields, when each
arrived, and why the few that cannot be stored are dead), not as one object per record: the
sink handles hundreds of thousands of records a second, and every per-record Python object or
loop here was a measurable part of its cost (issue #11). Adding, cutting and slicing are list
operations done in C.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import accumulate
from operator import attrgetter
from typing import Any

from aiokafka import TopicPartition

_offset_of = attrgetter("offset")


def dedup_token(topic: str, partition: int, first_offset: int, last_offset: int, first_ts: int) -> str:
    """``<topic>-<partition>-<first offset>-<last offset>@<first record's Kafka timestamp>``.

    The timestamp suffix keeps a re-created topic (the embedded broker forgets its topics on
    restart while the ClickHouse data dir persists) from reusing the offsets, and so the
    tokens, of earlier data: without it those new rows would be silently dropped as duplicates.
    """
    return f"{topic}-{partition}-{first_offset}-{last_offset}@{first_ts}"


@dataclass(slots=True)
class Entries:
    """Consecutive records of one topic-partition as they arrived; converted (by ClickHouse) only
    when inserted.

    ``records`` are the Kafka records (``offset``, ``timestamp``, ``value``; all of a record is
    dead-lettered); ``rows[i]`` is how many rows ``records[i]`` yields (for sizing batches, 0 when
    dead); ``dead`` maps the offset of each record that cannot be stored to why, set on arrival
    (bad framing) or when its batch is inserted.
    """

    records: list[Any]
    rows: list[int]
    arrived: float = 0.0
    dead: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Plan:
    """A batch recorded in the ledger: it must be cut again with exactly these boundaries."""

    first_offset: int
    last_offset: int
    first_ts: int


@dataclass
class Batch:
    """Consecutive records of one topic-partition, inserted as one block into ``table``.

    ``records``, ``rows`` and ``reasons`` as in ``Entries`` (``reasons``: offset -> why dead).
    """

    tp: TopicPartition
    table: str
    records: list[Any]
    rows: list[int]
    reasons: dict[int, str] = field(default_factory=dict)
    replayed: bool = False  # cut from a ledger plan: the ledger row exists already

    @property
    def first_offset(self) -> int:
        return int(self.records[0].offset)

    @property
    def last_offset(self) -> int:
        return int(self.records[-1].offset)

    @property
    def first_ts(self) -> int:
        return int(self.records[0].timestamp)

    @property
    def row_count(self) -> int:
        return sum(self.rows)

    @property
    def dead(self) -> list[tuple[Any, str]]:
        """(record, reason) of the records that cannot be stored, for the dead-letter topic."""
        reasons = self.reasons
        if not reasons:
            return []
        return [(r, reasons[r.offset]) for r in self.records if r.offset in reasons]

    def mark_dead(self, index: int, reason: str) -> None:
        """``records[index]`` cannot be stored (found when its batch was inserted)."""
        self.reasons[self.records[index].offset] = reason
        self.rows[index] = 0

    @property
    def token(self) -> str:
        return dedup_token(
            self.tp.topic, self.tp.partition, self.first_offset, self.last_offset, self.first_ts
        )


@dataclass
class _Buffer:
    table: str
    records: list[Any] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    arrived: list[float] = field(default_factory=list)
    dead: dict[int, str] = field(default_factory=dict)
    total: int = 0  # sum(rows)
    resolved: bool = False  # the ledger was consulted for the first record after assignment
    plan: Plan | None = None


class Buffers:
    """Records fetched but not yet inserted, per topic-partition.

    A buffer is cut when it holds ``max_rows`` rows (into blocks of at most that many) or when
    its oldest record waited ``max_age_s``; ``force`` cuts everything (memory bound reached,
    or shutting down). A buffer that was never *resolved* against the ledger is never cut.
    """

    def __init__(self, max_rows: int, max_age_s: float) -> None:
        if max_rows < 1 or max_age_s <= 0:
            raise ValueError("max_rows must be >= 1 and max_age_s > 0")
        self.max_rows = max_rows
        self.max_age_s = max_age_s
        self._buffers: dict[TopicPartition, _Buffer] = {}

    @property
    def total_rows(self) -> int:
        return sum(b.total for b in self._buffers.values())

    @property
    def total_entries(self) -> int:
        return sum(len(b.records) for b in self._buffers.values())

    def add(self, tp: TopicPartition, table: str, entries: Entries) -> None:
        if not entries.records:
            return
        buffer = self._buffers.setdefault(tp, _Buffer(table))
        buffer.records += entries.records
        buffer.rows += entries.rows
        buffer.arrived += [entries.arrived] * len(entries.records)
        if entries.dead:
            buffer.dead.update(entries.dead)
        buffer.total += sum(entries.rows)

    def __contains__(self, tp: object) -> bool:
        return tp in self._buffers

    def unresolved(self) -> list[tuple[TopicPartition, int, int]]:
        """(partition, first offset, first Kafka timestamp) of buffers to look up in the ledger."""
        return [
            (tp, b.records[0].offset, b.records[0].timestamp)
            for tp, b in self._buffers.items()
            if not b.resolved and b.records
        ]

    def resolve(self, tp: TopicPartition, plan: Plan | None) -> None:
        buffer = self._buffers[tp]
        head = buffer.records[0]
        if plan is not None and (plan.first_offset != head.offset or plan.first_ts != head.timestamp):
            raise ValueError(f"plan {plan} does not start at {tp} offset {head.offset}")
        buffer.plan = plan
        buffer.resolved = True

    def waiting_for_plan(self) -> list[TopicPartition]:
        """Partitions whose planned batch is not complete yet (more records must be fetched)."""
        return [
            tp
            for tp, b in self._buffers.items()
            if b.plan is not None and (not b.records or b.records[-1].offset < b.plan.last_offset)
        ]

    def drop(self, tps: Iterable[TopicPartition]) -> None:
        """Forget partitions (revoked or newly assigned): their records are fetched again."""
        for tp in tps:
            self._buffers.pop(tp, None)

    def seconds_until_due(self, now: float) -> float:
        """Time until the oldest buffered record reaches ``max_age_s`` (inf when empty)."""
        oldest = min((b.arrived[0] for b in self._buffers.values() if b.arrived), default=None)
        return float("inf") if oldest is None else max(0.0, oldest + self.max_age_s - now)

    def cut(self, now: float, force: bool = False) -> list[Batch]:
        """Remove and return the batches that are due, in offset order per partition."""
        batches: list[Batch] = []
        for tp, buffer in self._buffers.items():
            if not buffer.resolved or not buffer.records:
                continue
            if buffer.plan is not None:
                last = buffer.plan.last_offset
                if buffer.records[-1].offset < last:
                    continue  # the planned batch is not complete: never cut it differently
                n = bisect_left(buffer.records, last, key=_offset_of) + 1
                batches.append(self._take(tp, buffer, n, True))
                # The crashed run may have planned (and inserted) further batches of this
                # partition in the same flush: the next head is looked up before any new cut.
                buffer.plan = None
                buffer.resolved = False
                continue
            due = force or now - buffer.arrived[0] >= self.max_age_s
            batches.extend(self._chunks(tp, buffer, due))
        return batches

    def _chunks(self, tp: TopicPartition, buffer: _Buffer, due: bool) -> list[Batch]:
        """Blocks of at most ``max_rows`` rows (a record with more is a block of its own); the
        tail only when due or full."""
        limit = self.max_rows
        if buffer.total < limit and not due:
            return []
        cumulative = list(accumulate(buffer.rows))
        ends: list[int] = []
        start, base, n = 0, 0, len(cumulative)
        while start < n:
            # the first record past the limit ends the block (a block holds at least one record)
            end = bisect_right(cumulative, base + limit, lo=start + 1)
            if end >= n:
                if due or cumulative[-1] - base >= limit:
                    ends.append(n)
                break
            ends.append(end)
            start, base = end, cumulative[end - 1]
        out: list[Batch] = []
        taken = 0
        for end in ends:
            out.append(self._take(tp, buffer, end - taken))
            taken = end
        return out

    @staticmethod
    def _take(tp: TopicPartition, buffer: _Buffer, n: int, replayed: bool = False) -> Batch:
        """The first ``n`` buffered records as a batch, removed from the buffer."""
        records, rows = buffer.records[:n], buffer.rows[:n]
        del buffer.records[:n], buffer.rows[:n], buffer.arrived[:n]
        buffer.total -= sum(rows)
        reasons: dict[int, str] = {}
        if buffer.dead:
            last = records[-1].offset
            reasons = {o: r for o, r in buffer.dead.items() if o <= last}
            for o in reasons:
                del buffer.dead[o]
        return Batch(tp, buffer.table, records, rows, reasons, replayed)
