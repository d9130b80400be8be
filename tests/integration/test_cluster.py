"""Several workers share the partitions and give the same result as one.

The recording has 60 pairs whose books cross often, so there are many spread events to
compare. Every run goes through the real broker, real worker processes and chdb.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from echoarb.kafka import client_config, tansu_compat
from echoarb.kafka.embedded import EmbeddedBroker
from echoarb.pairs import load_pairs
from echoarb.services.replay import ReplayReport, run_replay
from echoarb.services.worker_process import WorkerProcess
from echoarb.settings import Settings
from echoarb.venues.recording import RecordedFrame, RecordingWriter
from tests.integration.replay_chaos import BeforeShutdown, KillWorker

PAIRS = 60
FRAMES = 2400
T0 = 1_767_225_600_000


def _crossing_recording(directory: Path) -> tuple[Path, Path]:
    """Kalshi x Polymarket books redrawn at random: opportunities come and go all the time."""
    rng = random.Random(11)
    pairs = {
        "pairs": [
            {
                "id": f"pair-{i:02d}",
                "kalshi": {"ticker": f"K-{i:02d}"},
                "polymarket": {"token_id": f"{i:02d}1", "no_token_id": f"{i:02d}2", "fee_rate": "0.02"},
            }
            for i in range(PAIRS)
        ]
    }
    pairs_path = directory / "pairs.json"
    pairs_path.write_text(json.dumps(pairs))
    rec_path = directory / "recording.jsonl"
    seq = 0

    def levels(lo: int, hi: int) -> list[tuple[str, str]]:
        return [(f"0.{p:02d}", str(rng.randint(1, 40) * 10)) for p in sorted(rng.sample(range(lo, hi), 3))]

    with RecordingWriter(rec_path) as writer:
        for n in range(FRAMES):
            i, ts = rng.randrange(PAIRS), T0 + n * 50
            if rng.random() < 0.5:
                seq += 1
                msg = {
                    "market_ticker": f"K-{i:02d}",
                    "market_id": "m",
                    "yes_dollars_fp": levels(30, 55),
                    "no_dollars_fp": levels(30, 55),
                }
                frame = {"type": "orderbook_snapshot", "sid": 1, "seq": seq, "msg": msg}
                writer.write(RecordedFrame("kalshi", ts, json.dumps(frame)))
            else:
                token = f"{i:02d}{rng.choice('12')}"
                frame = {
                    "event_type": "book",
                    "asset_id": token,
                    "market": "0xc",
                    "timestamp": str(ts - 3),
                    "bids": [{"price": p, "size": s} for p, s in levels(20, 40)],
                    "asks": [{"price": p, "size": s} for p, s in levels(45, 70)],
                    "hash": "h",
                }
                writer.write(RecordedFrame("polymarket", ts, json.dumps(frame)))
    return rec_path, pairs_path


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _crossing_recording(tmp_path_factory.mktemp("cluster"))


def _settings(data_dir: Path, pairs_path: Path) -> Settings:
    run = uuid.uuid4().hex[:8]
    return Settings(
        data_dir=data_dir,
        clickhouse_database=f"cluster_{run}",
        pairs_file=pairs_path,
        partitions=8,
        topic_ticks_prefix=f"c-{run}.ticks.",
        topic_spreads=f"c-{run}.spreads",
        topic_spread_windows=f"c-{run}.spread-windows",
        topic_dead_letter=f"c-{run}.dlq",
        topic_control=f"c-{run}.control",
    )


async def _run(
    broker: EmbeddedBroker, data_dir: Path, recording: tuple[Path, Path], tmp: Path, **kwargs: Any
) -> tuple[ReplayReport, list[dict[str, Any]], dict[str, Any], Settings]:
    rec_path, pairs_path = recording
    settings = _settings(data_dir, pairs_path)
    out = tmp / f"{uuid.uuid4().hex[:6]}.jsonl"
    report = await run_replay(
        settings,
        load_pairs(pairs_path),
        rec_path,
        out,
        bootstrap=broker.bootstrap,
        embedded_broker=True,
        timeout=120,
        **kwargs,
    )
    events = [json.loads(line) for line in out.read_text().splitlines()]
    state = await _final_table(broker, f"{report.worker_id}-pair-state-changelog", settings.partitions)
    return report, events, state, settings


async def _final_table(broker: EmbeddedBroker, topic: str, partitions: int) -> dict[str, Any]:
    """Last value per key of a changelog topic: the table a recovering worker would rebuild."""
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    ends = await client_config.end_offsets(broker.bootstrap, tps, True)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=broker.bootstrap,
        auto_offset_reset="earliest",
        **tansu_compat.aiokafka_consumer_kwargs(),
    )
    await consumer.start()
    table: dict[str, Any] = {}
    try:
        consumer.assign(tps)
        positions = {tp: 0 for tp in tps}
        async with asyncio.timeout(30):
            while any(positions[tp] < ends[tp] for tp in tps):
                for tp, records in (await consumer.getmany(timeout_ms=200)).items():
                    for r in records:
                        table[r.key.decode()] = json.loads(r.value)
                        positions[tp] = r.offset + 1
    finally:
        await consumer.stop()
    return table


def _comparable(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Events by id, wall-clock field removed; duplicates must be identical."""
    out: dict[str, dict[str, Any]] = {}
    for event in events:
        body = {k: v for k, v in event.items() if k != "computed_at"}
        assert out.setdefault(event["id"], body) == body, "a duplicate differs from the original"
    return out


