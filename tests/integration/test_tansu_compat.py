"""Each test pins one Tansu gap against the real broker: what a plain client gets, what the workaround gives.

The "raw" assertions document the gap itself: if a Tansu upgrade fixes it they fail, and the
matching workaround in ``echoarb.kafka.tansu_compat`` can go.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import faust
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from echoarb.kafka import tansu_compat
from echoarb.kafka.embedded import EmbeddedBroker, create_topics
from echoarb.kafka.processes import free_port


@pytest.fixture
def unpatched() -> Iterator[None]:
    """Raw aiokafka/Faust behaviour for one test; the patches are restored if something had applied them."""
    was_patched = tansu_compat.patched()
    tansu_compat.revert()
    yield
    tansu_compat.revert()
    if was_patched:
        tansu_compat.apply()


async def _produce_batches(bootstrap: str, topic: str, batches: int, per_batch: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **tansu_compat.aiokafka_producer_kwargs())
    await producer.start()
    try:
        for _ in range(batches):
            for _ in range(per_batch):
                await producer.send(topic, b"x", partition=0)
            await producer.flush()  # one record batch per round
    finally:
        await producer.stop()


async def _topic_with_batches(broker: EmbeddedBroker) -> tuple[TopicPartition, TopicPartition]:
    """Partition 0: 3 batches of 5 records (true end 15, last batch based at 10); partition 1: empty."""
    topic = f"gap1-{uuid.uuid4().hex[:8]}"
    await create_topics(broker.bootstrap, {topic: 2})
    await _produce_batches(broker.bootstrap, topic, batches=3, per_batch=5)
    return TopicPartition(topic, 0), TopicPartition(topic, 1)


# -- gap 1: end offsets ------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_end_offsets_wrong_from_list_offsets_right_from_fetch(
    broker: EmbeddedBroker, unpatched: None
) -> None:
    tp, empty = await _topic_with_batches(broker)
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap)
    await consumer.start()
    try:
        # Gap 1 as it is: ListOffsets says base offset of the last batch + 1 (10 + 1), not 15.
        assert (await consumer.end_offsets([tp]))[tp] == 11
        assert await tansu_compat.end_offsets_via_fetch(consumer._client, [tp, empty]) == {tp: 15, empty: 0}
        assert await tansu_compat.end_offsets_via_fetch(consumer, [tp]) == {tp: 15}  # consumer works too
    finally:
        await consumer.stop()


@pytest.mark.asyncio
async def test_patched_aiokafka_end_offsets_and_seek_to_end(broker: EmbeddedBroker, unpatched: None) -> None:
    tp, empty = await _topic_with_batches(broker)
    tansu_compat.apply()
    tansu_compat.apply()  # idempotent
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, **tansu_compat.aiokafka_consumer_kwargs())
    await consumer.start()
    try:
        assert await consumer.end_offsets([tp, empty]) == {tp: 15, empty: 0}
        assert await consumer.beginning_offsets([tp]) == {tp: 0}  # EARLIEST is untouched
        consumer.assign([tp])
        await consumer.seek_to_end(tp)
        assert await consumer.position(tp) == 15  # raw: 11, then 4 old records re-read as "new"
    finally:
        await consumer.stop()


@pytest.mark.asyncio
async def test_faust_recovery_highwaters_come_from_fetch(broker: EmbeddedBroker, unpatched: None) -> None:
    """Faust reads table-recovery highwaters only through ``AIOKafkaConsumerThread._highwaters``."""
    tp, _ = await _topic_with_batches(broker)
    app = faust.App(f"hw-{uuid.uuid4().hex[:6]}", broker=f"kafka://{broker.bootstrap}", web_enabled=False)
    thread: Any = cast(Any, app.consumer)._thread  # Faust's private consumer thread
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap)
    await consumer.start()
    thread._consumer = consumer
    try:
        assert await thread._highwaters([tp]) == {tp: 11}  # raw: recovery would stop at offset 10
        tansu_compat.apply_faust_patches()
        assert await thread._highwaters([tp]) == {tp: 15}
    finally:
        thread._consumer = None
        await consumer.stop()


# -- gap 6: Faust's hard-coded fetch max wait --------------------------------------------------
@pytest.mark.asyncio
async def test_faust_consumers_fetch_with_short_max_wait(broker: EmbeddedBroker, unpatched: None) -> None:
    app = faust.App(f"fw-{uuid.uuid4().hex[:6]}", broker=f"kafka://{broker.bootstrap}", web_enabled=False)
    thread: Any = cast(Any, app.consumer)._thread  # Faust's private consumer thread
    assert thread._create_worker_consumer(app.transport)._fetch_max_wait_ms == 1500  # the raw gap
    tansu_compat.apply_faust_patches()
    tansu_compat.apply_faust_patches()  # idempotent
    assert tansu_compat.patched()
    assert thread._create_worker_consumer.__wrapped__ is not None
    worker = thread._create_worker_consumer(app.transport)
    client = thread._create_client_consumer(app.transport)
    assert worker._fetch_max_wait_ms == client._fetch_max_wait_ms == tansu_compat.FETCH_MAX_WAIT_MS
    await worker.start()  # the value reaches the Fetcher that builds the FetchRequests
    try:
        assert worker._fetcher._fetch_max_wait_ms == tansu_compat.FETCH_MAX_WAIT_MS
    finally:
        await worker.stop()
        await client.stop()


# -- gap 1 end to end: a Faust table restored after a worker restart ---------------------------
WORKER = """
import json, os, sys
from pathlib import Path
import faust
from echoarb.kafka import tansu_compat

