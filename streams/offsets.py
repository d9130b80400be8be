"""Offset gate: each generation, a partition's records reach the merge once, in offset order.

faust-streaming (0.15) resumes fetching the stream partitions *before* it seeks them to
their committed offsets (``tables/recovery.py``: ``resume_partitions`` then
``perform_seek``). Records of a fetch issued before the seek then arrive after it, and
Faust's read-offset check drops the re-fetched lower offsets as already seen: the agent
sees offsets X.. but never C..X-1. With acks held in the merge buffer (so C..X-1 are
exactly the records not yet reflected in state) that silently loses ticks and lets the
other venues' ticks through too early. The gate makes the stream contiguous again:
it expects the committed offset first, skips repeats, and asks for a seek back when a
record jumps ahead.
"""

from __future__ import annotations

from collections.abc import Hashable
from enum import Enum


class Verdict(Enum):
    ACCEPT = "accept"
    REPEAT = "repeat"  # already accepted this generation: skip
    AHEAD = "ahead"  # offsets missing before it: skip it and seek back to ``expected``


class OffsetGate:
    """Next expected offset per topic-partition for the current generation (pure)."""

    def __init__(self) -> None:
        self._expected: dict[Hashable, int | None] = {}

    def known(self, tp: Hashable) -> bool:
        return tp in self._expected

    def start(self, tp: Hashable, committed: int | None) -> None:
        """Where this generation starts: the committed offset (None: nothing committed yet)."""
        self._expected[tp] = committed

    def expected(self, tp: Hashable) -> int | None:
        return self._expected.get(tp)

    def check(self, tp: Hashable, offset: int) -> Verdict:
        expected = self._expected.get(tp)
        if expected is None or offset == expected:
            # Nothing committed: the first record fetched is where the log (or the reset) starts.
            self._expected[tp] = offset + 1
            return Verdict.ACCEPT
        return Verdict.REPEAT if offset < expected else Verdict.AHEAD

    def reset(self) -> None:
        """A new generation: every partition starts again from its committed offset."""
        self._expected.clear()