def _assert_same(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    a, b = _comparable(got), _comparable(want)
    diffs = [
        (k, {f: (a[k].get(f), b[k].get(f)) for f in a[k] if a[k].get(f) != b[k].get(f)})
        for k in a.keys() & b.keys()
        if a[k] != b[k]
    ]
    assert not diffs, diffs[:5]
    assert a.keys() == b.keys(), (sorted(a.keys() - b.keys())[:5], sorted(b.keys() - a.keys())[:5])


Recording = tuple[Path, Path]
Baseline = tuple[list[dict[str, Any]], dict[str, Any]]


@pytest.fixture(scope="module")
async def baseline(
    broker: EmbeddedBroker,
    chdb_data_dir: Path,
    recording: Recording,
    tmp_path_factory: pytest.TempPathFactory,
) -> Baseline:
    _, events, state, _ = await _run(broker, chdb_data_dir, recording, tmp_path_factory.mktemp("b"))
    assert len(events) > 200  # the recording really produces lots of opportunities
    assert sum(e["executable"] for e in events) > 50
    assert len(state) == PAIRS
    return events, state


async def test_two_workers_share_partitions_same_result(
    baseline: Baseline, broker: EmbeddedBroker, chdb_data_dir: Path, recording: Recording, tmp_path: Path
) -> None:
    """Two workers (a rebalance as the second joins mid-stream) give the single worker's result."""
    events, state = baseline
    _, events2, state2, _ = await _run(broker, chdb_data_dir, recording, tmp_path, workers=2, speed=40)
    _assert_same(events2, events)
    assert state2 == state, _state_diff(state2, state)[:10]


def _state_diff(got: dict[str, Any], want: dict[str, Any]) -> list[tuple[str, str]]:
    """(pair, field) of every difference between two final tables."""
    return [
        (pair, f)
        for pair in sorted(got.keys() | want.keys())
        for f in sorted((got.get(pair) or {}).keys() | (want.get(pair) or {}).keys())
        if (got.get(pair) or {}).get(f) != (want.get(pair) or {}).get(f)
    ]


@pytest.mark.chaos("SIGKILL one of two workers mid-stream", "survivor gives the same events and table")
async def test_worker_killed_mid_stream_survivor_gives_same_result(
    baseline: Baseline, broker: EmbeddedBroker, chdb_data_dir: Path, recording: Recording, tmp_path: Path
) -> None:
    """SIGKILL one of two workers a third of the way in: the survivor takes its partitions over."""
    events, state = baseline
    chaos = KillWorker(FRAMES // 3)
    _, events2, state2, _ = await _run(
        broker, chdb_data_dir, recording, tmp_path, workers=2, hooks=chaos, speed=40
    )
    assert chaos.killed == 1
    _assert_same(events2, events)  # same set of events; duplicates only identical ones
    assert _state_diff(state2, state) == []


@pytest.mark.chaos("SIGKILL the only worker, restart", "resumes from changelog, same events")
async def test_worker_restarted_mid_stream_resumes_from_changelog(
    baseline: Baseline, broker: EmbeddedBroker, chdb_data_dir: Path, recording: Recording, tmp_path: Path
) -> None:
    """SIGKILL the only worker halfway and start it again: tables recover, offsets resume."""
    events, state = baseline
    chaos = KillWorker(FRAMES // 2, restart=True)
    _, events3, state3, _ = await _run(broker, chdb_data_dir, recording, tmp_path, hooks=chaos, speed=40)
    assert chaos.killed == 1
    _assert_same(events3, events)
    assert _state_diff(state3, state) == []


async def test_web_views_route_any_pair_from_any_worker(
    broker: EmbeddedBroker, chdb_data_dir: Path, recording: Recording, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}

    async def probe(pool: list[WorkerProcess]) -> None:
        async with aiohttp.ClientSession() as http:
            for worker in pool:
                base = f"http://127.0.0.1:{worker.web_port}"
                async with http.get(f"{base}/health") as r:
                    seen.setdefault("health", []).append((r.status, await r.json()))
                for pair in ("pair-00", "pair-07", "pair-33"):
                    async with http.get(f"{base}/pairs/{pair}/") as r:
                        seen.setdefault(pair, []).append((r.status, await r.json()))
                async with http.get(f"{base}/windows/pair-07/") as r:
                    seen.setdefault("windows", []).append((r.status, await r.json()))
                async with http.get(f"{base}/spreads/") as r:
                    seen.setdefault("spreads", []).append((r.status, await r.json()))
                async with http.get(f"{base}/pairs/nope/") as r:
                    seen.setdefault("unknown", []).append(r.status)
                async with http.get(f"{base}/metrics") as r:
                    seen.setdefault("metrics", []).append((r.status, await r.text()))

    await _run(broker, chdb_data_dir, recording, tmp_path, workers=2, hooks=BeforeShutdown(probe))
    # Both workers healthy and holding some of the 8 partitions, together all of them.
    assert [status for status, _ in seen["health"]] == [200, 200]
    held = [set(body["assigned_partitions"]) for _, body in seen["health"]]
    assert held[0] and held[1]
    for pair in ("pair-00", "pair-07", "pair-33"):
        (s1, b1), (s2, b2) = seen[pair]
        assert s1 == s2 == 200 and b1 == b2  # same answer whichever worker was asked
        assert set(b1["quotes"]) == {"kalshi", "polymarket"}
        assert all(q["staleness_ms"] >= 0 for q in b1["quotes"].values())
    (w1, wb1), (w2, wb2) = seen["windows"]
    assert w1 == w2 == 200 and wb1 == wb2 and wb1["recent"]
    pairs_by_worker = [set(body["pairs"]) for _, body in seen["spreads"]]
    assert pairs_by_worker[0].isdisjoint(pairs_by_worker[1])
    assert len(pairs_by_worker[0] | pairs_by_worker[1]) == PAIRS
    assert seen["unknown"] == [404, 404]
    # Prometheus text from each worker; the two workers' scanned ticks add up to every tick.
    ticks = []
    for status, text in seen["metrics"]:
        assert status == 200
        metrics = {
            line.split()[0]: float(line.split()[1]) for line in text.splitlines() if not line.startswith("#")
        }
        assert metrics["echoarb_worker_ready"] == 1
        assert "echoarb_worker_late_window_events_total" in metrics
        assert "echoarb_worker_late_ticks_total" in metrics
        ticks.append(metrics["echoarb_worker_ticks_total"])
    assert all(ticks) and sum(ticks) >= FRAMES * 0.9  # a few frames carry no tick
