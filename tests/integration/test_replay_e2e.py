"""The whole pipeline: recording -> parsers -> Kafka -> Faust worker -> spreads -> ClickHouse.

Real embedded broker, a real Faust worker process and the real ClickHouse engine (chdb).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from echoarb.kafka.embedded import EmbeddedBroker
from echoarb.pairs import load_pairs
from echoarb.services.replay import ReplayReport, run_replay
from echoarb.settings import Settings
from tests.paths import PAIRS, REPO, SAMPLE

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


def _settings(data_dir: Path, **overrides: Any) -> Settings:
    run = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "clickhouse_database": f"e2e_{run}",
        "topic_ticks_prefix": f"e2e-{run}.ticks.",
        "topic_spreads": f"e2e-{run}.spreads",
        "topic_spread_windows": f"e2e-{run}.spread-windows",
        "topic_dead_letter": f"e2e-{run}.dead-letter",
        "topic_control": f"e2e-{run}.control",
        "partitions": 4,
        "pairs_file": PAIRS,
        **overrides,
    }
    return Settings(**values)


async def _replay(settings: Settings, broker: EmbeddedBroker, out: Path) -> ReplayReport:
    return await run_replay(
        settings,
        load_pairs(PAIRS),
        SAMPLE,
        out,
        bootstrap=broker.bootstrap,
        embedded_broker=True,
        timeout=120,
    )


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _without_wall_clock(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k != "computed_at"} for e in events]


FirstRun = tuple[Settings, ReplayReport, list[dict[str, Any]]]


@pytest.fixture(scope="module")
async def first_run(
    broker: EmbeddedBroker, chdb_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> FirstRun:
    settings = _settings(chdb_data_dir)
    out = tmp_path_factory.mktemp("replay") / "spreads.jsonl"
    report = await _replay(settings, broker, out)
    return settings, report, _read(out)


async def test_known_opportunity_found_in_output(first_run: FirstRun) -> None:
    _, report, events = first_run
    assert report.frames == 3000 and report.parse_errors == 5
    executable = [e for e in events if e["executable"]]
    assert len(executable) == 1
    event = executable[0]
    assert event["pair_id"] == "fed-rate-march"
    assert [(leg["venue"], leg["side"], leg["best_price"]) for leg in event["legs"]] == [
        ("kalshi", "yes", "0.48"),
        ("polymarket", "no", "0.47"),
    ]
    assert (event["size"], event["cost"], event["fees"], event["net_profit"], event["gross_edge"]) == (
        "120",
        "114.8",
        "3.2957",
        "1.9043",
        "0.05",
    )
    # The opportunity also disappears again: a size-0 event for the same legs follows it.
    same_legs = [
        e
        for e in events
        if e["pair_id"] == "fed-rate-march"
        and [leg["venue"] for leg in e["legs"]] == ["kalshi", "polymarket"]
    ]
    assert [e["size"] for e in same_legs] == ["120", "0"]


async def test_rows_in_clickhouse(first_run: FirstRun, chdb_client: Client) -> None:
    settings, report, events = first_run
    db = settings.clickhouse_database
    assert report.spreads == len(events) == report.spreads_in_clickhouse
    rows = chdb_client.query(
        f"SELECT pair_id, toString(size), toString(fees), toString(net_profit), executable, "
        f"leg_venue, toUnixTimestamp64Milli(event_ts) FROM `{db}`.spreads WHERE executable"
    ).result_rows
    assert rows == [
        (
            "fed-rate-march",
            "120",
            "3.2957",
            "1.9043",
            True,
            ["kalshi", "polymarket"],
            next(e["event_ts"] for e in events if e["executable"]),
        )
    ]
    count = chdb_client.query(f"SELECT count() FROM `{db}`.spreads").result_rows[0][0]
    assert count == len(events)
    windows = chdb_client.query(
        f"SELECT window, sum(events), max(executable_ms) FROM `{db}`.spread_windows "
        "WHERE pair_id = 'fed-rate-march' GROUP BY window ORDER BY window"
    ).result_rows
    # Every spread event is counted once per tumbling window and five times per hopping (5 x 60 s).
    assert [(w, int(n)) for w, n, _ in windows] == [
        ("hopping", 5 * len(same_pair(events))),
        ("tumbling", len(same_pair(events))),
    ]
    assert all(ms > 0 for *_, ms in windows)  # the executable stretch is credited


def same_pair(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["pair_id"] == "fed-rate-march"]


async def test_same_events_whatever_the_batching(
    first_run: FirstRun, broker: EmbeddedBroker, chdb_data_dir: Path, tmp_path: Path
) -> None:
    """One tick per Kafka record instead of up to 200: a different interleaving on the broker."""
    _, _, events = first_run
    settings = _settings(chdb_data_dir, batch_max_ticks=1, batch_linger_ms=0)
    out = tmp_path / "spreads.jsonl"
    await _replay(settings, broker, out)
    assert _without_wall_clock(_read(out)) == _without_wall_clock(events)


def test_cli_replay_exits_zero_with_output(tmp_path: Path) -> None:
    """The README's demo path: the console command, its own embedded broker and ClickHouse."""
    out = tmp_path / "spreads.jsonl"
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP", "CLICKHOUSE_URL")}
    env["DATA_DIR"] = str(tmp_path / "data")
    result = subprocess.run(
        [sys.executable, "-m", "echoarb", "replay", str(SAMPLE), "--out", str(out), "--speed", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "fed-rate-march" in result.stdout and "1.9043" in result.stdout
    assert sum(1 for e in _read(out) if e["executable"]) == 1


def test_cli_rejects_bad_pairs_file(tmp_path: Path) -> None:
    bad = tmp_path / "pairs.json"
    bad.write_text(
        json.dumps({"pairs": [{"id": "p", "kalshi": {"ticker": "K"}, "polymarket": {"tokn": "1"}}]})
    )
    result = subprocess.run(
        [sys.executable, "-m", "echoarb", "replay", str(SAMPLE), "--pairs", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 2
    assert "pair 'p'" in result.stderr and "polymarket.tokn" in result.stderr
