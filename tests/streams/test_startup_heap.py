"""streams.app tunes the cyclic collector on each assignment (no 100 ms full passes over start-up objects)."""

from __future__ import annotations

import gc

from streams import app


def test_freezing_moves_live_objects_out_of_the_collected_generations() -> None:
    kept = [object() for _ in range(10)]
    thresholds = gc.get_threshold()
    gc.unfreeze()
    try:
        app._tune_collector()
        assert gc.get_freeze_count() >= len(kept)
        # A full collection now walks only what was allocated since the freeze.
        assert gc.get_count()[2] == 0
        assert gc.get_threshold() == app.GC_THRESHOLDS != thresholds
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
