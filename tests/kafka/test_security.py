"""SASL and TLS from one ``Settings`` reach every Kafka client EchoArb opens, and stay out of logs.

Each client is built by the real code path of its role. Clients that are created lazily on
start (the sink's, the topic admin, the offset lookups) are caught by recording every
``AIOKafkaClient`` made and refusing its first connection: no broker speaks SASL here (the
embedded Tansu cannot), so what is checked is the configuration each client was given.
"""

from __future__ import annotations

import datetime
import logging
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import faust
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.client import AIOKafkaClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from pydantic import ValidationError

from echoarb.ingest.live import IngestService
from echoarb.kafka import client_config, topics
from echoarb.settings import Settings
from echoarb.sink.service import SinkService
from echoarb.wire.codec import load_codecs
from streams.app import Topology
from tests.venues.live_helpers import pairs

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "pw-Zq8!never-logged"
KEY_PASSWORD = "key-pw-7Hk2"
BOOTSTRAP = "kafka-1:9092,kafka-2:9092,kafka-3:9092"


@pytest.fixture(scope="module")
def tls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed CA certificate and a client certificate whose key is encrypted."""
    out = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "echoarb-test-ca")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (out / "ca.pem").write_bytes(pem)
    (out / "client.pem").write_bytes(pem)
    (out / "client.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(KEY_PASSWORD.encode()),
        )
    )
    return out


def secure(tls_dir: Path, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "kafka_bootstrap": BOOTSTRAP,
        "kafka_security_protocol": "SASL_SSL",
        "kafka_sasl_mechanism": "SCRAM-SHA-512",
        "kafka_sasl_username": "echoarb",
        "kafka_sasl_password": PASSWORD,
        "kafka_ssl_cafile": tls_dir / "ca.pem",
        "kafka_ssl_certfile": tls_dir / "client.pem",
        "kafka_ssl_keyfile": tls_dir / "client.key",
        "kafka_ssl_key_password": KEY_PASSWORD,
        "data_dir": tmp_path,
        "partitions": 2,
    }
    values.update(overrides)
    return Settings(**values)


def assert_secure(client: AIOKafkaClient, mechanism: str = "SCRAM-SHA-512") -> None:
    assert client._security_protocol == "SASL_SSL"
    assert client._sasl_mechanism == mechanism
    assert client._sasl_plain_username == "echoarb"
    assert client._sasl_plain_password == PASSWORD
    context = client._ssl_context
    assert isinstance(context, ssl.SSLContext)
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "echoarb-test-ca"),),)]
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED


class _Refused(Exception):
    """Raised instead of connecting: the recorded client is all the test needs."""


@pytest.fixture
def made_clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[AIOKafkaClient]]:
    """Every ``AIOKafkaClient`` (inside any consumer, producer or admin) created in the test."""
    made: list[AIOKafkaClient] = []
    original = AIOKafkaClient.__init__

    def record(self: AIOKafkaClient, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made.append(self)

    async def refuse(self: AIOKafkaClient) -> None:
        raise _Refused

    monkeypatch.setattr(AIOKafkaClient, "__init__", record)
    monkeypatch.setattr(AIOKafkaClient, "bootstrap", refuse)
    yield made


# -- the settings themselves ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"kafka_sasl_password": None}, "needs KAFKA_SASL_PASSWORD"),
        (
            {"kafka_sasl_mechanism": None, "kafka_sasl_username": None},
            "KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME",
        ),
        ({"kafka_security_protocol": "SSL"}, "SASL settings are set but KAFKA_SECURITY_PROTOCOL is SSL"),
        ({"kafka_sasl_mechanism": "GSSAPI"}, "kafka_sasl_mechanism"),
        ({"kafka_ssl_keyfile": None}, "needs both KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE"),
    ],
)
def test_contradicting_security_settings_fail_with_one_line(
    tls_dir: Path, tmp_path: Path, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError) as info:
        secure(tls_dir, tmp_path, **overrides)
    assert message in str(info.value)
    assert PASSWORD not in str(info.value)


def test_plaintext_tls_files_are_a_mistake(tls_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="use SSL or SASL_SSL"):
        Settings(kafka_bootstrap=BOOTSTRAP, kafka_ssl_cafile=tls_dir / "ca.pem", data_dir=tmp_path)


def test_secrets_come_from_a_secrets_dir(tmp_path: Path) -> None:
    """Docker secrets: one file per field under /run/secrets (here a temporary directory)."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "kafka_sasl_password").write_text(PASSWORD + "\n")
    (secrets / "clickhouse_password").write_text("ch-pw/with:odd@chars\n")
    s = Settings(
        _secrets_dir=secrets,
        kafka_bootstrap=BOOTSTRAP,
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="PLAIN",
        kafka_sasl_username="echoarb",
        clickhouse_url="http://echoarb@clickhouse:8123/echoarb",
    )
    assert s.kafka_sasl_password is not None and s.kafka_sasl_password.get_secret_value() == PASSWORD
    assert s.clickhouse_url is not None
    assert (
        s.clickhouse_url.get_secret_value()
        == "http://echoarb:ch-pw%2Fwith%3Aodd%40chars@clickhouse:8123/echoarb"
    )
    assert PASSWORD not in repr(s) and "ch-pw" not in repr(s)


