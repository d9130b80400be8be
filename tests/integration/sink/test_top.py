"""``echoarb top``: the query and table against the real engine, and the clear failure while
another process holds the embedded data dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from echoarb.discover import cache
from echoarb.discover.model import ListingEntry, OutcomeRef
from echoarb.sink.client import holder_of
from echoarb.sink.schema import SPREADS_TABLE
from echoarb.sink.top import best_opportunities, render
from echoarb.sink.writer import ClickHouseWriter
from tests.sink.helpers import spread_event, store

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

HOLD = """
import sys, time
import clickhouse_connect
client = clickhouse_connect.get_client(dsn="chdb://" + sys.argv[1])  # kept: closing releases the dir
client.command("CREATE DATABASE IF NOT EXISTS echoarb")
print("held", flush=True)
time.sleep(60)
"""


def test_best_opportunity_per_pair_and_direction(chdb_client: Client, ch_database: str) -> None:
    writer = ClickHouseWriter(chdb_client, ch_database)
    writer.ensure_schema()
    events = [
        spread_event(id="a", pair_id="fed", net_profit_micros=5_000_000, executable=True),
        spread_event(
            id="b", pair_id="fed", net_profit_micros=9_000_000, executable=True, event_ts=1_733_000_001_000
        ),
        spread_event(id="c", pair_id="btc", net_profit_micros=7_000_000, executable=True),
        spread_event(id="d", pair_id="eth", net_profit_micros=99_000_000, executable=False),
        spread_event(
            id="old", pair_id="old", net_profit_micros=1, executable=True, event_ts=1_732_000_000_000
        ),
    ]
    store(writer, SPREADS_TABLE, events, "spreads")
    rows = best_opportunities(chdb_client, ch_database, minutes=60)
    assert [(r.pair_id, r.net_profit, r.events) for r in rows] == [
        ("fed", Decimal("9"), 2),
        ("btc", Decimal("7"), 1),
    ]
    assert rows[0].legs == "kalshi yes + polymarket no"
    table = render(rows)
    assert table.splitlines()[0].split()[:2] == ["pair", "legs"]
    assert "9.000000" in table
    everything = best_opportunities(chdb_client, ch_database, executable_only=False)
    assert everything[0].pair_id == "eth"


DAY_MS = 86_400_000
T0 = 1_733_000_000_000


def _capital_events() -> list[dict[str, Any]]:
    """soon: 0.5% on its outlay, resolving in 1 day; locked: 1% locked for 240 days; unknown: no listing."""
    return [
        spread_event(
            id="s",
            pair_id="soon",
            net_profit_micros=500_000,
            cost_micros=99_000_000,
            fees_micros=1_000_000,
            event_ts=T0,
        ),
        spread_event(
            id="l",
            pair_id="locked",
            net_profit_micros=1_000_000,
            cost_micros=99_000_000,
            fees_micros=1_000_000,
            event_ts=T0,
        ),
        spread_event(id="u", pair_id="unknown", net_profit_micros=9_000_000, event_ts=T0),
    ]


RESOLUTIONS = {"soon": T0 + DAY_MS, "locked": T0 + 240 * DAY_MS}


def test_sort_by_annualised_return_from_the_listing_resolutions(
    chdb_client: Client, ch_database: str
) -> None:
    writer = ClickHouseWriter(chdb_client, ch_database)
    writer.ensure_schema()
    store(writer, SPREADS_TABLE, _capital_events(), "spreads")
    by_profit = best_opportunities(chdb_client, ch_database, resolutions=RESOLUTIONS)
    assert [r.pair_id for r in by_profit] == ["unknown", "locked", "soon"]
    rows = best_opportunities(chdb_client, ch_database, resolutions=RESOLUTIONS, sort="annualised")
    assert [r.pair_id for r in rows] == ["soon", "locked", "unknown"]  # unknown resolution last
    soon, locked, unknown = rows
    assert soon.days_to_resolution == 1.0 and soon.annualised_return == Decimal("1.8250")  # 0.5% x 365
    assert locked.days_to_resolution == 240.0
    assert locked.annualised_return == Decimal("0.0152")  # 1% x 365 / 240
    assert unknown.days_to_resolution is None and unknown.annualised_return is None
    table = render(rows).splitlines()
    assert table[0].split()[-6:-4] == ["days", "annualised"]
    assert table[2].split()[-5:-3] == ["1.0", "182.50%"] and table[4].split()[-5:-3] == ["-", "-"]
    # The limit applies after the sort: the best annualised, not the best profit.
    assert [
        r.pair_id
        for r in best_opportunities(
            chdb_client, ch_database, limit=1, resolutions=RESOLUTIONS, sort="annualised"
        )
    ] == ["soon"]


WRITE = """
import sys
from echoarb.sink.client import connect_embedded
from echoarb.sink.schema import SPREADS_TABLE
from echoarb.sink.writer import ClickHouseWriter
from tests.integration.sink.test_top import _capital_events
from tests.sink.helpers import store
client = connect_embedded(sys.argv[1], "echoarb")
writer = ClickHouseWriter(client, "echoarb")
writer.ensure_schema()
store(writer, SPREADS_TABLE, _capital_events(), "spreads")
client.close()
"""


@pytest.mark.integration  # embedded ClickHouse in child processes (this one may hold another dir)
def test_top_sort_annualised_reads_the_discovery_listing(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[3]
    env = {k: v for k, v in os.environ.items() if k not in ("CLICKHOUSE_URL", "CLICKHOUSE_DATABASE")}
    env |= {"DATA_DIR": str(tmp_path), "PYTHONPATH": str(root), "PAIRS_FILE": str(tmp_path / "pairs.json")}
    subprocess.run(
        [sys.executable, "-c", WRITE, str(tmp_path / "clickhouse")],
        env=env,
        check=True,
        timeout=120,
        cwd=root,
    )
    (tmp_path / "pairs.json").write_text(
        json.dumps(
            {
                "pairs": [
                    {"id": "soon", "kalshi": {"ticker": "K-SOON"}, "polymarket": {"token_id": "Y1"}},
                    {"id": "locked", "kalshi": {"ticker": "K-LOCKED"}, "polymarket": {"token_id": "Y2"}},
                    {"id": "unknown", "kalshi": {"ticker": "K-UNKNOWN"}, "polymarket": {"token_id": "Y3"}},
                ]
            }
        )
    )
    kalshi = [ListingEntry("kalshi", f"K-{p.upper()}", "Q?", resolve_ms=ms) for p, ms in RESOLUTIONS.items()]
    poly = [
        ListingEntry(
            "polymarket",
            f"0x{i}",
            "Q?",
            outcomes=(OutcomeRef("Yes", y), OutcomeRef("No", "N")),
            resolve_ms=RESOLUTIONS[p] - DAY_MS // 2,
        )
        for i, (p, y) in enumerate((("soon", "Y1"), ("locked", "Y2")))
    ]
    cache.save(
        cache.cache_path(tmp_path),
        {
            "kalshi": cache.VenueSection("kalshi", 0, tuple(kalshi)),
            "polymarket": cache.VenueSection("polymarket", 0, tuple(poly)),
        },
    )
    done = subprocess.run(
        [sys.executable, "-m", "echoarb", "top", "--sort", "annualised"],
        env=env,
        capture_output=True,
        timeout=120,
        cwd=tmp_path,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert "by annualised return" in lines[0]
    assert [line.split()[0] for line in lines[3:]] == ["soon", "locked", "unknown"]
    assert lines[3].split()[-5:-3] == ["1.0", "182.50%"]  # the later leg (Kalshi) decides
    # Without the listing the table still prints, with a note on where the figures come from.
    cache.cache_path(tmp_path).unlink()
    done = subprocess.run(
        [sys.executable, "-m", "echoarb", "top", "--sort", "annualised"],
        env=env,
        capture_output=True,
        timeout=120,
        cwd=tmp_path,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "run `echoarb discover`" in done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()[3:]] == ["unknown", "locked", "soon"]


@pytest.mark.integration  # starts embedded ClickHouse in a child process
def test_top_fails_clearly_while_another_process_holds_the_data_dir(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "clickhouse")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        assert holder_of(tmp_path / "clickhouse") == f"pid {holder.pid}"
        env = {k: v for k, v in os.environ.items() if k != "CLICKHOUSE_URL"} | {"DATA_DIR": str(tmp_path)}
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "echoarb", "top"], env=env, capture_output=True, timeout=60, cwd=tmp_path
        )
        assert done.returncode == 2, done.stderr.decode()[-2000:]
        assert f"in use by pid {holder.pid}" in done.stderr.decode()
        assert time.monotonic() - started < 30
    finally:
        holder.kill()
        holder.wait()
    assert holder_of(tmp_path / "clickhouse") is None  # the lock dies with its process
