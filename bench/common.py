"""Shared helpers of the benchmark scripts: pair configs, recordings, ticks, timing, output."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from echoarb.model import Level, Tick
from echoarb.pairs import PairsConfig, parse_pairs

RESULTS_DIR = Path(__file__).resolve().parent / "results"
_DIGITS = "0123456789"


def pairs_config(n: int, *, venues: tuple[str, ...] = ("kalshi", "polymarket", "manifold")) -> dict[str, Any]:
    """``n`` binary pairs quoted on ``venues`` (Polymarket with a YES and a NO token)."""
    pairs = []
    for i in range(n):
        pair: dict[str, Any] = {"id": f"bench-{i:05d}", "description": f"bench pair {i}"}
        if "kalshi" in venues:
            pair["kalshi"] = {"ticker": f"KXBENCH-{i:05d}"}
        if "polymarket" in venues:
            base = str(10**70 + i * 7919)
            pair["polymarket"] = {"token_id": base + "1", "no_token_id": base + "2", "fee_rate": "0.04"}
        if "manifold" in venues:
            pair["manifold"] = {"slug": f"bench-market-{i:05d}"}
        pairs.append(pair)
    return {"pairs": pairs}


def pairs(n: int) -> PairsConfig:
    return parse_pairs(pairs_config(n))


def write_pairs(n: int, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(pairs_config(n)))
    return path


def _ladder(prices_cents: list[int], size: int) -> tuple[Level, ...]:
    return tuple(Level(Decimal(p) / 100, Decimal(size + k)) for k, p in enumerate(prices_cents))


# Crossed books: YES on kalshi + NO on polymarket or manifold costs < $1, and so does NO on
# manifold; sizes change on every tick, so every tick of a crossed pair changes a result.
_CROSSED = {
    "kalshi": ([40, 41, 42], [70, 71, 72]),
    "polymarket": ([70, 71, 72], [45, 46, 47]),
    "manifold": ([70, 71, 72], [46, 47, 48]),
}


def synthetic_ticks(
    config: PairsConfig, count: int, *, seed: int = 1, crossed: bool = False, probe_every: int = 10
) -> list[Tick]:
    """``count`` ticks cycling over pairs and venues, 3 levels a side; books never cross.

    ``crossed``: on every ``probe_every``-th pair (1: all), YES on kalshi + NO on polymarket
    or manifold costs < $1 with a size that changes on every tick, so each of those ticks
    produces a spread event stamped with its own event time (the latency benchmark's probes).
    """
    import random

    rng = random.Random(seed)
    refs = [(n, pair.id, venue) for n, pair in enumerate(config.pairs) for venue in sorted(pair.venue_names)]
    mids = [rng.randint(30, 70) for _ in config.pairs]
    out = []
    for i in range(count):
        n, pair_id, venue = refs[i % len(refs)]
        size = 10 + (i // len(refs)) % 50 + rng.randint(0, 3) * 100
        if crossed and n % probe_every == 0:
            # The price moves by a cent every round, so the best direction changes every tick.
            shift = (i // len(refs)) % 4
            yes, no = ([p + shift for p in side] for side in _CROSSED[venue])
        else:
            mid, j, k = mids[n], rng.randint(0, 2), rng.randint(0, 2)
            yes, no = [mid + 2 + j, mid + 3 + j, mid + 4 + j], [102 - mid + k, 103 - mid + k, 104 - mid + k]
        out.append(
            Tick(
                pair_id=pair_id,
                venue=venue,  # type: ignore[arg-type]
                yes_asks=_ladder(yes, size),
                no_asks=_ladder(no, size + 1),
                event_ts=0,
                recv_ts=0,
                fee_rate=Decimal(0) if venue == "manifold" else Decimal("0.04"),
                real_money=venue != "manifold",
            )
        )
    return out


#: ``producer_id`` of the latency passes' warm-up record: every peer turns it into one output
#: (the edge peers echo it), which tells the bench it is consuming and producing.
WARMUP = "bench-warmup"


def one_tick_batch(batch: dict[str, Any], tick: dict[str, Any]) -> dict[str, Any]:
    """The peer workload's output for one tick: that tick as a one-tick TickBatch record."""
    return {
        "venue": batch["venue"],
        "producer_id": batch["producer_id"],
        "watermark": batch["watermark"],
        "end_of_stream": False,
        "ticks": [tick],
    }


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def repeat(fn: Callable[[], float], times: int) -> tuple[float, list[float]]:
    """Run ``fn`` (returns a rate) ``times`` times; median and all samples."""
    samples = [fn() for _ in range(times)]
    return median(samples), samples


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "affinity_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def save(name: str, payload: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": name, "when": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": machine(), **payload}
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(payload, indent=1, sort_keys=False) + "\n")
    return path
