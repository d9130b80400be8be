"""Opening the ClickHouse client: embedded from settings, a server URL, secrets kept out of errors."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from echoarb.settings import Settings
from echoarb.sink.client import SinkError, connect, connect_url, mask_url

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


def test_connect_embedded_from_settings_creates_database(
    chdb_client: Client, chdb_data_dir: Path, ch_database: str
) -> None:
    database = f"{ch_database}_app"
    values: dict[str, Any] = {
        "clickhouse_url": None,
        "data_dir": chdb_data_dir,
        "clickhouse_database": database,
    }
    settings = Settings(**values)
    client = connect(settings)
    try:
        assert client.database == database
        assert chdb_client.command(f"EXISTS DATABASE `{database}`") == 1
    finally:
        chdb_client.command(f"DROP DATABASE IF EXISTS `{database}`")


def test_mask_url_hides_password() -> None:
    assert mask_url("http://alice:s3cr%40t@ch.example:8123/prod") == "http://alice:***@ch.example:8123/prod"
    assert mask_url("https://ch.example/db") == "https://ch.example/db"


def test_unreachable_server_is_a_clear_sink_error(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SinkError, match="unreachable") as info:
        connect_url(f"http://bob:hunter2secret@127.0.0.1:{port}/analytics", "echoarb", connect_timeout=2)
    assert "hunter2secret" not in str(info.value)
    assert "bob:***@127.0.0.1" in str(info.value)
    assert "hunter2secret" not in caplog.text


def test_bad_database_name_is_rejected() -> None:
    with pytest.raises(SinkError, match="invalid"):
        connect_url("http://127.0.0.1:1/bad-name;drop", "echoarb")
