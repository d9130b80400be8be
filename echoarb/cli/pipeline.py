"""Pipeline subcommands: ``replay``, ``worker``, ``sink``, ``broker`` and ``check-config``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from echoarb.cli.common import (
    CliError,
    checked_recording,
    described,
    kafka,
    load_pairs_config,
    settings_from_args,
    stop_on_signals,
    wait_for_cluster,
)
from echoarb.pairs import PairsConfigError, load_pairs
from echoarb.resources import SAMPLE_RECORDING

log = logging.getLogger("echoarb")


def cmd_replay(args: argparse.Namespace) -> int:
    from echoarb.cli.console import SpreadBoard
    from echoarb.services.replay import ReplayReport, run_replay

    settings = settings_from_args(args)
    pairs = load_pairs_config(settings)
    recording = Path(args.recording)
    _, bad = checked_recording(recording, args.skip_bad_lines)
    if args.data_dir:
        settings = settings.model_copy(update={"data_dir": Path(args.data_dir).resolve()})
    board = SpreadBoard()

    def on_event(event: dict[str, Any]) -> None:
        board.update(event)
        if args.live and event["executable"]:
            legs = " + ".join(f"{leg['venue']} {leg['side']} @{leg['best_price']}" for leg in event["legs"])
            print(
                f"  spread  {event['pair_id']:<28} {legs:<44} size {event['size']:>8}"
                f"  net {event['net_profit']:>9}  edge {event['net_edge']}",
                flush=True,
            )

    async def replay_until_signal(bootstrap: str, embedded: bool) -> tuple[ReplayReport | None, int]:
        # SIGTERM or Ctrl-C cancels the replay at its current await (stop_on_signals), so its
        # finally blocks stop the worker and the clients intact, with no traceback.
        async with stop_on_signals() as stopped:
            return (
                await run_replay(
                    settings,
                    pairs,
                    recording,
                    Path(args.out) if args.out else None,
                    bootstrap=bootstrap,
                    embedded_broker=embedded,
                    speed=args.speed,
                    timeout=args.timeout,
                    on_event=on_event,
                    skip_bad_lines=bool(bad),
                ),
                0,
            )
        return None, 128 + int(stopped[0]) if stopped else 1

    with kafka(settings) as (bootstrap, embedded):
        report, code = asyncio.run(replay_until_signal(bootstrap, embedded))
    if report is None:
        log.warning("replay stopped by a signal before the end of the recording: no summary")
        return code
    print()
    board.render(best=True, title="Best opportunity per pair and direction (net profit > 0):")
    print()
    print(
        f"replayed {report.frames} frames ({report.parse_errors} rejected"
        + (f", {report.bad_lines} bad lines skipped" if report.bad_lines else "")
        + f") -> {report.ticks} ticks in "
        f"{report.tick_records} records -> {report.spreads} spread events, {report.windows} window records; "
        f"ClickHouse: {report.spreads_in_clickhouse} spreads, {report.windows_in_clickhouse} windows; "
        f"{report.seconds:.1f}s"
    )
    if args.out:
        print(f"spread events written to {args.out}")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    pairs = load_pairs_config(settings)
    if not settings.kafka_bootstrap:
        raise CliError("the worker needs KAFKA_BOOTSTRAP (use `echoarb replay` for an all-in-one local run)")
    if settings.processing_guarantee == "exactly_once" and settings.embedded_broker:
        raise CliError(
            "PROCESSING_GUARANTEE=exactly_once needs transactional producers, which the embedded "
            "Tansu broker refuses (InitProducerId v0); use at_least_once (the default)"
        )
    wait_for_cluster(settings)
    from aiokafka.errors import KafkaError

    from echoarb.kafka.client_config import describe
    from echoarb.kafka.topics import TopicLayoutError, check_copartitioned
    from streams.app import Topology
    from streams.faust_compat import BoundedStopWorker

    log.info("Kafka: %s (%s)", settings.kafka_bootstrap, describe(settings))  # never a secret
    # A private loop: asyncio.run would leave none current, and Faust's worker wants one.
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(check_copartitioned(settings.kafka_bootstrap, settings))
    except TopicLayoutError as exc:
        raise CliError(f"refusing to start the worker: {exc}") from None
    except KafkaError as exc:
        raise CliError(f"cannot read the topics of {settings.kafka_bootstrap}: {exc}") from None
    finally:
        loop.close()

    topology = Topology(settings, pairs, embedded_broker=settings.embedded_broker)
    worker = BoundedStopWorker(
        topology.app,
        loglevel=settings.log_level.lower(),
        quiet=True,
        stop_grace_s=settings.worker_stop_timeout_s,
    )
    worker.execute_from_commandline()
    return 0


def cmd_sink(args: argparse.Namespace) -> int:
    from echoarb.kafka import client_config
    from echoarb.sink.service import SinkService
    from echoarb.wire.codec import load_codecs

    settings = settings_from_args(args)

    async def run(bootstrap: str, embedded: bool) -> None:
        from echoarb.services.ops import OpsServer

        await client_config.ensure_topics(bootstrap, settings)
        sink = SinkService(
            settings,
            bootstrap,
            load_codecs(settings.schema_registry_url),
            consumer_kwargs=client_config.consumer(embedded, settings),
            # A server may come up after the sink (compose): wait for it. A local chdb dir that
            # cannot be opened will not heal, so that fails at once.
            wait_for_clickhouse=settings.clickhouse_url is not None,
        )
        ready = False

        def health() -> tuple[bool, dict[str, Any]]:
            return ready, {
                "spreads_inserted": sink.spreads_inserted,
                "windows_inserted": sink.windows_inserted,
                "inserts": sink.inserts,
                "store_failures": sink.store_failures,
            }

        ops = None
        if args.metrics_port is not None:
            from echoarb.sink.metrics import register_lag

            register_lag(sink.group_id, sink.lag)
            ops = OpsServer(
                health, host=args.metrics_addr, port=args.metrics_port, auth_token=settings.web_token()
            )
            await ops.start()
        # SIGTERM or Ctrl-C cancels this at its current await (stop_on_signals); stop() then
        # leaves the group. What was not inserted was not committed, so nothing is lost; a block
        # inserted but not committed is re-inserted with the same token and deduplicated.
        started = False
        try:
            await sink.start()  # closes what it opened if it fails or is interrupted
            started = ready = True
            await sink.run()
        finally:
            if started:
                await sink.stop()
            if ops is not None:
                await ops.stop()

    async def run_until_signal(bootstrap: str, embedded: bool) -> None:
        async with stop_on_signals():
            await run(bootstrap, embedded)

    with kafka(settings) as (bootstrap, embedded), contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_until_signal(bootstrap, embedded))
    return 0


def cmd_broker(args: argparse.Namespace) -> int:
    import time

    from echoarb.kafka import client_config
    from echoarb.kafka.embedded import EmbeddedBroker

    settings = settings_from_args(args)
    with EmbeddedBroker(log_path=settings.data_dir / "logs" / "tansu.log", port=args.port) as broker:
        asyncio.run(client_config.ensure_topics(broker.bootstrap, settings))
        print(
            f"embedded broker on {broker.bootstrap}; export KAFKA_BOOTSTRAP={broker.bootstrap} "
            "ECHOARB_EMBEDDED_BROKER=1 (Ctrl-C stops it)",
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    path = Path(args.file) if args.file else settings_from_args(args).pairs_file
    try:
        config = load_pairs(path)
    except PairsConfigError as exc:
        raise CliError(str(exc)) from None
    for pair in config.pairs:
        venues = ", ".join(sorted(pair.venue_names))
        print(f"  {pair.id:<32} {pair.type:<12} {venues}")
    print(f"{path}: {len(config.pairs)} pairs OK")
    return 0


def add_pipeline_commands(sub: Any) -> None:
    """Register the pipeline subcommands on the main parser's subparsers."""
    p = sub.add_parser(
        "replay",
        help="replay a recording through the whole pipeline (broker, worker, ClickHouse)",
        **described(
            "Feed a JSON Lines recording of venue frames through the parsers, Kafka, the Faust worker "
            "and the ClickHouse sink; print the best opportunities at the end and write every spread "
            "event read back from the spreads topic. Exits 0 when the recording is drained and the "
            "pipeline is idle. Output is the same at any --speed. Without KAFKA_BOOTSTRAP it starts "
            "an embedded broker, without CLICKHOUSE_URL embedded ClickHouse in DATA_DIR.",
            [
                "echoarb replay                               # the bundled sample, the example pairs",
                "echoarb replay rec.jsonl --pairs pairs.json --out spreads.jsonl --live",
                "echoarb replay rec.jsonl --speed 1           # at the pace it was recorded",
            ],
        ),
    )
    p.add_argument(
        "recording", nargs="?", default=str(SAMPLE_RECORDING), help="recording (default: bundled sample)"
    )
    p.add_argument("--pairs", help="market pairs file (default: PAIRS_FILE or config/market_pairs.json)")
    p.add_argument("--out", help="write spread events here as JSON Lines")
    p.add_argument(
        "--speed", type=float, default=0.0, help="1 = real time, 10 = ten times faster, 0 = max (default)"
    )
    p.add_argument(
        "--data-dir", help="where logs and embedded ClickHouse live (default: DATA_DIR or .echoarb/)"
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="give up waiting for the pipeline after N seconds (default 300)",
    )
    p.add_argument("--live", action="store_true", help="print executable spread events as they arrive")
    p.add_argument(
        "--skip-bad-lines",
        action="store_true",
        help="skip and count unreadable recording lines instead of refusing the recording",
    )
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser(
        "worker",
        help="run a Faust stream worker (needs KAFKA_BOOTSTRAP)",
        **described(
            "Join the tick topics by market pair and emit spread events (spreads) and window "
            "statistics (spread-windows). Needs a running cluster in KAFKA_BOOTSTRAP (`echoarb replay` "
            "and `echoarb up` start their own) and waits up to KAFKA_CONNECT_TIMEOUT_S for it. "
            "Workers with the same WORKER_ID share the partitions; a worker refuses to start unless "
            "the tick topics are co-partitioned. Health, table views and /metrics on WORKER_WEB_PORT.",
            [
                "KAFKA_BOOTSTRAP=kafka:9092 echoarb worker",
                "KAFKA_BOOTSTRAP=kafka:9092 echoarb worker --pairs pairs.json   # run several to share",
            ],
        ),
    )
    p.add_argument("--pairs", help="market pairs file (default: PAIRS_FILE or config/market_pairs.json)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser(
        "sink",
        help="run the ClickHouse sink (spreads, spread-windows; ticks with SINK_TICKS=true)",
        **described(
            "Consume spread events and window statistics (and ticks with SINK_TICKS=true) into "
            "ClickHouse, effectively once: batches have fixed boundaries recorded in sink_batches and "
            "are inserted with a deduplication token; offsets are committed only after the insert. "
            "ClickHouse is CLICKHOUSE_URL, else embedded in DATA_DIR/clickhouse; Kafka is "
            "KAFKA_BOOTSTRAP. Applies pending migrations at start.",
            [
                "KAFKA_BOOTSTRAP=kafka:9092 CLICKHOUSE_URL=http://default:pw@clickhouse:8123/echoarb \\",
                "  echoarb sink --metrics-port 9110",
            ],
        ),
    )
    p.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve Prometheus /metrics and /health on this port (default: none)",
    )
    p.add_argument("--metrics-addr", default="127.0.0.1", help="metrics bind address (default 127.0.0.1)")
    p.set_defaults(func=cmd_sink)

    p = sub.add_parser(
        "broker",
        help="run the embedded Kafka-protocol broker in the foreground",
        **described(
            "The embedded broker (Tansu, in memory: its records are gone when it stops) with every "
            "topic created, for running the parts by hand; prints the KAFKA_BOOTSTRAP to export in "
            "the other shells. Ctrl-C stops it.",
            [
                "echoarb broker --port 9092",
                "KAFKA_BOOTSTRAP=127.0.0.1:9092 ECHOARB_EMBEDDED_BROKER=1 echoarb worker   # another shell",
            ],
        ),
    )
    p.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default: a free one)")
    p.set_defaults(func=cmd_broker)

    p = sub.add_parser(
        "check-config",
        help="validate a market pairs file and list its pairs",
        **described(
            "Validate a market pairs file (format: docs/edge.md) and list its pairs; a bad file exits 2 "
            "naming the pair and the key that are wrong.",
            ["echoarb check-config", "echoarb check-config pairs.suggested.json"],
        ),
    )
    p.add_argument("file", nargs="?", help="pairs file (default: PAIRS_FILE or config/market_pairs.json)")
    p.set_defaults(func=cmd_check_config)