def test_clickhouse_password_in_two_places_is_refused() -> None:
    with pytest.raises(ValidationError, match="give one"):
        Settings(clickhouse_url="http://u:a@clickhouse:8123/db", clickhouse_password="b")


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
async def test_every_mechanism_reaches_consumer_producer_and_admin(
    tls_dir: Path, tmp_path: Path, mechanism: str
) -> None:
    s = secure(tls_dir, tmp_path, kafka_sasl_mechanism=mechanism)
    from aiokafka import AIOKafkaConsumer
    from aiokafka.admin import AIOKafkaAdminClient

    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, **client_config.consumer(False, s))
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, **client_config.producer(False, s))
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP, **client_config.admin(s))
    for client in (consumer._client, producer.client, admin._client):
        assert_secure(client, mechanism)
    await producer.stop()
    await consumer.stop()
    await admin.close()


def test_tls_without_sasl_and_the_embedded_broker(tls_dir: Path, tmp_path: Path) -> None:
    s = Settings(
        kafka_bootstrap=BOOTSTRAP, kafka_security_protocol="SSL", kafka_ssl_cafile=tls_dir / "ca.pem"
    )
    kwargs = client_config.security(s)
    assert kwargs["security_protocol"] == "SSL" and "sasl_mechanism" not in kwargs
    assert isinstance(client_config.faust_credentials(s)["broker_credentials"], faust.SSLCredentials)
    # The embedded broker (no bootstrap, or its child processes) is loopback plaintext.
    embedded = secure(tls_dir, tmp_path, ECHOARB_EMBEDDED_BROKER=True)
    assert client_config.security(embedded) == {}
    assert "broker_credentials" not in client_config.faust_credentials(embedded)
    assert client_config.security(secure(tls_dir, tmp_path, kafka_bootstrap=None)) == {}


def test_a_missing_ca_file_is_one_clear_line(tls_dir: Path, tmp_path: Path) -> None:
    s = secure(tls_dir, tmp_path, kafka_ssl_cafile=tmp_path / "nope.pem")
    with pytest.raises(client_config.KafkaConfigError, match=r"KAFKA_SSL_CAFILE=.*nope.pem: no such file"):
        client_config.security(s)
    wrong = secure(tls_dir, tmp_path, kafka_ssl_key_password="wrong")
    with pytest.raises(client_config.KafkaConfigError) as info:
        client_config.security(wrong)
    assert KEY_PASSWORD not in str(info.value)


def test_a_real_cluster_client_without_settings_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="needs the Settings"):
        client_config.consumer(False)
    assert client_config.consumer(True)  # the embedded broker needs none


# -- every role's clients -------------------------------------------------------------------------


async def test_ingest_producer(tls_dir: Path, tmp_path: Path) -> None:
    s = secure(tls_dir, tmp_path)
    service = IngestService(s, pairs(), bootstrap=BOOTSTRAP, embedded_broker=False, venues=["polymarket"])
    assert_secure(service.producer.client)
    await service.producer.stop()


async def test_faust_worker_clients(tls_dir: Path, tmp_path: Path) -> None:
    s = secure(tls_dir, tmp_path, worker_web_host="0.0.0.0")
    topology = Topology(s, pairs(), embedded_broker=False)
    conf = topology.app.conf
    assert [f"{u.host}:{u.port}" for u in conf.broker] == BOOTSTRAP.split(",")
    # Behind a wildcard bind (a container), routing uses the host name: --scale needs no setting.
    assert str(conf.canonical_url).rstrip("/") == s.worker_url() != "http://0.0.0.0:6066"
    credentials = conf.broker_credentials
    assert isinstance(credentials, faust.SASLCredentials)
    assert PASSWORD not in repr(credentials)
    # What Faust's aiokafka driver gives its group consumer, changelog readers and admin ...
    auth = credentials_to_aiokafka_auth(credentials, conf.ssl_context)
    assert auth["security_protocol"] == "SASL_SSL" and auth["sasl_mechanism"] == "SCRAM-SHA-512"
    assert auth["sasl_plain_password"] == PASSWORD
    # ... and the producer it builds.
    producer = topology.app.producer._new_producer()  # type: ignore[attr-defined]
    assert_secure(producer.client)
    await producer.stop()