if os.environ["PATCH"] == "1":
    tansu_compat.apply_faust_patches()
OUT, MODE, KEYS = Path(os.environ["OUT"]), os.environ["MODE"], [f"k{i}" for i in range(5)]
app = faust.App(
    os.environ["APP_ID"], broker="kafka://" + os.environ["BOOTSTRAP"], store="memory://",
    topic_partitions=1, web_enabled=False, web_port=int(os.environ["WEB_PORT"]),
    datadir=os.environ["DATADIR"], consumer_auto_offset_reset="earliest", **tansu_compat.faust_settings(),
)
cmds = app.topic(os.environ["TOPIC"], value_serializer="raw", partitions=1)
table = app.Table("vals", default=str, partitions=1)

@app.agent(cmds)
async def handle(stream):
    async for value in stream:
        if MODE == "write":  # one message -> 5 changelog records in one batch (producer_linger)
            for key in KEYS:
                table[key] = value.decode()
            await app.producer.flush()
            OUT.write_text(value.decode())

@app.task
async def dump():
    if MODE == "recover":
        await app.tables.recovery.completed.wait()
        fetcher = app.consumer._thread._consumer._fetcher
        OUT.write_text(json.dumps({"values": {k: table[k] for k in KEYS},
                                   "fetch_max_wait_ms": fetcher._fetch_max_wait_ms}))

if __name__ == "__main__":
    sys.argv = [sys.argv[0], "worker", "-l", "warn"]
    app.main()
