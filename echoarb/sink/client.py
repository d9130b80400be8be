"""Open the ClickHouse client the sink writes through: embedded chdb by default, HTTP with a URL.

Both paths return the same clickhouse-connect ``Client`` so the writer and the queries never
care which engine is behind it. The URL carries a password: it is only ever logged masked.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import clickhouse_connect

from echoarb.redact import mask_url as mask_url
from echoarb.redact import scrub

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from echoarb.settings import Settings

log = logging.getLogger(__name__)

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SinkError(RuntimeError):
    """The sink cannot reach or set up ClickHouse; the message says where and why (no secrets)."""


def check_identifier(name: str) -> str:
    """Database names are interpolated into DDL, so only plain identifiers are accepted."""
    if not _IDENTIFIER.match(name):
        raise SinkError(f"invalid ClickHouse database name {name!r}: use letters, digits and _")
    return name


def _create_database(client: Client, database: str, where: str) -> Client:
    try:
        client.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    except Exception as exc:
        raise SinkError(f"ClickHouse at {where}: cannot create database {database!r}: {exc}") from exc
    client.database = database
    return client


def holder_of(path: Path) -> str | None:
    """``"pid N"`` if another process holds the embedded engine's data dir, else ``None``.

    The engine keeps an exclusive ``flock`` on ``<dir>/status`` (which records its PID) for as
    long as it runs; probing that lock turns chdb's vague "Error initializing EmbeddedServer"
    into a message that says what to do.
    """
    status = Path(path) / "status"
    if not status.exists():
        return None
    with contextlib.suppress(OSError), status.open("rb") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            text = handle.read(200).decode(errors="replace")
            match = re.search(r"PID:\s*(\d+)", text)
            return f"pid {match[1]}" if match else "another process"
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return None


def connect_embedded(path: Path, database: str) -> Client:
    """The real ClickHouse engine in-process (chdb). One data dir per process, shared by its clients.

    Only one process can open a data dir: while ``echoarb sink`` or ``echoarb replay`` runs on
    it, other EchoArb commands on the same DATA_DIR fail with a message naming the holder.
    """
    check_identifier(database)
    path = Path(path).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    log.info("ClickHouse: embedded chdb at %s, database %s", path, database)
    try:
        client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
    except Exception as exc:
        holder = holder_of(path)
        if holder is not None:
            raise SinkError(
                f"embedded ClickHouse at {path} is in use by {holder}: only one process can open a "
                "data dir; stop that EchoArb process, use another DATA_DIR, or set CLICKHOUSE_URL"
            ) from exc
        raise SinkError(f"cannot open embedded ClickHouse (chdb) at {path}: {exc}") from exc
    return _create_database(client, database, str(path))


def connect_url(url: str, default_database: str, connect_timeout: float = 10.0) -> Client:
    """A ClickHouse server over HTTP(S); user, password and database come from the URL."""
    masked = mask_url(url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SinkError(f"CLICKHOUSE_URL must look like http://user:pass@host:8123/db, got {masked}")
    database = check_identifier(unquote(parts.path.strip("/")) or default_database)
    secure = parts.scheme == "https"
    try:
        port = parts.port or (8443 if secure else 8123)
    except ValueError as exc:
        raise SinkError(f"CLICKHOUSE_URL has an invalid port: {masked}") from exc
    log.info("ClickHouse: server %s, database %s", masked, database)
    try:
        client = clickhouse_connect.get_client(
            host=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else "default",
            password=unquote(parts.password) if parts.password else "",
            secure=secure,
            connect_timeout=connect_timeout,
        )
    except Exception as exc:
        raise SinkError(f"ClickHouse server unreachable at {masked}: {scrub(exc, parts.password)}") from None
    try:
        return _create_database(client, database, masked)
    except SinkError as exc:
        raise SinkError(scrub(exc, parts.password)) from None


def connect(settings: Settings) -> Client:
    """The client for ``settings``: chdb in ``data_dir/clickhouse`` unless ``clickhouse_url`` is set."""
    if settings.clickhouse_url is None:
        return connect_embedded(Path(settings.data_dir) / "clickhouse", settings.clickhouse_database)
    return connect_url(settings.clickhouse_url.get_secret_value(), settings.clickhouse_database)
