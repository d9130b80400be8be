"""Worst-case time per hostile frame: every parser stays bounded on pathological input.

Runs the fuzz suite's pathological frames (deep nesting, a 5 MB string, a 200k-level
ladder, non-UTF-8, empty, null, NaN) and a few thousand mutated real frames through each
venue's frame handler, and prints the worst and median time per frame beside the same
figures for ``json.loads`` of the same text (the baseline no parser can beat). A figure,
not a test: timings are never asserted.

Usage: ``python -m bench.hostile [--mutations N]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import time
from typing import Any

from echoarb.ingest.frames import FrameHandler
from tests.fuzz.test_hostile_frames import ABSURD, _dump, _paths, _set, pairs, templates

PATHOLOGICAL: dict[str, str | bytes] = {
    "deep-array": "[" * 100_000 + "]" * 100_000,
    "deep-object": '{"a":' * 50_000 + "1" + "}" * 50_000,
    "5MB-string": '{"type": "' + "x" * 5_000_000 + '"}',
    "huge-ladder": json.dumps(
        {"type": "orderbook_snapshot", "msg": {"yes_dollars_fp": [["0.5", "1"]] * 200_000}}
    ),
    "non-utf8": b"\xff\xfe\x00garbage",
    "empty": "",
}


def _time(fn: Any, *args: Any) -> float:
    start = time.perf_counter()
    with contextlib.suppress(Exception):  # the baseline json.loads raises on most of these
        fn(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutations", type=int, default=3000, help="mutated real frames per venue")
    args = parser.parse_args()
    rng = random.Random(7)
    print(f"{'venue':<11} {'input':<14} {'worst ms':>9} {'median ms':>10} {'json.loads worst ms':>20}")
    for venue in ("kalshi", "polymarket", "manifold"):
        handler = FrameHandler(pairs())
        for name, frame in PATHOLOGICAL.items():
            took = _time(handler.handle, venue, frame, 1)
            base = _time(json.loads, frame)
            print(f"{venue:<11} {name:<14} {took * 1e3:>9.2f} {'':>10} {base * 1e3:>20.2f}")
        shapes = [obj for v, obj in templates() if v == venue]
        times, bases = [], []
        for _ in range(args.mutations):
            obj = rng.choice(shapes)
            for _ in range(rng.randint(1, 3)):
                obj = _set(obj, rng.choice(_paths(obj)), rng.choice(ABSURD))
            text = _dump(obj)
            times.append(_time(handler.handle, venue, text, 1))
            bases.append(_time(json.loads, text))
        print(
            f"{venue:<11} {'mutated x' + str(args.mutations):<14} {max(times) * 1e3:>9.2f} "
            f"{statistics.median(times) * 1e3:>10.3f} {max(bases) * 1e3:>20.2f}"
        )


if __name__ == "__main__":
    main()
