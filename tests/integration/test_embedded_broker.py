from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest

from echoarb.broker.embedded import BrokerError, EmbeddedBroker, create_topics


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_start_answers_metadata_and_stop_kills_process(tmp_path: Path) -> None:
    broker = EmbeddedBroker(log_path=tmp_path / "tansu.log").start()
    pid = broker.pid
    assert pid is not None and _answers(broker.port)
    asyncio.run(create_topics(broker.bootstrap, {"a": 3, "b": 1}))
    asyncio.run(create_topics(broker.bootstrap, {"a": 3}))  # idempotent
    broker.stop()
    assert not _answers(broker.port)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert (tmp_path / "tansu.log").exists()


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        # Something else answers TCP on the port but is not Kafka (or Tansu cannot bind): no hang.
        broker = EmbeddedBroker(log_path=tmp_path / "tansu.log", port=port, start_timeout=2)
        with pytest.raises(BrokerError):
            broker.start()
        assert broker.pid is None
