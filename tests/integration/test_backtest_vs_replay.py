"""``echoarb backtest`` and paper trading against a real ``echoarb replay`` of the bundled sample.

One replay (embedded broker, a Faust worker process, the ClickHouse sink) publishes the
sample's ticks and spread events, then:

- the backtest, in-process, must emit the events the replay read back from the spreads topic
  (apart from the wall-clock ``computed_at``, ids included);
- a paper session reading those topics from the beginning must store, in real ClickHouse,
  the backtest's trade of the sample: 120 contracts a leg, realised 1.9043 (no order is sent).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from echoarb.backtest.latency import LatencyModel
from echoarb.backtest.run import Backtest, BacktestConfig
from echoarb.kafka import client_config
from echoarb.kafka.embedded import EmbeddedBroker
from echoarb.pairs import load_pairs
from echoarb.services.paper import PaperSession
from echoarb.services.replay import run_replay
from echoarb.settings import Settings
from echoarb.sink.client import connect
from echoarb.sink.migrate import migrate
from echoarb.venues.recording import read_recording
from echoarb.wire.codec import load_codecs
from echoarb.wire.records import spread_record_to_json, spread_to_record
from tests.paths import PAIRS, REPO, SAMPLE

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

Replayed = tuple[Settings, list[dict[str, Any]]]


@pytest.fixture(scope="module")
async def replayed(
    broker: EmbeddedBroker, chdb_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Replayed:
    run = uuid.uuid4().hex[:8]
    settings = Settings(
        data_dir=chdb_data_dir,
        clickhouse_database=f"bt_{run}",
        topic_ticks_prefix=f"bt-{run}.ticks.",
        topic_spreads=f"bt-{run}.spreads",
        topic_spread_windows=f"bt-{run}.spread-windows",
        topic_dead_letter=f"bt-{run}.dead-letter",
        topic_control=f"bt-{run}.control",
        partitions=4,
        pairs_file=PAIRS,
    )
    out = tmp_path_factory.mktemp("backtest-replay") / "spreads.jsonl"
    await run_replay(
        settings,
        load_pairs(PAIRS),
        SAMPLE,
        out,
        bootstrap=broker.bootstrap,
        embedded_broker=True,
        timeout=120,
    )
    return settings, [json.loads(line) for line in out.read_text().splitlines()]


def _without_wall_clock(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k != "computed_at"} for e in events]


async def test_backtest_emits_what_the_replay_reads_back(replayed: Replayed) -> None:
    settings, events = replayed
    backtest = Backtest(settings, load_pairs(PAIRS))
    for frame in read_recording(SAMPLE):
        await backtest.feed(frame)
    await backtest.finish()
    ours = [spread_record_to_json(spread_to_record(e.event)) for e in backtest.scan.sorted_events()]
    assert len(events) == 4 and sum(e["executable"] for e in events) == 1
    assert _without_wall_clock(ours) == _without_wall_clock(events)


async def test_paper_session_stores_the_sample_trade(
    replayed: Replayed, broker: EmbeddedBroker, chdb_client: Client
) -> None:
    settings, _ = replayed
    client = connect(settings)
    migrate(client, settings.clickhouse_database)
    run_id = f"run-{uuid.uuid4().hex[:8]}"
    session = PaperSession(
        settings,
        load_pairs(PAIRS),
        BacktestConfig(latency=LatencyModel.parse("kalshi=150ms,polymarket=300ms")),
        client,
        bootstrap=broker.bootstrap,
        codecs=load_codecs(None),
        consumer_kwargs=client_config.consumer(True, settings),
        run_id=run_id,
        from_beginning=True,
    )
    task = asyncio.create_task(session.run())
    try:
        async with asyncio.timeout(90):
            while session.report.trades < 1:
                assert not task.done(), task
                await asyncio.sleep(0.1)
    finally:
        session.stop.set()
        await task
    db = settings.clickhouse_database
    [trade] = chdb_client.query(
        f"SELECT pair_id, reported_size, reported_profit, sets, outlay, fees, pnl, fully_filled, one_legged "
        f"FROM `{db}`.paper_trades WHERE run_id = '{run_id}'"
    ).result_rows
    assert trade == (
        "fed-rate-march",
        Decimal(120),
        Decimal("1.9043"),
        Decimal(120),
        Decimal("118.0957"),
        Decimal("3.2957"),
        Decimal("1.9043"),
        True,
        False,
    )
    positions = chdb_client.query(
        f"SELECT venue, side, contracts, cost FROM `{db}`.paper_positions "
        f"WHERE run_id = '{run_id}' ORDER BY venue"
    ).result_rows
    assert positions == [
        ("kalshi", "yes", Decimal(120), Decimal("60.5")),
        ("polymarket", "no", Decimal(120), Decimal("57.5957")),
    ]
    assert session.trader.counts.trades == 1 and session.trader.counts.dropped == 0


def test_paper_cli_on_the_replayed_topics(replayed: Replayed, broker: EmbeddedBroker, tmp_path: Path) -> None:
    """``echoarb backtest --paper`` as a user runs it: its own process and embedded ClickHouse."""
    settings, _ = replayed
    env = dict(
        settings.child_env(kafka_bootstrap=broker.bootstrap, embedded_broker=True, data_dir=tmp_path / "data")
    )
    args = ["backtest", "--paper", "--from-beginning", "--paper-trades", "1", "--paper-seconds", "120"]
    args += ["--run-id", "cli-run", "--latency", "kalshi=150ms,polymarket=300ms"]
    proc = subprocess.run(
        [sys.executable, "-m", "echoarb", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert "paper trading cli-run" in proc.stdout and "no orders are ever sent" in proc.stdout
    [line] = [line for line in proc.stdout.splitlines() if line.startswith("  paper  fed-rate-march")]
    assert " ".join(line.split()) == (
        "paper fed-rate-march reported 1.9043 realised 1.9043 entry kalshi yes 120 + entry polymarket no 120"
    )
    assert "1 trades (0 without their quotes, 0 pending); reported 1.9043, realised 1.9043" in proc.stdout