"""


class _Worker:
    """One Faust worker subprocess; always terminated (then killed) on exit."""

    def __init__(self, script: Path, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        with log_path.open("w") as log_file:
            self.proc = subprocess.Popen(
                [sys.executable, str(script)], env={**os.environ, **env}, stdout=log_file, stderr=log_file
            )

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited {self.proc.returncode}:\n{self.log_path.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"worker timed out:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.05)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def _holds(path: Path, expected: str | None) -> bool:
    """Whether ``path`` exists and holds ``expected`` (any non-empty text when ``expected`` is None)."""
    if not path.exists():
        return False
    text = path.read_text()
    return bool(text) if expected is None else text == expected


@pytest.mark.asyncio
async def test_faust_table_recovers_latest_values_after_restart(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    app_id, topic = f"rec-{uuid.uuid4().hex[:6]}", f"cmds-{uuid.uuid4().hex[:6]}"
    await create_topics(broker.bootstrap, {topic: 1})

    def run(mode: str, patch: str) -> tuple[_Worker, Path]:
        out = tmp_path / f"{mode}-{patch}.out"
        env = {
            "BOOTSTRAP": broker.bootstrap, "MODE": mode, "PATCH": patch, "OUT": str(out), "APP_ID": app_id,
            "TOPIC": topic, "DATADIR": str(tmp_path / f"data-{mode}-{patch}"), "WEB_PORT": str(free_port()),
        }  # fmt: skip
        return _Worker(script, env, tmp_path / f"{mode}-{patch}.log"), out

    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, **tansu_compat.aiokafka_producer_kwargs())
    await producer.start()
    writer, out = run("write", "1")
    try:
        for value in ("r1", "r2", "r3"):  # three rounds: the changelog gets three batches of 5 records
            await producer.send_and_wait(topic, value.encode(), partition=0)
            await asyncio.to_thread(writer.wait_for, functools.partial(_holds, out, value))
    finally:
        await producer.stop()
        assert await asyncio.to_thread(writer.stop) == 0

    changelog = TopicPartition(f"{app_id}-vals-changelog", 0)
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap)
    await consumer.start()
    try:
        assert await tansu_compat.end_offsets_via_fetch(consumer, [changelog]) == {changelog: 15}
    finally:
        await consumer.stop()

    results = {}
    for patch in ("0", "1"):  # the same restart without, then with, the workaround
        worker, out = run("recover", patch)
        try:
            await asyncio.to_thread(worker.wait_for, functools.partial(_holds, out, None))
            results[patch] = json.loads(out.read_text())
        finally:
            await asyncio.to_thread(worker.stop)

    latest = {f"k{i}": "r3" for i in range(5)}
    # Without it Faust recovers up to ListOffsets' "end" 11: only k0 has its last value.
    assert results["0"]["values"] == {**{f"k{i}": "r2" for i in range(5)}, "k0": "r3"}
    assert results["0"]["fetch_max_wait_ms"] == 1500
    assert results["1"] == {"values": latest, "fetch_max_wait_ms": tansu_compat.FETCH_MAX_WAIT_MS}


# -- gaps 2 and 3: settings --------------------------------------------------------------------
def test_client_settings_for_tansu(unpatched: None) -> None:
    settings = tansu_compat.faust_settings()
    # Tansu holds JoinGroup for half the session timeout: Faust's 60 s default means ~30 s joins.
    assert settings["broker_session_timeout"] <= 2
    assert settings["broker_heartbeat_interval"] < settings["broker_session_timeout"]
    faust.App("settings-check", **settings)  # every key is a real Faust setting
    built = faust.App("settings-late")
    tansu_compat.apply(built)  # an app built without them gets them (before it starts)
    assert built.conf.broker_session_timeout == settings["broker_session_timeout"]
    assert built.conf.broker_heartbeat_interval == settings["broker_heartbeat_interval"]
    assert tansu_compat.aiokafka_consumer_kwargs() == {
        "session_timeout_ms": 2000,
        "heartbeat_interval_ms": 500,
        "fetch_max_wait_ms": 10,
    }
    assert tansu_compat.aiokafka_producer_kwargs()["enable_idempotence"] is False


@pytest.mark.asyncio
async def test_idempotent_producer_is_rejected_by_tansu(broker: EmbeddedBroker) -> None:
    """Gap 2: documents why ``enable_idempotence`` stays off (InitProducerId v0 is refused)."""
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, enable_idempotence=True)
    try:
        with pytest.raises(KafkaError):  # UnknownError from InitProducerIdRequest
            await asyncio.wait_for(producer.start(), timeout=15)
    finally:
        await producer.stop()
