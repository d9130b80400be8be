from decimal import Decimal

from echoarb.model import Opportunity
from echoarb.scan.windows import PairWindows


def opp(ts: int, size: int, edge: str, executable: bool) -> Opportunity:
    return Opportunity(
        "p",
        "binary",
        (),
        None,
        Decimal(size),
        Decimal(0),
        Decimal(0),
        Decimal(0),
        Decimal(edge),
        executable,
        0,
        ts,
    )


def test_tumbling_counts_max_edge_and_executable_time() -> None:
    w = PairWindows("tumbling", 60_000, 60_000)
    w.on_opportunity(10_000, opp(10_000, 120, "0.015", True))
    w.set_executable(10_000, True)
    w.on_opportunity(70_000, opp(70_000, 0, "0", False))
    w.set_executable(70_000, False)
    closed = w.close(120_000, "p")
    assert [
        (c.start, c.end, c.agg.events, c.agg.max_net_edge, c.agg.best_size, c.agg.executable_ms)
        for c in closed
    ] == [
        (0, 60_000, 1, Decimal("0.015"), Decimal(120), 50_000),
        (60_000, 120_000, 1, None, Decimal(0), 10_000),
    ]
    # A late event for a closed window is counted as late, not silently added.
    assert w.on_opportunity(5_000, opp(5_000, 1, "0.1", True)) == 1


def test_hopping_windows_overlap_and_close_all_credits_open_stretch() -> None:
    w = PairWindows("hopping", 300_000, 60_000)
    w.set_executable(250_000, True)
    closed = w.close_all(310_000, "p")
    by_start = {c.start: c.agg.executable_ms for c in closed}
    assert by_start[0] == 50_000  # [0, 300000) overlaps [250000, 300000)
    assert by_start[60_000] == 60_000  # [60000, 360000) overlaps [250000, 310000)
    assert by_start[240_000] == 60_000
    assert by_start[300_000] == 10_000  # [300000, 600000) overlaps [300000, 310000)
    assert len(closed) == 6
    restored = PairWindows("hopping", 300_000, 60_000)
    restored.restore(w.to_json())
    assert restored.to_json() == w.to_json()
