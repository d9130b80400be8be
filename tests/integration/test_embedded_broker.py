"""The embedded broker's life cycle: it answers Kafka while running and is really gone after stopping."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaClient

from echoarb.kafka.embedded import BrokerError, EmbeddedBroker, answers_metadata, create_topics


def _answers_tcp(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_start_answers_metadata_and_stop_kills_process(tmp_path: Path) -> None:
    started = time.monotonic()
    broker = EmbeddedBroker(log_path=tmp_path / "tansu.log").start()
    assert time.monotonic() - started < 5  # ~20-30 ms here
    pid = broker.pid
    assert pid is not None and answers_metadata(broker.port)
    assert broker.bootstrap == f"127.0.0.1:{broker.port}"
    broker.stop()
    broker.stop()  # idempotent
    assert broker.pid is None and not _answers_tcp(broker.port) and _gone(pid)
    assert "tansu broker" in (tmp_path / "tansu.log").read_text()


@pytest.mark.asyncio
async def test_create_topics_is_idempotent_and_sets_partitions(broker: EmbeddedBroker) -> None:
    await create_topics(broker.bootstrap, {"ct-a": 3, "ct-b": 1})
    await create_topics(broker.bootstrap, {"ct-a": 3, "ct-c": 2})  # existing topics are fine
    client = AIOKafkaClient(bootstrap_servers=broker.bootstrap)
    await client.bootstrap()
    try:
        metadata = await client.fetch_all_metadata()
    finally:
        await client.close()
    counts = {t: len(metadata.partitions_for_topic(t) or ()) for t in ("ct-a", "ct-b", "ct-c")}
    assert counts == {"ct-a": 3, "ct-b": 1, "ct-c": 2}


@pytest.mark.asyncio
async def test_context_manager_inside_a_running_event_loop(tmp_path: Path) -> None:
    """Async fixtures and the CLI start it with a loop running: the readiness probe must not need one."""
    with EmbeddedBroker(log_path=tmp_path / "tansu.log") as broker:
        pid = broker.pid
        assert pid is not None
        await create_topics(broker.bootstrap, {"in-loop": 1})
    assert _gone(pid)


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        # Something else holds the port (Tansu cannot bind, or it is not Kafka): a clear error, no hang.
        broker = EmbeddedBroker(log_path=tmp_path / "tansu.log", port=port, start_timeout=2)
        with pytest.raises(BrokerError, match="Tansu"):
            broker.start()
        assert broker.pid is None


def test_broker_does_not_outlive_its_python_process(tmp_path: Path) -> None:
    """Tansu ignores its parent's death; the atexit hook stops it when Python exits without ``stop()``."""
    code = (
        "import sys; from pathlib import Path; from echoarb.kafka.embedded import EmbeddedBroker; "
        "b = EmbeddedBroker(log_path=Path(sys.argv[1])).start(); print(b.pid, flush=True)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "tansu.log")], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert _gone(int(done.stdout.strip()))
