"""A stream worker with experimental patches, to size proposals for streams/app.py (bench only).

``BENCH_VARIANT`` (comma-separated):
  nomirror  -- no Faust windowed-table mirror writes (2 table writes per dirty pair per batch);
  coalesce  -- pair-state table written at most every 250 ms per partition (dirty pairs are
               kept until then) instead of once per touched pair per batch.
NOT crash-safe as is (offsets may be acked before the coalesced write): a measurement of
what fewer table writes buy, not an implementation.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable

from echoarb.scan.scanner import PairState, PartitionScanner

VARIANT = set(filter(None, os.environ.get("BENCH_VARIANT", "").split(",")))

if "coalesce" in VARIANT:
    _take = PartitionScanner.take_dirty

    def take_dirty(self: PartitionScanner) -> Iterable[PairState]:
        now = time.monotonic()
        if now - getattr(self, "_bench_last_take", 0.0) < 0.25:
            return []
        self._bench_last_take = now  # type: ignore[attr-defined]
        return _take(self)

    PartitionScanner.take_dirty = take_dirty  # type: ignore[method-assign]

if "nomirror" in VARIANT:
    import streams.app

    streams.app.Topology._mirror_windows = lambda self, *a, **k: None  # type: ignore[method-assign]

if __name__ == "__main__":
    from echoarb.cli import main

    sys.exit(main(["worker"]))
