"""Paper trading on a pipeline's real topics, into real ClickHouse (no order ever sent).

A real replay (embedded broker, Faust worker process, ClickHouse sink) publishes the bundled
sample's ticks and spread events; a paper session then reads those topics from the beginning
and must store the backtest's trade of the sample: 120 contracts a leg, realised 1.9043.
"""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from echoarb.backtest.latency import LatencyModel
from echoarb.backtest.run import BacktestConfig
from echoarb.kafka import client_config
from echoarb.kafka.embedded import EmbeddedBroker
from echoarb.pairs import load_pairs
from echoarb.services.paper import PaperSession
from echoarb.services.replay import run_replay
from echoarb.settings import Settings
from echoarb.sink.client import connect
from echoarb.sink.migrate import migrate
from echoarb.wire.codec import load_codecs
from tests.paths import PAIRS, SAMPLE

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


async def test_paper_session_stores_the_sample_trade(
    broker: EmbeddedBroker, chdb_data_dir: Path, chdb_client: Client
) -> None:
    run = uuid.uuid4().hex[:8]
    settings = Settings(
        data_dir=chdb_data_dir,
        clickhouse_database=f"paper_{run}",
        topic_ticks_prefix=f"paper-{run}.ticks.",
        topic_spreads=f"paper-{run}.spreads",
        topic_spread_windows=f"paper-{run}.spread-windows",
        topic_dead_letter=f"paper-{run}.dead-letter",
        topic_control=f"paper-{run}.control",
        partitions=4,
        pairs_file=PAIRS,
    )
    pairs = load_pairs(PAIRS)
    await run_replay(
        settings, pairs, SAMPLE, None, bootstrap=broker.bootstrap, embedded_broker=True, timeout=120
    )

    client = connect(settings)
    migrate(client, settings.clickhouse_database)
    config = BacktestConfig(latency=LatencyModel.parse("kalshi=150ms,polymarket=300ms"))
    session = PaperSession(
        settings,
        pairs,
        config,
        client,
        bootstrap=broker.bootstrap,
        codecs=load_codecs(None),
        consumer_kwargs=client_config.consumer(True, settings),
        run_id=f"run-{run}",
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
        f"FROM `{db}`.paper_trades WHERE run_id = 'run-{run}'"
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
        f"SELECT venue, side, contracts, cost FROM `{db}`.paper_positions ORDER BY venue"
    ).result_rows
    assert positions == [
        ("kalshi", "yes", Decimal(120), Decimal("60.5")),
        ("polymarket", "no", Decimal(120), Decimal("57.5957")),
    ]
    assert session.trader.counts.trades == 1 and session.trader.counts.dropped == 0
