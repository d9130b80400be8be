"""Session-wide fixtures. chdb allows one data dir per process: every test shares it, one database each."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from echoarb.sink.client import connect_embedded

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


@pytest.fixture(scope="session")
def chdb_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``Settings.data_dir`` for the session; embedded ClickHouse lives in ``<it>/clickhouse``.

    Code under test that calls ``connect(settings)`` with this data dir opens the same chdb
    engine as ``chdb_client`` (clients on one path share it; a second path would fail).
    """
    return tmp_path_factory.mktemp("echoarb-data")


@pytest.fixture(scope="session")
def chdb_client(chdb_data_dir: Path) -> Iterator[Client]:
    client = connect_embedded(chdb_data_dir / "clickhouse", "default")
    yield client
    client.close()


@pytest.fixture
def ch_database(chdb_client: Client) -> Iterator[str]:
    """A fresh, empty database for one test (dropped afterwards)."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    chdb_client.command(f"CREATE DATABASE `{name}`")
    yield name
    chdb_client.command(f"DROP DATABASE IF EXISTS `{name}`")
