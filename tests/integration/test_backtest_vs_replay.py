"""``echoarb backtest`` (in-process) and ``echoarb replay`` (Kafka + Faust worker) agree.

The replay's spread events are read back from the spreads topic of a real embedded broker,
written by a real Faust worker process; the backtest computes its own in-process. Apart from
the wall-clock ``computed_at`` they must be the same events, ids included.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from echoarb.backtest.run import Backtest
from echoarb.kafka.embedded import EmbeddedBroker
from echoarb.pairs import load_pairs
from echoarb.services.replay import run_replay
from echoarb.settings import Settings
from echoarb.venues.recording import read_recording
from echoarb.wire.records import spread_record_to_json, spread_to_record
from tests.paths import PAIRS, SAMPLE


def _without_wall_clock(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k != "computed_at"} for e in events]


async def test_backtest_emits_what_the_replay_reads_back(
    broker: EmbeddedBroker, chdb_data_dir: Path, tmp_path: Path
) -> None:
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
    pairs = load_pairs(PAIRS)
    out = tmp_path / "spreads.jsonl"
    await run_replay(
        settings, pairs, SAMPLE, out, bootstrap=broker.bootstrap, embedded_broker=True, timeout=120
    )
    replayed = [json.loads(line) for line in out.read_text().splitlines()]

    backtest = Backtest(settings, pairs)
    for frame in read_recording(SAMPLE):
        await backtest.feed(frame)
    await backtest.finish()
    ours = [spread_record_to_json(spread_to_record(e.event)) for e in backtest.scan.sorted_events()]

    assert len(replayed) == 4 and sum(e["executable"] for e in replayed) == 1
    assert _without_wall_clock(ours) == _without_wall_clock(replayed)
