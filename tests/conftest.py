"""Session-wide fixtures and the unit/integration split.

chdb allows one data dir per process: every test shares it, one database each.

Every test is marked ``unit`` or ``integration`` here: ``integration`` when it lives under
``tests/integration/`` or uses a fixture that starts a real part (the embedded broker,
embedded ClickHouse), ``unit`` otherwise. Mark a test ``integration`` by hand only when it
starts a real part itself (in a child process, say). Both run by default; ``-m unit`` is the
quick loop, ``-m integration`` the rest.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from echoarb.sink.client import connect_embedded

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


INTEGRATION_DIR = Path(__file__).resolve().parent / "integration"
#: Fixtures that start a real part: a test using one (directly or through another fixture)
#: is an integration test wherever it lives.
REAL_PART_FIXTURES = frozenset({"broker", "chdb_data_dir", "chdb_client", "ch_database"})


def needs_real_parts(item: pytest.Item) -> bool:
    if INTEGRATION_DIR in item.path.parents:
        return True
    if item.get_closest_marker("integration"):
        return True
    return bool(REAL_PART_FIXTURES & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.integration if needs_real_parts(item) else pytest.mark.unit)


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
