"""``echoarb topics``: plan, create and check every topic of a deployment (wired into ``echoarb.cli``).

``create`` is the compose topic-init job: it runs once before the workers, so the topics
carry their final partition counts instead of a broker's auto-create defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from echoarb.cli.common import CliError, described, log, settings_from_args
from echoarb.settings import Settings


def _specs(settings: Settings) -> list[Any]:
    from echoarb.kafka.topics import all_topics

    return all_topics(settings)


def _bootstrap(settings: Settings) -> str:
    if not settings.kafka_bootstrap:
        raise CliError(
            "KAFKA_BOOTSTRAP is unset: point it at the cluster (the embedded broker creates its "
            "topics itself; `echoarb topics plan` lists them without a broker)"
        )
    return settings.kafka_bootstrap


def cmd_plan(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    specs = _specs(settings)
    if args.json:
        print(
            json.dumps(
                {
                    "replication_factor": settings.replication_factor,
                    "topics": [spec.as_dict() for spec in specs],
                },
                indent=2,
            )
        )
        return 0
    _print_table(specs, None, settings)
    return 0


def cmd_create(args: argparse.Namespace) -> int:
    from echoarb.kafka import client_config
    from echoarb.kafka.embedded import BrokerError
    from echoarb.kafka.readiness import KafkaUnreachable, wait_for_kafka
    from echoarb.kafka.topics import create_missing, mismatches, partition_counts

    settings = settings_from_args(args)
    bootstrap = _bootstrap(settings)
    specs = _specs(settings)

    async def run() -> tuple[list[Any], dict[str, int]]:
        # Brokers may still be electing a controller: retry for --wait seconds.
        await wait_for_kafka(bootstrap, timeout_s=args.wait, client_kwargs=client_config.security(settings))
        created = await create_missing(bootstrap, settings, specs)
        return created, await partition_counts(bootstrap, settings)

    log.info("creating topics on %s (%s)", bootstrap, client_config.describe(settings))
    try:
        created, counts = asyncio.run(run())
    except (BrokerError, KafkaUnreachable, client_config.KafkaConfigError) as exc:
        raise CliError(str(exc)) from None
    _print_table(specs, counts, settings, created={spec.name for spec in created})
    problems = mismatches(specs, counts)
    if problems:
        raise CliError(
            "existing topics disagree with the settings (partitions cannot be changed in place): "
            + "; ".join(problems)
        )
    print(f"{len(created)} created, {len(specs) - len(created)} already there: all {len(specs)} topics OK")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from aiokafka.errors import KafkaError

    from echoarb.kafka.topics import TopicLayoutError, check_copartitioned, mismatches, partition_counts

    settings = settings_from_args(args)
    bootstrap = _bootstrap(settings)
    specs = _specs(settings)

    async def run() -> dict[str, int]:
        await check_copartitioned(bootstrap, settings)
        return await partition_counts(bootstrap, settings)

    try:
        counts = asyncio.run(run())
    except TopicLayoutError as exc:
        raise CliError(str(exc)) from None
    except KafkaError as exc:
        raise CliError(f"cannot read the topics of {bootstrap}: {exc}") from None
    _print_table(specs, counts, settings)
    problems = mismatches(specs, counts) + [f"{s.name} is missing" for s in specs if s.name not in counts]
    if problems:
        raise CliError("; ".join(problems))
    print(f"all {len(specs)} topics present; tick topics and changelogs co-partitioned")
    return 0


def _print_table(
    specs: list[Any], counts: dict[str, int] | None, settings: Settings, created: set[str] | None = None
) -> None:
    print(f"{'topic':<44} {'role':<12} {'partitions':>10}  config")
    for spec in specs:
        state = ""
        if counts is not None:
            if created and spec.name in created:
                state = "  (created)"
            elif spec.name not in counts:
                state = "  (missing)"
            elif counts[spec.name] != spec.partitions:
                state = f"  (HAS {counts[spec.name]})"
        config = " ".join(f"{k}={v}" for k, v in spec.config.items()) or "-"
        print(f"{spec.name:<44} {spec.role:<12} {spec.partitions:>10}  {config}{state}")
    print(f"replication factor {settings.replication_factor}")


def add_topics_commands(sub: Any) -> None:
    """Register ``topics plan|create|check`` on the main parser's subparsers."""
    p = sub.add_parser(
        "topics",
        help="plan, create or check every Kafka topic of a deployment",
        **described(
            "Every tick, spread, window, dead-letter, control and Faust changelog topic, with the "
            "partition count the settings imply (PARTITIONS, REPLICATION_FACTOR, TOPIC_*, WORKER_ID). "
            "Partition counts cannot change later without breaking co-partitioning: create them first.",
            [
                "echoarb topics plan",
                "KAFKA_BOOTSTRAP=kafka:9092 PARTITIONS=16 echoarb topics create",
                "KAFKA_BOOTSTRAP=kafka:9092 echoarb topics check",
            ],
        ),
    )
    topics_sub = p.add_subparsers(dest="topics_command", required=True, metavar="ACTION")
    plan = topics_sub.add_parser(
        "plan",
        help="list the topics the settings imply (no broker needed)",
        **described(
            "List every topic the settings imply with its partition count and replication factor; "
            "no broker needed.",
            ["echoarb topics plan", "PARTITIONS=16 REPLICATION_FACTOR=3 echoarb topics plan --json"],
        ),
    )
    plan.add_argument("--json", action="store_true", help="machine-readable output")
    plan.set_defaults(func=cmd_plan)

    create = topics_sub.add_parser(
        "create",
        help="create the missing topics on KAFKA_BOOTSTRAP, then verify every partition count",
        **described(
            "Create the missing topics on KAFKA_BOOTSTRAP, then verify every partition count. "
            "Idempotent: existing topics are kept and checked; a count that differs is an error "
            "(exit 2), since partitions cannot be changed in place.",
            ["KAFKA_BOOTSTRAP=kafka:9092 echoarb topics create --wait 300"],
        ),
    )
    create.add_argument(
        "--wait", type=float, default=120.0, help="seconds to wait for the cluster to answer (default 120)"
    )
    create.set_defaults(func=cmd_create)

    check = topics_sub.add_parser(
        "check",
        help="verify that every topic exists and the tick topics are co-partitioned",
        **described(
            "Verify on KAFKA_BOOTSTRAP that every topic exists with the partition count the settings "
            "imply and that the tick topics are co-partitioned; exit 2 naming what differs.",
            ["KAFKA_BOOTSTRAP=kafka:9092 echoarb topics check"],
        ),
    )
    check.set_defaults(func=cmd_check)
