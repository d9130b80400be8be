"""Versioned schema migrations: ``migrations/NNNN_name.sql``, applied in order, recorded once.

Why files and a ledger rather than ``CREATE ... IF NOT EXISTS`` on every start: table settings,
new columns and materialized views have to reach databases created by older versions too, and
an operator must be able to see (``schema_migrations``) which version a database is at.
Every statement is written to be idempotent (``IF NOT EXISTS``, ``MODIFY SETTING``), so two
processes migrating at once, or a crash between a statement and its ledger row, is harmless.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from echoarb.sink.client import check_identifier

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

log = logging.getLogger(__name__)

LEDGER = "schema_migrations"
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_PLACEHOLDER = "{database}"


class MigrationError(RuntimeError):
    """A migration file is malformed or a statement failed; the message names the version."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    def statements(self, database: str) -> list[str]:
        """The file's statements for ``database`` (split on ``;`` at a line end)."""
        text = self.sql.replace(_PLACEHOLDER, check_identifier(database))
        parts = re.split(r";[ \t]*(?:\n|$)", text)
        return [p.strip() for p in parts if _strip_comments(p).strip()]


def _strip_comments(sql: str) -> str:
    return "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))


def load_migrations() -> list[Migration]:
    """Every bundled migration, sorted by version; versions must be unique."""
    found: list[Migration] = []
    for entry in (resources.files("echoarb.sink") / "migrations").iterdir():
        match = _FILE.match(entry.name)
        if match is None:
            continue
        found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions in {versions}")
    return found


def _ledger_ddl(database: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS `{database}`.`{LEDGER}` (\n"
        "    `version` UInt32,\n"
        "    `name` String,\n"
        "    `checksum` String,\n"
        "    `applied_at` DateTime64(3, 'UTC') DEFAULT now64(3)\n"
        ") ENGINE = MergeTree ORDER BY version"
    )


def applied_versions(client: Client, database: str) -> dict[int, str]:
    """Version -> checksum of what ``database`` already has (empty if it has no ledger yet)."""
    check_identifier(database)
    exists = client.command(f"EXISTS TABLE `{database}`.`{LEDGER}`")
    if not exists:
        return {}
    rows = client.query(f"SELECT version, any(checksum) FROM `{database}`.`{LEDGER}` GROUP BY version")
    return {int(version): str(checksum) for version, checksum in rows.result_rows}


def migrate(client: Client, database: str, migrations: list[Migration] | None = None) -> list[int]:
    """Create ``database`` if needed and apply the migrations it lacks; returns the versions applied."""
    check_identifier(database)
    todo = load_migrations() if migrations is None else migrations
    client.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    client.command(_ledger_ddl(database))
    done = applied_versions(client, database)
    applied: list[int] = []
    for migration in todo:
        if migration.version in done:
            if done[migration.version] != migration.checksum:
                log.warning(
                    "schema: migration %04d_%s changed after it was applied to %s (not re-run); "
                    "add a new migration instead of editing an applied one",
                    migration.version, migration.name, database,
                )  # fmt: skip
            continue
        for statement in migration.statements(database):
            try:
                client.command(statement)
            except Exception as exc:
                raise MigrationError(
                    f"migration {migration.version:04d}_{migration.name} failed on {database}: {exc}"
                ) from exc
        client.insert(
            LEDGER,
            [(migration.version, migration.name, migration.checksum)],
            column_names=["version", "name", "checksum"],
            database=database,
        )
        log.info("schema: applied migration %04d_%s to %s", migration.version, migration.name, database)
        applied.append(migration.version)
    return applied
