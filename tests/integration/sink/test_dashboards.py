"""Every Grafana panel query runs against the real ClickHouse engine, with the migrated schema and
data in it, after the plugin's macros are expanded for a fixed range. A dashboard with broken
SQL, a missing column or a macro the plugin does not have fails here, not in front of a user.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiokafka import TopicPartition

from echoarb.sink import ledger
from echoarb.sink.batches import Batch
from echoarb.sink.client import connect_embedded
from echoarb.sink.schema import SPREADS_TABLE, TICKS_TABLE, WINDOWS_TABLE
from echoarb.sink.writer import ClickHouseWriter
from tests.integration.test_sink_exactly_once import tick_batch
from tests.paths import REPO
from tests.sink.grafana_macros import MacroError, TimeRange, expand
from tests.sink.helpers import FakeRecord, spread_event, store, window

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

GRAFANA = REPO / "docker" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))


def time_range(t0: int) -> TimeRange:
    """The dashboards' range around rows placed at ``t0`` (epoch ms)."""
    return TimeRange(
        datetime.fromtimestamp(t0 / 1000, UTC) - timedelta(minutes=5),
        datetime.fromtimestamp(t0 / 1000, UTC) + timedelta(minutes=10),
        interval_s=30,
    )


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # collapsed rows


def queries() -> list[Any]:
    found = []
    for path in DASHBOARDS:
        for panel in panels(json.loads(path.read_text())):
            for target in panel.get("targets", []):
                found.append(pytest.param(target["rawSql"], id=f"{path.stem}:{panel['title']}"))
    return found


@pytest.fixture(scope="module")
def dashboard_db(chdb_data_dir: Path) -> Iterator[tuple[Client, TimeRange]]:
    """A migrated database with spreads, windows, ticks and ledger rows inside the range returned.

    Rows are placed a few minutes before the fixture runs (not at import: a long suite would
    leave the range behind): the ledger's planned_at is the wall clock, and its 30-day TTL
    would drop older rows at insert.
    """
    t0 = (int(time.time()) // 60 - 3) * 60_000
    database = "grafana_check"
    client = connect_embedded(chdb_data_dir / "clickhouse", database)  # default database = it
    writer = ClickHouseWriter(client, database)
    writer.ensure_schema()
    spreads = [
        spread_event(
            id=f"e{i}", pair_id=f"pair-{i % 3}", event_ts=t0 + i * 7_000, computed_at=t0 + i * 7_000 + 40
        )
        for i in range(60)
    ]
    store(writer, SPREADS_TABLE, spreads, "spreads")
    windows = [window(window="tumbling", pair_id=f"pair-{i}", window_start=t0) for i in range(3)]
    store(writer, WINDOWS_TABLE, windows, "spread-windows")
    store(writer, TICKS_TABLE, [tick_batch("kalshi", i * 5_000, 2, t0=t0) for i in range(20)], "ticks.kalshi")
    records = [FakeRecord(o, b"", t0 + o) for o in range(10)]
    batch = Batch(TopicPartition("spreads", 0), "spreads", records, [1] * 10)
    ledger.record(client, database, "echoarb-sink", [batch])
    yield client, time_range(t0)
    client.command(f"DROP DATABASE IF EXISTS `{database}`")
    client.close()


def test_dashboards_exist_and_use_the_provisioned_datasource() -> None:
    names = {p.name for p in DASHBOARDS}
    assert {"live-spreads.json", "pipeline-health.json"} <= names
    # No YAML parser in the dependencies: the few keys that matter are checked as text.
    source = (GRAFANA / "provisioning" / "datasources" / "clickhouse.yaml").read_text()
    keys = dict(re.findall(r"^\s+(\w+): (.+)$", source, re.MULTILINE))
    assert keys["type"] == "grafana-clickhouse-datasource"
    assert {"host", "port", "protocol", "defaultDatabase"} <= set(keys)
    assert keys["password"] == "$__file{/run/secrets/clickhouse_password}"  # a Docker secret, never committed
    for path in DASHBOARDS:
        for panel in panels(json.loads(path.read_text())):
            for target in panel.get("targets", []):
                assert target["datasource"]["uid"] == keys["uid"], (path.name, panel["title"])
    provider = (GRAFANA / "provisioning" / "dashboards" / "echoarb.yaml").read_text()
    assert "path: /var/lib/grafana/dashboards" in provider


def test_expander_follows_the_plugin_docs() -> None:
    r = TimeRange(datetime.fromtimestamp(1415792726, UTC), datetime.fromtimestamp(1447328726, UTC), 20)
    assert expand("$__timeFilter(ts)", r) == "ts >= toDateTime(1415792726) AND ts <= toDateTime(1447328726)"
    assert expand("$__timeInterval(ts)", r) == "toStartOfInterval(toDateTime(ts), INTERVAL 20 second)"
    assert expand("$__fromTime_ms $__toTime $__interval_s", r) == (
        "fromUnixTimestamp64Milli(1415792726000) toDateTime(1447328726) 20"
    )
    with pytest.raises(MacroError):
        expand("$__unknownMacro(x)", r)


@pytest.mark.parametrize("sql", queries())
def test_panel_query_runs_and_returns_rows(sql: str, dashboard_db: tuple[Client, TimeRange]) -> None:
    client, window_range = dashboard_db
    result = client.query(expand(sql, window_range))
    assert result.result_rows, f"no rows for:\n{expand(sql, window_range)}"