async def test_sink_producer_and_consumer(
    tls_dir: Path, tmp_path: Path, made_clients: list[AIOKafkaClient], chdb_client: Any, ch_database: str
) -> None:
    s = secure(tls_dir, tmp_path)
    codecs = load_codecs()
    sink = SinkService(s, BOOTSTRAP, codecs, client_factory=lambda: chdb_client, database=ch_database)
    with pytest.raises(_Refused):
        await sink.start()  # the dead-letter producer connects first
    # The CLI's consumer settings are tansu-free for a real cluster; the sink adds the security.
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, **client_config.producer(False, s))
    sink = SinkService(
        s, BOOTSTRAP, codecs, producer=producer, client_factory=lambda: chdb_client, database=ch_database
    )
    with pytest.raises(_Refused):
        await sink.start()
    assert len(made_clients) == 3  # dead-letter producer, the given producer, the consumer
    for client in made_clients:
        assert_secure(client)
    await producer.stop()


async def test_topic_admin_and_offset_lookups(
    tls_dir: Path, tmp_path: Path, made_clients: list[AIOKafkaClient]
) -> None:
    s = secure(tls_dir, tmp_path)
    with pytest.raises(_Refused):
        await client_config.ensure_topics(BOOTSTRAP, s)
    with pytest.raises(_Refused):
        await topics.check_copartitioned(BOOTSTRAP, s)
    with pytest.raises(_Refused):
        await client_config.end_offsets(BOOTSTRAP, [TopicPartition(s.topic_spreads, 0)], False, s)
    assert len(made_clients) == 3
    for client in made_clients:
        assert_secure(client)


async def test_no_secret_reaches_the_logs(
    tls_dir: Path, tmp_path: Path, made_clients: list[AIOKafkaClient], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    s = secure(tls_dir, tmp_path)
    logging.getLogger("echoarb").info("settings: %r; kafka: %s", s, client_config.describe(s))
    IngestService(s, pairs(), bootstrap=BOOTSTRAP, embedded_broker=False, venues=["polymarket"])
    Topology(s, pairs(), embedded_broker=False)
    with pytest.raises(_Refused):
        await topics.partition_counts(BOOTSTRAP, s)
    assert "SASL_SSL SCRAM-SHA-512 as echoarb" in caplog.text
    assert PASSWORD not in caplog.text and KEY_PASSWORD not in caplog.text


def test_the_readiness_probe_authenticates_too(
    tls_dir: Path, tmp_path: Path, made_clients: list[AIOKafkaClient]
) -> None:
    """Every role waits for the cluster first: against a SASL-only cluster, that probe needs SASL."""
    from echoarb.cli.common import wait_for_cluster

    with pytest.raises(_Refused):
        wait_for_cluster(secure(tls_dir, tmp_path))
    (client,) = made_clients
    assert_secure(client)


def test_every_kafka_client_in_the_code_takes_its_configuration_from_client_config() -> None:
    """A static guard for clients added later: no construction without the settings' kwargs.

    ``client_config.consumer``/``producer`` need the Settings (their security) besides the
    broker kind, and every direct aiokafka client construction expands a configuration
    (``**client_config...`` or kwargs built from it) instead of bare keyword arguments.
    """
    import ast

    clients = {"AIOKafkaConsumer", "AIOKafkaProducer", "AIOKafkaAdminClient", "AIOKafkaClient"}
    problems = []
    sources = [*(ROOT / "echoarb").rglob("*.py"), *(ROOT / "streams").rglob("*.py")]
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr in ("consumer", "producer", "tick_producer")
                and isinstance(func.value, ast.Name)
                and func.value.id == "client_config"
                and len(node.args) + len(node.keywords) < 2
            ):
                problems.append(f"{where}: client_config.{func.attr}() without the Settings")
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            if name in clients and not any(k.arg is None for k in node.keywords):
                problems.append(f"{where}: {name}(...) without a **configuration from client_config")
    assert not problems, "\n".join(problems)
