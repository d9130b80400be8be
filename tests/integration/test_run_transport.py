"""streams.run_transport: one Faust event per fetched run, acks and commits at the run's end.

A real Faust worker (subprocess) on the embedded broker consumes a backlog with the run
transport and, for contrast, with Faust's own aiokafka driver: the same records in the
same order, but far fewer events, and the group's committed offset is the log end.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import faust
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from echoarb.kafka import tansu_compat
from echoarb.kafka.embedded import EmbeddedBroker, create_topics
from echoarb.kafka.processes import free_port
from streams import run_transport

RECORDS = 600

WORKER = """
import asyncio, json, os, sys, threading
from pathlib import Path
import faust
from echoarb.kafka import tansu_compat
from streams import run_transport

tansu_compat.apply_faust_patches()
OUT, TOTAL = Path(os.environ["OUT"]), int(os.environ["TOTAL"])
runs = os.environ["RUNS"] == "1"
if runs:
    run_transport.register()
broker = run_transport.broker_url(os.environ["BOOTSTRAP"]) if runs else "kafka://" + os.environ["BOOTSTRAP"]
app = faust.App(
    os.environ["APP_ID"], broker=broker, store="memory://", topic_partitions=2, web_enabled=False,
    web_port=int(os.environ["WEB_PORT"]), datadir=os.environ["DATADIR"],
    consumer_auto_offset_reset="earliest", **tansu_compat.faust_settings(),
)
topic = app.topic(os.environ["TOPIC"], value_serializer="raw", key_serializer="raw", partitions=2)
counts = app.Table("counts", default=int, partitions=2)  # a changelog the worker writes to
if runs:
    run_transport.deliver_runs(app, [os.environ["TOPIC"]])
seen = {"events": 0, "offsets": {"0": [], "1": []}, "values_ok": True}

@app.agent(topic)
async def handle(stream):
    async for event in stream.noack().events():
        seen["events"] += 1
        for record in run_transport.records_of(event.message):
            seen["offsets"][str(event.message.partition)].append(record.offset)
            p, o = record.value.decode().split(":")
            seen["values_ok"] &= (int(p), int(o)) == (event.message.partition, record.offset)
        event.ack()
        # Where the consumer runs: its own thread (upstream) or the app's loop (run transport).
        seen["consumer_thread"] = any(
            getattr(t, "service", None) is app.consumer._thread for t in threading.enumerate()
        )
        counts[str(event.message.partition)] += 1
        if sum(map(len, seen["offsets"].values())) >= TOTAL:
            await app.consumer.commit()
            await asyncio.sleep(1.0)  # the changelog writes land and a fetch or two passes
            # What aiokafka does with the recovered changelog partitions Faust paused: fetched
            # and left in its buffer (upstream), or paused and not fetched (run transport).
            aio = app.consumer._thread._ensure_consumer()
            changelog = {tp for tp in aio.assignment() if tp.topic.endswith("-counts-changelog")}
            seen["changelog_assigned"] = len(changelog)
            seen["changelog_paused"] = len(changelog & aio.paused())
            seen["changelog_buffered"] = len(changelog & set(aio._fetcher._records))
            OUT.write_text(json.dumps(seen))

if __name__ == "__main__":
    sys.argv = [sys.argv[0], "worker", "-l", "warn"]
    app.main()
