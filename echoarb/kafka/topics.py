"""The topics a deployment needs, created up front, and the co-partitioning check.

Partition counts are fixed at creation: the worker joins the three venue tick topics by
partition number (a pair's ticks sit on the same partition of each, see
``echoarb.partitioning``), and its changelog tables follow the same numbering. Adding
partitions later would move pairs between partitions (and Tansu cannot add them at all), so
every topic is created with its final count by ``echoarb topics create`` and a worker refuses
to start on topics that disagree (:func:`check_copartitioned`).

The Faust changelog names (``<worker id>-<table>-changelog``) mirror the tables built in
``streams/app.py``; ``tests/kafka/test_topic_plan.py`` builds the real Faust app and checks they match.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from echoarb.kafka import client_config
from echoarb.model import VENUES
from echoarb.settings import Settings

log = logging.getLogger("echoarb.topics")

#: Faust tables of the worker and the cleanup policy of their changelogs. The pair state is
#: compacted only: a quiet pair's latest state must survive any retention period (Faust's own
#: default, "compact,delete" with broker retention, would drop it after 7 days).
PAIR_STATE_TABLE = "pair-state"
TUMBLING_TABLE = "spread-stats-tumbling"
HOPPING_TABLE = "spread-stats-hopping"


class TopicLayoutError(RuntimeError):
    """The cluster's topics cannot carry this deployment (missing or not co-partitioned)."""


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    role: str  # ticks, spreads, windows, dead-letter, control, changelog, faust
    config: Mapping[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "partitions": self.partitions,
            "role": self.role,
            "config": dict(self.config),
        }


def data_topics(settings: Settings) -> list[TopicSpec]:
    """EchoArb's own topics: ticks per venue, spreads, windows (all ``PARTITIONS``), dead letters, control."""
    s = settings
    specs = [TopicSpec(s.tick_topic(v), s.partitions, "ticks") for v in VENUES]
    specs.append(TopicSpec(s.topic_spreads, s.partitions, "spreads"))
    specs.append(TopicSpec(s.topic_spread_windows, s.partitions, "windows"))
    specs.append(TopicSpec(s.topic_dead_letter, 1, "dead-letter"))
    specs.append(TopicSpec(s.topic_control, 1, "control"))
    return specs


def worker_topics(settings: Settings) -> list[TopicSpec]:
    """The Faust worker's internal topics: table changelogs and the assignor's leader topic."""
    s = settings
    app = s.worker_id

    def changelog(table: str, retention_s: int | None) -> TopicSpec:
        config = {"cleanup.policy": "compact"}
        if retention_s is not None:
            config = {"cleanup.policy": "compact,delete", "retention.ms": str(retention_s * 1000)}
        return TopicSpec(f"{app}-{table}-changelog", s.partitions, "changelog", config)

    return [
        changelog(PAIR_STATE_TABLE, None),
        changelog(TUMBLING_TABLE, s.window_tumbling_s * 10),
        changelog(HOPPING_TABLE, s.window_hopping_s * 4),
        TopicSpec(f"{app}-__assignor-__leader", 1, "faust"),
    ]


def all_topics(settings: Settings) -> list[TopicSpec]:
    """Every topic a deployment with these settings uses (what ``echoarb topics create`` makes)."""
    return data_topics(settings) + worker_topics(settings)


async def partition_counts(bootstrap: str, settings: Settings | None) -> dict[str, int]:
    """Partitions per existing topic, from a Metadata request."""
    from aiokafka import AIOKafkaClient

    client = AIOKafkaClient(bootstrap_servers=bootstrap, **client_config.admin(settings))
    await client.bootstrap()
    try:
        metadata = await client.fetch_all_metadata()
        return {topic: len(metadata.partitions_for_topic(topic) or ()) for topic in metadata.topics()}
    finally:
        await client.close()


async def create_missing(bootstrap: str, settings: Settings, specs: Iterable[TopicSpec]) -> list[TopicSpec]:
    """Create the topics of ``specs`` that do not exist; returns those it created."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    from echoarb.kafka.embedded import BrokerError

    wanted = list(specs)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_config.admin(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in wanted if spec.name not in existing]
        if missing:
            response = await admin.create_topics(
                [
                    NewTopic(
                        spec.name,
                        spec.partitions,
                        settings.replication_factor,
                        topic_configs=dict(spec.config),
                    )
                    for spec in missing
                ]
            )
            for name, code, *rest in getattr(response, "topic_errors", []):
                if code not in (0, 36):  # 36: TOPIC_ALREADY_EXISTS (a concurrent creator)
                    detail = f" ({rest[0]})" if rest and rest[0] else ""
                    raise BrokerError(f"cannot create topic {name!r}: error code {code}{detail}")
        return missing
    finally:
        await admin.close()


def mismatches(specs: Iterable[TopicSpec], counts: Mapping[str, int]) -> list[str]:
    """One line per topic that exists with another partition count than its spec."""
    return [
        f"{spec.name} has {counts[spec.name]} partitions, expected {spec.partitions}"
        for spec in specs
        if spec.name in counts and counts[spec.name] != spec.partitions
    ]


async def check_copartitioned(bootstrap: str, settings: Settings) -> None:
    """Raise :class:`TopicLayoutError` unless the tick topics (and any changelogs) have ``PARTITIONS``.

    The worker reads partition *p* of every tick topic as one stream and keeps the state of
    exactly those pairs in partition *p* of its changelogs; other counts would silently pair
    the wrong ticks, so it refuses to start instead.
    """
    counts = await partition_counts(bootstrap, settings)
    ticks = [spec for spec in data_topics(settings) if spec.role == "ticks"]
    missing = [spec.name for spec in ticks if spec.name not in counts]
    if missing:
        raise TopicLayoutError(
            f"tick topic(s) {', '.join(missing)} do not exist on {bootstrap}: create them with "
            "`echoarb topics create` (the compose topic-init job does) before starting workers"
        )
    changelogs = [spec for spec in worker_topics(settings) if spec.role == "changelog"]
    problems = mismatches(ticks + changelogs, counts)
    if problems:
        raise TopicLayoutError(
            "tick topics are not co-partitioned with PARTITIONS="
            f"{settings.partitions}: {'; '.join(problems)}. A worker joins the venues by partition, "
            "so this would pair the wrong ticks: recreate the topics with one partition count "
            "(`echoarb topics create` on an empty cluster) or set PARTITIONS to match"
        )
