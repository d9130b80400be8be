"""The one typed settings object, read from the environment and ``.env``.

Only the CLI builds it; everything below receives it (or the values it needs) as arguments.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import types
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Self, Union, get_args, get_origin
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from echoarb.resources import EXAMPLE_ALERTS, EXAMPLE_PAIRS

#: Docker secrets (and Kubernetes secret volumes) appear as one file per secret here; a file
#: named like a field (``kafka_sasl_password``, ``clickhouse_password``, ``kalshi_api_key``)
#: sets it, so secrets need not pass through the environment. Unused when absent.
SECRETS_DIR = Path(os.environ.get("ECHOARB_SECRETS_DIR", "/run/secrets"))

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class Settings(BaseSettings):
    """EchoArb configuration. Every field maps to the upper-case environment variable."""

    # populate_by_name: Settings(embedded_broker=True) works like the alias (it was silently ignored).
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        secrets_dir=SECRETS_DIR if SECRETS_DIR.is_dir() else None,
    )

    # Kafka. Unset bootstrap means: start the embedded Tansu broker.
    kafka_bootstrap: str | None = Field(None, description="host:port[,host:port]; unset = embedded broker")
    embedded_broker: bool = Field(
        False,
        validation_alias="ECHOARB_EMBEDDED_BROKER",
        description="set by EchoArb for child processes of an embedded broker (applies Tansu workarounds)",
    )
    schema_registry_url: str | None = Field(None, description="Confluent Schema Registry; unset = manifest")
    topic_ticks_prefix: str = "ticks."
    topic_spreads: str = "spreads"
    topic_spread_windows: str = "spread-windows"
    topic_dead_letter: str = "echoarb.dead-letter"
    topic_control: str = "echoarb.control"
    partitions: int = Field(8, ge=1, le=1024, description="partitions of every tick and spread topic")
    replication_factor: int = Field(1, ge=1, description="replicas of every topic EchoArb creates")
    kafka_connect_timeout_s: float = Field(
        60.0, gt=0, description="how long a role waits for KAFKA_BOOTSTRAP to answer before giving up"
    )

    # Kafka security: reaches every client (ingest, workers, sink, offset lookups, topic admin,
    # serve) through echoarb.kafka.client_config. The embedded broker is always plaintext.
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: SaslMechanism | None = Field(None, description="with SASL_PLAINTEXT/SASL_SSL")
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = Field(None, description="or the secret file kafka_sasl_password")
    kafka_ssl_cafile: Path | None = Field(None, description="CA bundle (PEM); unset = system trust store")
    kafka_ssl_certfile: Path | None = Field(None, description="client certificate (PEM), mutual TLS")
    kafka_ssl_keyfile: Path | None = Field(None, description="client private key (PEM), mutual TLS")
    kafka_ssl_key_password: SecretStr | None = None
    kafka_ssl_check_hostname: bool = True

    # ClickHouse. Unset URL means: embedded chdb in data_dir.
    clickhouse_url: SecretStr | None = Field(None, description="http://user:pass@host:8123/db")
    clickhouse_password: SecretStr | None = Field(
        None, description="password for CLICKHOUSE_URL (or the secret file clickhouse_password)"
    )
    clickhouse_database: str = "echoarb"
    data_dir: Path = Field(
        Path(".echoarb"),
        description="state of local runs (embedded ClickHouse, Faust tables, logs); relative to the "
        "working directory",
    )
    # ClickHouse sink. One insert per topic-partition batch; ClickHouse advises thousands of
    # rows per insert and about one insert per second per table.
    sink_ticks: bool = Field(False, description="also store every tick of the tick topics (one row each)")
    # 50,000: ClickHouse's cost per insert (a part per table, the views) is ~25 ms of CPU here, a
    # third of the work at 10,000 rows per insert (bench/sink_insert.py); the flush interval
    # still cuts small batches when records arrive slowly, so latency does not change.
    sink_batch_rows: int = Field(50_000, ge=1, description="sink: rows per insert, at most")
    sink_flush_interval_s: float = Field(1.0, gt=0, description="sink: insert buffered rows this often")
    sink_max_buffered_rows: int = Field(
        200_000, ge=1, description="sink: stop fetching and insert at this many buffered rows"
    )
    sink_group_id: str = Field("echoarb-sink", description="sink: Kafka consumer group")

    # Venues.
    kalshi_api_key: SecretStr | None = None
    kalshi_private_key_path: Path | None = None
    kalshi_fee_rate: Decimal = Field(Decimal("0.07"), ge=0, lt=1)
    kalshi_fee_rounding: Literal["order", "per_fill_cent"] = Field(
        "order",
        description="Kalshi fees: order = trade fee per fill to $0.0001, outlay per order to the account "
        "precision (2026 rules); per_fill_cent = each fill's fee rounded up to the cent (never less)",
    )
    kalshi_account_precision: Decimal = Field(
        Decimal("0.01"), description="Kalshi account balance precision: 0.01, or 0.0001 for direct members"
    )

    # Live ingest (producer agents). URLs default to the real venues; tests point them at simulators.
    kalshi_ws_url: str = "wss://api.elections.kalshi.com/trade-api/ws/v2"
    polymarket_ws_url: str = "wss://ws-subscriptions-clob.polymarket.com/ws/market"
    manifold_ws_url: str = "wss://api.manifold.markets/ws"
    manifold_api_url: str = "https://api.manifold.markets/v0"
    manifold_requests_per_min: int = Field(500, ge=1, description="REST budget (venue limit: 500/min/IP)")
    # Venue REST bases and budgets: market discovery (echoarb discover), and the ingest's market
    # metadata (close times, status, tick sizes) and Polymarket book resyncs; for the ingest an
    # empty URL turns that venue's metadata fetch (and REST resync) off.
    kalshi_api_url: str = "https://api.elections.kalshi.com/trade-api/v2"
    polymarket_gamma_url: str = "https://gamma-api.polymarket.com"
    polymarket_clob_url: str = Field(
        "https://clob.polymarket.com", description="ingest: Polymarket CLOB REST (GET /book on resync)"
    )
    venue_metadata_refresh_s: float = Field(
        300.0, ge=0, description="ingest: re-read REST market metadata this often (0 = at start-up only)"
    )
    kalshi_requests_per_min: int = Field(
        600, ge=1, description="discover, ingest: Kalshi REST budget (basic tier: 20 reads/s)"
    )
    polymarket_requests_per_min: int = Field(
        300, ge=1, description="discover, ingest: Polymarket REST budget"
    )
    discover_retries: int = Field(5, ge=0, description="discover: retries of a failed listing request")
    discover_timeout_s: float = Field(20.0, gt=0, description="discover: timeout of one listing request")
    discover_cache_max_age_s: float = Field(
        3600.0, ge=0, description="discover: a cached listing younger than this is reused (0 = always fetch)"
    )
    ingest_heartbeat_ms: int = Field(100, ge=1, description="watermark heartbeat and flush period")
    ingest_buffer_frames: int = Field(10_000, ge=1, description="frames buffered before backpressure")
    ingest_kafka_outage_s: float = Field(120.0, gt=0, description="Kafka outage ridden out before failing")
    connector_heartbeat_timeout_s: float | None = Field(
        None, gt=0, description="silence that marks a socket dead (default 2.5 x the venue ping period)"
    )
    connector_connect_timeout_s: float = Field(10.0, gt=0)
    reconnect_backoff_base_s: float = Field(0.5, gt=0)
    reconnect_backoff_cap_s: float = Field(30.0, gt=0)
    breaker_failure_threshold: int = Field(5, ge=1, description="failed sessions that open a venue's circuit")
    breaker_reset_s: float = Field(30.0, ge=0, description="open circuit: wait before a half-open probe")

    # Edge and stream behaviour.
    pairs_file: Path = Field(
        EXAMPLE_PAIRS, description="market pairs config; default: the example pairs shipped in the package"
    )
    min_edge: Decimal = Field(Decimal("0"), ge=0, lt=1)
    max_quote_age_ms: int = Field(30_000, gt=0)
    book_depth: int = Field(10, ge=1, le=200, description="ask levels per side carried in a tick")
    batch_max_ticks: int = Field(200, ge=1, description="producer: ticks per batch record, at most")
    batch_linger_ms: float = Field(5.0, ge=0, description="producer: flush window for a batch")
    window_tumbling_s: int = Field(60, gt=0)
    window_hopping_s: int = Field(300, gt=0)
    window_hopping_step_s: int = Field(60, gt=0)
    merge_max_wait_ms: int = Field(
        2_000, ge=0, description="worker: release ticks if a venue stream is silent this long"
    )
    merge_mode: Literal["live", "strict"] = Field(
        "live",
        description="worker: live = release once the other venue streams are read up to their high "
        "watermark (arrival order); strict = wait for every watermark (recv_ts order; replays use it)",
    )
    processing_guarantee: Literal["at_least_once", "exactly_once"] = Field(
        "at_least_once",
        description="worker: Faust processing guarantee (exactly_once needs transactions: not on Tansu)",
    )
    state_flush_ms: int = Field(
        # Each checkpoint writes every pair touched since the last one (plus its window
        # mirror): ~150 us per write in Faust. At 100 ms that was most of a worker's CPU once
        # every pair ticks; outputs never wait for it, only commits (replayed after a crash).
        # 1,000 rather than 500 (issue #11, bench.pipeline latency at 2,500 ticks/s, quiet
        # machine, five alternating pairs of runs): p99 1.1-2.1 s instead of 2.1-3.2 s, 5-7%
        # less worker CPU per tick; a crash re-reads up to ~1 s of records more.
        1_000,
        ge=0,
        description="worker: pair-state table writes and offset acks are coalesced over this window",
    )
    merge_recheck_ms: int = Field(
        # Measured (bench.pipeline latency, 250 ticks/s, quiet machine): the 250 ms timer of
        # before held p50/p99 at 159/426 ms; at 20 ms, 92-111/234-314 ms for no measurable CPU.
        20,
        ge=5,
        le=1000,
        description="worker (live merge): how often ticks held for another venue stream are re-checked",
    )

    # echoarb serve: HTTP API, WebSocket feed and board.
    serve_host: str = Field("127.0.0.1", description="serve: bind address (0.0.0.0 to expose it)")
    serve_port: int = Field(8000, ge=0, le=65535, description="serve: HTTP port (0 = a free one)")
    serve_client_queue: int = Field(
        1000, ge=1, description="serve: messages queued per WebSocket client before it is closed as slow"
    )
    serve_lookback_s: float = Field(
        300.0, ge=0, description="serve: on start, read spread events this far back (real Kafka only)"
    )

    alerts_file: Path | None = Field(
        EXAMPLE_ALERTS,
        description="serve: alert rules and webhooks (JSON); empty = no alerts",
    )

    # Faust worker.
    worker_web_port: int = Field(6066, ge=1, le=65535)
    worker_web_host: str = "127.0.0.1"
    web_auth_token: SecretStr | None = Field(
        None, description="bearer token every HTTP surface requires when set (health checks stay open)"
    )
    worker_canonical_url: str | None = Field(
        None, description="URL other workers use to reach this one's web views (table routing)"
    )
    worker_id: str = "echoarb"
    worker_stop_timeout_s: float = Field(
        10.0, gt=0, description="worker: a stop (SIGTERM) that takes longer ends the process"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object, info: ValidationInfo) -> object:
        """A blank value of an optional setting means unset (``FOO=`` in compose or a child env)."""
        if isinstance(value, str) and not value.strip() and info.field_name in _optional_fields(cls):
            return None
        return value

    @field_validator("kalshi_account_precision", mode="after")
    @classmethod
    def _precision(cls, value: Decimal) -> Decimal:
        if value not in (Decimal("0.01"), Decimal("0.0001")):
            raise ValueError("must be 0.01 (most accounts) or 0.0001 (direct members)")
        return value

    @field_validator("data_dir", "pairs_file", mode="after")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        """Relative paths are taken from the working directory, once: child processes get the same."""
        return value.expanduser().absolute()

    @model_validator(mode="after")
    def _kafka_security_consistent(self) -> Self:
        """Contradictions fail at start with one line, not as a handshake error at first use."""
        sasl = self.kafka_security_protocol.startswith("SASL_")
        tls = self.kafka_security_protocol in ("SSL", "SASL_SSL")
        if sasl:
            missing = [
                name
                for name, value in (
                    ("KAFKA_SASL_MECHANISM", self.kafka_sasl_mechanism),
                    ("KAFKA_SASL_USERNAME", self.kafka_sasl_username),
                    ("KAFKA_SASL_PASSWORD", self.kafka_sasl_password),
                )
                if not value
            ]
            if missing:
                raise ValueError(
                    f"KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs {', '.join(missing)}"
                )
        elif self.kafka_sasl_mechanism or self.kafka_sasl_username or self.kafka_sasl_password:
            raise ValueError(
                "SASL settings are set but KAFKA_SECURITY_PROTOCOL is "
                f"{self.kafka_security_protocol}: use SASL_SSL (or SASL_PLAINTEXT)"
            )
        files = self.kafka_ssl_cafile or self.kafka_ssl_certfile or self.kafka_ssl_keyfile
        if files and not tls:
            raise ValueError(
                f"KAFKA_SSL_* files are set but KAFKA_SECURITY_PROTOCOL is {self.kafka_security_protocol}: "
                "use SSL or SASL_SSL"
            )
        if bool(self.kafka_ssl_certfile) != bool(self.kafka_ssl_keyfile):
            raise ValueError("mutual TLS needs both KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE")
        return self

    @model_validator(mode="after")
    def _clickhouse_password_into_url(self) -> Self:
        """``CLICKHOUSE_PASSWORD`` (a Docker secret) completes a password-less ``CLICKHOUSE_URL``."""
        if self.clickhouse_password is None or self.clickhouse_url is None:
            return self
        parts = urlsplit(self.clickhouse_url.get_secret_value())
        password = self.clickhouse_password.get_secret_value()
        if parts.password is not None:
            if unquote(parts.password) == password:
                return self  # already merged (a child process gets both from child_env)
            raise ValueError("CLICKHOUSE_PASSWORD is set and CLICKHOUSE_URL has another password: give one")
        user = quote(parts.username or "default", safe="")
        host = parts.netloc.rpartition("@")[2]
        netloc = f"{user}:{quote(password, safe='')}@{host}"
        self.clickhouse_url = SecretStr(urlunsplit(parts._replace(netloc=netloc)))
        return self

    def web_token(self) -> str | None:
        """``WEB_AUTH_TOKEN`` in clear for the HTTP servers that check it (never to a log)."""
        return self.web_auth_token.get_secret_value() if self.web_auth_token else None

    def tick_topic(self, venue: str) -> str:
        return f"{self.topic_ticks_prefix}{venue}"

    def worker_url(self) -> str:
        """The URL other workers use to reach this one's web views (Faust table routing).

        A wildcard bind address is not reachable, so then the host name stands in: in a
        container that is the container's own name on the compose network, which is what
        lets ``--scale worker=N`` route without a per-replica setting.
        """
        if self.worker_canonical_url:
            return self.worker_canonical_url
        host = self.worker_web_host
        if host in ("0.0.0.0", "::", ""):
            host = socket.gethostname()
        return f"http://{host}:{self.worker_web_port}"

    @classmethod
    def env_name(cls, field: str) -> str:
        """The environment variable a field is read from."""
        alias = cls.model_fields[field].validation_alias
        return alias if isinstance(alias, str) else field.upper()

    def child_env(self, base: Mapping[str, str] | None = None, **overrides: Any) -> ChildEnv:
        """The environment for a child process (a worker) that rebuilds exactly these settings.

        Every field goes in, so a new setting reaches child processes without anyone listing
        it; ``overrides`` replace fields (by field name) for this child only. ``base``
        (default: this process's environment) supplies everything else, minus any variable
        that names a setting in another spelling. Unset optional fields are passed blank
        (read back as unset), secrets in clear text: the result masks them in its repr, and
        goes to ``subprocess`` only.
        """
        unknown = set(overrides) - set(type(self).model_fields)
        if unknown:
            raise TypeError(f"not settings: {sorted(unknown)}")
        names = {field: self.env_name(field) for field in type(self).model_fields}
        taken = {name.lower() for name in names.values()}
        env = ChildEnv(
            {k: v for k, v in (os.environ if base is None else base).items() if k.lower() not in taken}
        )
        settings = self.model_copy(update=overrides)
        dumped = settings.model_dump(mode="json")
        secrets = _secret_fields(type(self))
        for field, name in names.items():
            value = getattr(settings, field)
            if field in secrets:
                env[name] = value.get_secret_value() if isinstance(value, SecretStr) else _env_text(value)
                env.secret_names.add(name)
            else:
                env[name] = _env_text(dumped[field])
        return env


class ChildEnv(dict[str, str]):
    """A child's environment; ``repr`` (and so any log line) masks the secret settings."""

    def __init__(self, items: Mapping[str, str]) -> None:
        super().__init__(items)
        self.secret_names: set[str] = set()

    def __repr__(self) -> str:
        return repr({k: ("**********" if k in self.secret_names and v else v) for k, v in self.items()})

    __str__ = __repr__


def _env_text(value: object) -> str:
    """A JSON-mode field value as pydantic-settings parses it back from the environment."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value)  # bool -> true/false, numbers, lists and dicts as JSON


@functools.cache
def _optional_fields(cls: type[BaseSettings]) -> frozenset[str]:
    return frozenset(
        name for name, field in cls.model_fields.items() if type(None) in _members(field.annotation)
    )


@functools.cache
def _secret_fields(cls: type[BaseSettings]) -> frozenset[str]:
    return frozenset(
        name for name, field in cls.model_fields.items() if SecretStr in _members(field.annotation)
    )


def _members(annotation: Any) -> tuple[Any, ...]:
    """The types of a union annotation (``X | None``), or the annotation itself."""
    if get_origin(annotation) in (Union, types.UnionType):
        return get_args(annotation)
    return (annotation,)
