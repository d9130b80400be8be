"""streams.app freezes the start-up heap on each assignment (no 100 ms full collections after it)."""

from __future__ import annotations

import gc

from streams import app


def test_freezing_moves_live_objects_out_of_the_collected_generations() -> None:
    kept = [object() for _ in range(10)]
    gc.unfreeze()
    try:
        app._freeze_startup_heap()
        assert gc.get_freeze_count() >= len(kept)
        # A full collection now walks only what was allocated since the freeze.
        assert gc.get_count()[2] == 0
    finally:
        gc.unfreeze()