"""


def test_pinned_faust_version() -> None:
    # The consumer follows faust-streaming's internals of exactly this release.
    assert faust.__version__ == run_transport.FAUST_VERSION
    run_transport.register()
    assert faust.transport.by_url(run_transport.broker_url("h:1")) is run_transport.Transport
    assert run_transport.broker_url("a:1,b:2") == "kafka-runs://a:1;kafka-runs://b:2"


async def _committed(bootstrap: str, group: str, tps: list[TopicPartition]) -> dict[int, int | None]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return {tp.partition: await consumer.committed(tp) for tp in tps}
    finally:
        await consumer.stop()


async def _run_worker(
    broker: EmbeddedBroker, tmp_path: Path, topic: str, runs: bool
) -> tuple[dict[str, Any], dict[int, int | None]]:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    app_id = f"runs-{uuid.uuid4().hex[:6]}"
    out = tmp_path / f"out-{runs}.json"
    env = {
        **os.environ, "BOOTSTRAP": broker.bootstrap, "OUT": str(out), "TOTAL": str(RECORDS), "APP_ID": app_id,
        "RUNS": "1" if runs else "0", "TOPIC": topic, "DATADIR": str(tmp_path / f"data-{runs}"),
        "WEB_PORT": str(free_port()),
    }  # fmt: skip
    log_path = tmp_path / f"worker-{runs}.log"
    with log_path.open("w") as log_file:
        proc = subprocess.Popen([sys.executable, str(script)], env=env, stdout=log_file, stderr=log_file)
    try:
        deadline = time.monotonic() + 90
        while not out.exists():
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            await asyncio.sleep(0.1)
        seen = json.loads(out.read_text())
        tps = [TopicPartition(topic, p) for p in (0, 1)]
        committed: dict[int, int | None] = {}
        deadline = time.monotonic() + 60  # its own wait: a loaded machine may be slow to commit
        while time.monotonic() < deadline:  # the commit right after the last ack has landed
            committed = await _committed(broker.bootstrap, app_id, tps)
            if committed == {0: RECORDS // 2, 1: RECORDS // 2}:
                break
            await asyncio.sleep(0.2)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    seen["returncode"] = proc.returncode
    seen["log"] = log_path.read_text()
    return seen, committed


@pytest.mark.asyncio
async def test_one_event_per_run_same_records_commit_at_run_end(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    topic = f"runs-{uuid.uuid4().hex[:6]}"
    await create_topics(broker.bootstrap, {topic: 2})
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, **tansu_compat.aiokafka_producer_kwargs())
    await producer.start()
    try:  # a backlog: every record is there before the worker starts
        futs = [
            await producer.send(topic, f"{i % 2}:{i // 2}".encode(), partition=i % 2) for i in range(RECORDS)
        ]
        await asyncio.gather(*futs)
    finally:
        await producer.stop()

    with_runs, committed = await _run_worker(broker, tmp_path, topic, runs=True)
    expected = {"0": list(range(RECORDS // 2)), "1": list(range(RECORDS // 2))}
    assert with_runs["offsets"] == expected  # each record once, in offset order
    assert with_runs["values_ok"]
    assert with_runs["events"] <= RECORDS // 10  # runs, not records
    assert committed == {0: RECORDS // 2, 1: RECORDS // 2}  # acked runs commit to their last offset + 1
    # The consumer runs on the worker's loop, not in a thread of its own (SameLoopConsumerThread),
    # and stops cleanly on SIGTERM.
    assert with_runs["consumer_thread"] is False
    # The table's changelog partitions, paused by Faust after recovery, are paused in aiokafka
    # too: none is fetched and left in its buffer (one such result stops every fetch from the
    # broker for 100 ms, see Consumer._fetching).
    assert with_runs["changelog_assigned"] == 2
    assert with_runs["changelog_paused"] == 2
    assert with_runs["changelog_buffered"] == 0
    assert with_runs["returncode"] == 0, with_runs["log"][-3000:]
    assert "Traceback" not in with_runs["log"], with_runs["log"][-3000:]

    plain, plain_committed = await _run_worker(broker, tmp_path, topic, runs=False)
    assert plain["offsets"] == expected
    assert plain["events"] == RECORDS  # Faust's own driver: one event per record
    assert plain["consumer_thread"] is True  # ... and a consumer thread
    # ... which goes on fetching the changelog Faust paused, and leaves what it got in the buffer.
    assert plain["changelog_paused"] == 0
    assert plain["changelog_buffered"] >= 1
    assert plain_committed == committed
