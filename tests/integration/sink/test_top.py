"""``echoarb top``: the query and table against the real engine, and the clear failure while
another process holds the embedded data dir."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

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
