"""The topic plan matches what the worker's Faust app really uses (names, partitions, retention)."""

from __future__ import annotations

import socket
from pathlib import Path

from echoarb.kafka.topics import all_topics, data_topics, worker_topics
from echoarb.settings import Settings
from streams.app import Topology
from tests.venues.live_helpers import pairs


def test_changelog_topics_are_the_faust_apps_own(tmp_path: Path) -> None:
    s = Settings(kafka_bootstrap="kafka-1:9092", partitions=6, worker_id="arb", data_dir=tmp_path)
    app = Topology(s, pairs(), embedded_broker=False).app
    faust_changelogs = {}
    for table in app.tables.values():
        topic = table.changelog_topic
        retention_ms = None if topic.retention is None else int(topic.retention * 1000)
        faust_changelogs[topic.get_topic_name()] = (topic.partitions, retention_ms)
    planned = {
        spec.name: (
            spec.partitions,
            int(spec.config["retention.ms"]) if "retention.ms" in spec.config else None,
        )
        for spec in worker_topics(s)
        if spec.role == "changelog"
    }
    assert planned == faust_changelogs
    leader = app._leader_assignor._leader_topic_name  # type: ignore[attr-defined]
    assert {spec.name: spec.partitions for spec in worker_topics(s) if spec.role == "faust"} == {leader: 1}


def test_plan_covers_every_role_with_the_configured_counts() -> None:
    s = Settings(partitions=12, worker_id="arb", topic_ticks_prefix="t.")
    plan = {spec.name: (spec.role, spec.partitions) for spec in all_topics(s)}
    assert {name for name, (role, _) in plan.items() if role == "ticks"} == {
        "t.kalshi",
        "t.polymarket",
        "t.manifold",
    }
    assert {role for role, _ in plan.values()} == {
        "ticks", "spreads", "windows", "dead-letter", "control", "changelog", "faust"
    }  # fmt: skip
    assert all(n == 12 for role, n in plan.values() if role in ("ticks", "spreads", "windows", "changelog"))
    assert plan["echoarb.dead-letter"] == ("dead-letter", 1) and plan["echoarb.control"] == ("control", 1)
    # The pair state is compacted only: a quiet pair's latest state outlives any retention.
    pair_state = next(spec for spec in worker_topics(s) if spec.name == "arb-pair-state-changelog")
    assert dict(pair_state.config) == {"cleanup.policy": "compact"}
    assert [spec.name for spec in data_topics(s)] == list(plan)[:7]


def test_worker_url_behind_a_wildcard_bind_is_the_host_name() -> None:
    """``--scale worker=N``: each replica advertises its own container name, no per-replica setting."""
    s = Settings(worker_web_host="0.0.0.0", worker_web_port=6066)
    assert s.worker_url() == f"http://{socket.gethostname()}:6066"
    assert Settings(worker_web_host="127.0.0.1").worker_url() == "http://127.0.0.1:6066"
    assert Settings(worker_canonical_url="http://w1:7000").worker_url() == "http://w1:7000"
