"""``WorkerStats``: one typed snapshot of a stream worker's counters and state.

The health view and the Prometheus collector both read this value, so the two cannot
disagree and neither reaches into the worker's objects. It is built on demand (a scrape,
a health probe); the hot path only bumps plain integer counters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Counters:
    """Counters the agent bumps as it goes (a mutable bag: no allocation per record)."""

    ticks_processed: int = 0
    spreads_sent: int = 0
    decode_errors: int = 0


@dataclass(frozen=True, slots=True)
class WorkerStats:
    """A worker at one instant. Counters are totals since the process started."""

    ticks_processed: int
    spreads_sent: int
    decode_errors: int
    late_ticks: int
    late_window_events: int
    stale_records_skipped: int
    repeated_records_skipped: int
    reseeks: int
    assigned_partitions: tuple[int, ...]
    recovered: bool
    rebalancing: bool
    buffered_ticks: int
    pending_checkpoints: int

    @property
    def ready(self) -> bool:
        """Serving: holds partitions, recovered its tables and is not rebalancing."""
        return bool(self.assigned_partitions) and self.recovered and not self.rebalancing

    def health(self) -> dict[str, Any]:
        """The ``/health`` body (its keys are a contract with probes and tests)."""
        return {
            "assigned_partitions": list(self.assigned_partitions),
            "recovered": self.recovered,
            "rebalancing": self.rebalancing,
            "buffered_ticks": self.buffered_ticks,
            "ticks_processed": self.ticks_processed,
            "spreads_sent": self.spreads_sent,
            "decode_errors": self.decode_errors,
            "late_ticks": self.late_ticks,
            "late_window_events": self.late_window_events,
            "stale_records_skipped": self.stale_records_skipped,
            "repeated_records_skipped": self.repeated_records_skipped,
            "reseeks": self.reseeks,
            "status": "ok" if self.ready else "starting",
        }
