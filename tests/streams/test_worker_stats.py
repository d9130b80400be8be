"""``/health`` and ``/metrics`` say the same thing: both render one ``WorkerStats`` value."""

from __future__ import annotations

from dataclasses import replace

from streams.metrics import render, worker_registry
from streams.stats import WorkerStats

STATS = WorkerStats(
    ticks_processed=120,
    spreads_sent=7,
    decode_errors=1,
    late_ticks=2,
    late_window_events=3,
    stale_records_skipped=4,
    repeated_records_skipped=5,
    reseeks=6,
    assigned_partitions=(1, 3),
    recovered=True,
    rebalancing=False,
    buffered_ticks=9,
    pending_checkpoints=2,
)


def test_ready_only_when_assigned_recovered_and_not_rebalancing() -> None:
    assert STATS.ready and STATS.health()["status"] == "ok"
    for not_ready in (
        replace(STATS, assigned_partitions=()),
        replace(STATS, recovered=False),
        replace(STATS, rebalancing=True),
    ):
        assert not not_ready.ready and not_ready.health()["status"] == "starting"


def test_metrics_render_the_snapshot() -> None:
    current = [STATS]
    registry = worker_registry(lambda: current[0])
    lines = {
        line.split()[0]: float(line.split()[1])
        for line in render(registry).decode().splitlines()
        if line and not line.startswith("#")
    }
    assert lines["echoarb_worker_ticks_total"] == 120
    assert lines["echoarb_worker_reseeks_total"] == 6
    assert lines["echoarb_worker_ready"] == 1
    assert lines["echoarb_worker_assigned_partitions"] == 2
    assert lines["echoarb_worker_pending_checkpoints"] == 2
    current[0] = replace(STATS, ticks_processed=121, rebalancing=True)  # read at each scrape
    again = render(registry).decode()
    assert "echoarb_worker_ticks_total 121.0" in again and "echoarb_worker_ready 0.0" in again
    assert STATS.health()["assigned_partitions"] == [1, 3]
