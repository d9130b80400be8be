"""Per-partition buffers cut into batches with fixed, replayable boundaries.

Effectively-once needs a retried insert to be *the same* insert: the same records of one
topic-partition, hence the same ``insert_deduplication_token``. The size/time trigger that
normally cuts a batch depends on timing, so it cannot be reproduced after a crash; instead the
sink records every batch's boundaries in the ledger before inserting it, and after a restart
or a rebalance a buffer whose first record starts a recorded batch is cut at exactly that
batch's last offset (a *plan*) before anything else; the record after it is looked up again,
since one flush may have planned several batches of a partition. Pure and synchronous.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition


def dedup_token(topic: str, partition: int, first_offset: int, last_offset: int, first_ts: int) -> str:
    """``<topic>-<partition>-<first offset>-<last offset>@<first record's Kafka timestamp>``.

    The timestamp suffix keeps a re-created topic (the embedded broker forgets its topics on
    restart while the ClickHouse data dir persists) from reusing the offsets, and so the
    tokens, of earlier data: without it those new rows would be silently dropped as duplicates.
    """
    return f"{topic}-{partition}-{first_offset}-{last_offset}@{first_ts}"


@dataclass(slots=True)
class Entry:
    """One Kafka record, kept as it arrived; it is converted (by ClickHouse) only when inserted.

    ``rows`` is how many rows it yields (for sizing batches); ``dead`` says why it cannot be
    stored (then ``rows`` is 0), set on arrival (bad framing) or when its batch is inserted.
    """

    offset: int
    timestamp: int
    rows: int
    arrived: float
    record: Any = None  # the Kafka record: its value is inserted, all of it is dead-lettered
    dead: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """A batch recorded in the ledger: it must be cut again with exactly these boundaries."""

    first_offset: int
    last_offset: int
    first_ts: int


@dataclass
class Batch:
    """Consecutive records of one topic-partition, inserted as one block into ``table``."""

    tp: TopicPartition
    table: str
    entries: list[Entry]
    replayed: bool = False  # cut from a ledger plan: the ledger row exists already

    @property
    def first_offset(self) -> int:
        return self.entries[0].offset

    @property
    def last_offset(self) -> int:
        return self.entries[-1].offset

    @property
    def first_ts(self) -> int:
        return self.entries[0].timestamp

    @property
    def row_count(self) -> int:
        return sum(entry.rows for entry in self.entries)

    @property
    def dead(self) -> list[tuple[Any, str]]:
        """(record, reason) of the entries that cannot be stored, for the dead-letter topic."""
        return [(entry.record, entry.dead) for entry in self.entries if entry.dead is not None]

    @property
    def token(self) -> str:
        return dedup_token(
            self.tp.topic, self.tp.partition, self.first_offset, self.last_offset, self.first_ts
        )


@dataclass
class _Buffer:
    table: str
    entries: list[Entry] = field(default_factory=list)
    rows: int = 0
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
        return sum(b.rows for b in self._buffers.values())

    @property
    def total_entries(self) -> int:
        return sum(len(b.entries) for b in self._buffers.values())

    def add(self, tp: TopicPartition, table: str, entries: Sequence[Entry]) -> None:
        if not entries:
            return
        buffer = self._buffers.setdefault(tp, _Buffer(table))
        buffer.entries.extend(entries)
        buffer.rows += sum(e.rows for e in entries)

    def __contains__(self, tp: object) -> bool:
        return tp in self._buffers

    def unresolved(self) -> list[tuple[TopicPartition, int, int]]:
        """(partition, first offset, first Kafka timestamp) of buffers to look up in the ledger."""
        return [
            (tp, b.entries[0].offset, b.entries[0].timestamp)
            for tp, b in self._buffers.items()
            if not b.resolved and b.entries
        ]

    def resolve(self, tp: TopicPartition, plan: Plan | None) -> None:
        buffer = self._buffers[tp]
        head = buffer.entries[0]
        if plan is not None and (plan.first_offset != head.offset or plan.first_ts != head.timestamp):
            raise ValueError(f"plan {plan} does not start at {tp} offset {head.offset}")
        buffer.plan = plan
        buffer.resolved = True

    def waiting_for_plan(self) -> list[TopicPartition]:
        """Partitions whose planned batch is not complete yet (more records must be fetched)."""
        return [
            tp
            for tp, b in self._buffers.items()
            if b.plan is not None and (not b.entries or b.entries[-1].offset < b.plan.last_offset)
        ]

    def drop(self, tps: Iterable[TopicPartition]) -> None:
        """Forget partitions (revoked or newly assigned): their records are fetched again."""
        for tp in tps:
            self._buffers.pop(tp, None)

    def seconds_until_due(self, now: float) -> float:
        """Time until the oldest buffered record reaches ``max_age_s`` (inf when empty)."""
        oldest = min((b.entries[0].arrived for b in self._buffers.values() if b.entries), default=None)
        return float("inf") if oldest is None else max(0.0, oldest + self.max_age_s - now)

    def cut(self, now: float, force: bool = False) -> list[Batch]:
        """Remove and return the batches that are due, in offset order per partition."""
        batches: list[Batch] = []
        for tp, buffer in self._buffers.items():
            if not buffer.resolved or not buffer.entries:
                continue
            if buffer.plan is not None:
                last = buffer.plan.last_offset
                if buffer.entries[-1].offset < last:
                    continue  # the planned batch is not complete: never cut it differently
                n = next(i for i, e in enumerate(buffer.entries) if e.offset >= last) + 1
                batches.append(Batch(tp, buffer.table, buffer.entries[:n], True))
                self._take(buffer, n)
                # The crashed run may have planned (and inserted) further batches of this
                # partition in the same flush: the next head is looked up before any new cut.
                buffer.plan = None
                buffer.resolved = False
                continue
            due = force or (bool(buffer.entries) and now - buffer.entries[0].arrived >= self.max_age_s)
            batches.extend(self._chunks(tp, buffer, due))
        return batches

    def _chunks(self, tp: TopicPartition, buffer: _Buffer, due: bool) -> list[Batch]:
        out: list[Batch] = []
        start = rows = 0
        for i, entry in enumerate(buffer.entries):
            if i > start and rows + entry.rows > self.max_rows:
                out.append(Batch(tp, buffer.table, buffer.entries[start:i]))
                start, rows = i, 0
            rows += entry.rows
        if start < len(buffer.entries) and (due or rows >= self.max_rows):
            out.append(Batch(tp, buffer.table, buffer.entries[start:]))
            start = len(buffer.entries)
        self._take(buffer, start)
        return out

    @staticmethod
    def _take(buffer: _Buffer, n: int) -> None:
        buffer.rows -= sum(e.rows for e in buffer.entries[:n])
        del buffer.entries[:n]
