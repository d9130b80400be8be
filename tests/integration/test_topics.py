"""``echoarb topics`` and the worker's co-partitioning check, against the real embedded broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from echoarb.kafka.embedded import EmbeddedBroker, create_topics
from echoarb.kafka.topics import all_topics, partition_counts
from echoarb.settings import Settings


def _env(broker: EmbeddedBroker, tmp_path: Path, **extra: str) -> dict[str, str]:
    """A deployment of its own on the shared broker: unique topic names, 3 partitions."""
    tag = uuid.uuid4().hex[:8]
    return dict(
        os.environ,
        KAFKA_BOOTSTRAP=broker.bootstrap,
        ECHOARB_EMBEDDED_BROKER="1",
        PARTITIONS="3",
        WORKER_ID=f"w-{tag}",
        TOPIC_TICKS_PREFIX=f"ticks-{tag}.",
        TOPIC_SPREADS=f"spreads-{tag}",
        TOPIC_SPREAD_WINDOWS=f"windows-{tag}",
        TOPIC_DEAD_LETTER=f"dl-{tag}",
        TOPIC_CONTROL=f"control-{tag}",
        DATA_DIR=str(tmp_path),
        **extra,
    )


def _echoarb(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "echoarb", *args], env=env, capture_output=True, text=True, timeout=120
    )


def _settings(env: dict[str, str]) -> Settings:
    """The Settings a process started with ``env`` builds (the same reader: pydantic-settings)."""
    names = {k: v for k, v in env.items() if k in _SETTINGS_ENV}
    return Settings(**{k.lower(): v for k, v in names.items()})  # type: ignore[arg-type]


_SETTINGS_ENV = {
    "KAFKA_BOOTSTRAP", "PARTITIONS", "WORKER_ID", "TOPIC_TICKS_PREFIX", "TOPIC_SPREADS",
    "TOPIC_SPREAD_WINDOWS", "TOPIC_DEAD_LETTER", "TOPIC_CONTROL",
}  # fmt: skip


async def test_topics_create_makes_exactly_the_planned_topics(broker: EmbeddedBroker, tmp_path: Path) -> None:
    env = _env(broker, tmp_path)
    plan = _echoarb(env, "topics", "plan", "--json")
    assert plan.returncode == 0, plan.stderr
    planned = {t["name"]: t["partitions"] for t in json.loads(plan.stdout)["topics"]}
    settings = _settings(env)
    assert planned == {spec.name: spec.partitions for spec in all_topics(settings)}
    assert planned[f"{env['WORKER_ID']}-pair-state-changelog"] == 3
    assert planned[env["TOPIC_DEAD_LETTER"]] == 1

    first = _echoarb(env, "topics", "create")
    assert first.returncode == 0, first.stderr
    assert f"{len(planned)} created, 0 already there" in first.stdout
    counts = await partition_counts(broker.bootstrap, None)
    assert {name: counts.get(name) for name in planned} == planned

    again = _echoarb(env, "topics", "create")  # idempotent: the compose job may run twice
    assert again.returncode == 0, again.stderr
    assert f"0 created, {len(planned)} already there" in again.stdout
    check = _echoarb(env, "topics", "check")
    assert check.returncode == 0, check.stderr + check.stdout


async def test_topics_create_refuses_an_existing_topic_with_other_partitions(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    env = _env(broker, tmp_path)
    await create_topics(broker.bootstrap, {f"{env['TOPIC_SPREADS']}": 5})
    proc = _echoarb(env, "topics", "create")
    assert proc.returncode == 2
    assert f"{env['TOPIC_SPREADS']} has 5 partitions, expected 3" in proc.stderr


async def test_worker_refuses_tick_topics_that_are_not_copartitioned(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    env = _env(broker, tmp_path)
    prefix = env["TOPIC_TICKS_PREFIX"]
    await create_topics(
        broker.bootstrap, {f"{prefix}kalshi": 3, f"{prefix}polymarket": 2, f"{prefix}manifold": 3}
    )
    proc = _echoarb(env, "worker")
    assert proc.returncode == 2, proc.stderr
    assert "refusing to start the worker: tick topics are not co-partitioned" in proc.stderr
    assert f"{prefix}polymarket has 2 partitions, expected 3" in proc.stderr
    assert "Traceback" not in proc.stderr
    check = _echoarb(env, "topics", "check")
    assert check.returncode == 2 and "not co-partitioned" in check.stderr


async def test_worker_refuses_missing_tick_topics(broker: EmbeddedBroker, tmp_path: Path) -> None:
    env = _env(broker, tmp_path)
    proc = _echoarb(env, "worker")
    assert proc.returncode == 2, proc.stderr
    assert "do not exist" in proc.stderr and "echoarb topics create" in proc.stderr
    # Refused before Faust started: it would have created the missing topics with defaults.
    counts = await partition_counts(broker.bootstrap, None)
    assert not any(name.startswith(env["TOPIC_TICKS_PREFIX"]) for name in counts)


async def test_worker_refuses_a_changelog_with_other_partitions(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    env = _env(broker, tmp_path)
    prefix = env["TOPIC_TICKS_PREFIX"]
    await create_topics(broker.bootstrap, {f"{prefix}{v}": 3 for v in ("kalshi", "polymarket", "manifold")})
    await create_topics(broker.bootstrap, {f"{env['WORKER_ID']}-pair-state-changelog": 8})
    proc = _echoarb(env, "worker")
    assert proc.returncode == 2
    assert f"{env['WORKER_ID']}-pair-state-changelog has 8 partitions, expected 3" in proc.stderr
