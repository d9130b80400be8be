"""``echoarb``: one command, a subcommand per role."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from echoarb.cli.backtest import add_backtest_commands
from echoarb.cli.common import CliError, setup_logging
from echoarb.cli.discover import add_discover_commands
from echoarb.cli.live import add_live_commands
from echoarb.cli.pipeline import add_pipeline_commands
from echoarb.cli.serve import add_serve_commands
from echoarb.cli.sink import add_sink_commands
from echoarb.cli.topics import add_topics_commands
from echoarb.settings import Settings

EPILOG = """\
configuration:
  Settings come from the environment and .env (KAFKA_BOOTSTRAP, CLICKHOUSE_URL,
  SCHEMA_REGISTRY_URL, KALSHI_API_KEY, KALSHI_PRIVATE_KEY_PATH, PARTITIONS, MIN_EDGE,
  MAX_QUOTE_AGE_MS, ...). Without KAFKA_BOOTSTRAP EchoArb starts an embedded Kafka-protocol
  broker (Tansu); without CLICKHOUSE_URL it stores into embedded ClickHouse under DATA_DIR.

examples:
  echoarb replay config/recordings/sample.jsonl --out spreads.jsonl   # make demo
  echoarb up --simulate          # the live stack on local simulators; board on http://127.0.0.1:8000/
  echoarb check-config config/market_pairs.json
  echoarb backtest config/recordings/sample.jsonl --latency kalshi=150ms,polymarket=300ms
  echoarb discover --interactive
  KAFKA_BOOTSTRAP=kafka:9092 echoarb worker

`echoarb COMMAND --help` shows what a command does, its defaults and examples.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="echoarb",
        description="Real-time arbitrage scanner for prediction markets "
        "(Kalshi, Polymarket, Manifold) on Kafka.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO (default), WARNING")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_pipeline_commands(sub)  # replay, worker, sink, broker, check-config
    add_live_commands(sub)  # ingest, keys, simulate
    add_sink_commands(sub)  # db migrate, top
    add_topics_commands(sub)  # topics plan, create, check
    add_serve_commands(sub)  # serve, up
    add_backtest_commands(sub)  # backtest
    add_discover_commands(sub)  # discover
    return parser


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    # SIGTERM's default action ends the process at once, skipping every `with` and `finally`:
    # the embedded broker (a child) would be left running. Unwind like Ctrl-C instead.
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    level = args.log_level
    if level is None:
        try:
            level = Settings().log_level
        except ValidationError:
            level = "INFO"
    setup_logging(level)
    try:
        result: int = args.func(args)
        return result
    except CliError as exc:
        print(f"echoarb: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a clear one-line reason; the traceback only at DEBUG
        from aiokafka.errors import KafkaError

        from echoarb.kafka.client_config import KafkaConfigError
        from echoarb.services.replay import ReplayError
        from echoarb.services.worker_process import WorkerError
        from echoarb.venues.recording import RecordingError

        if isinstance(exc, KafkaError):  # e.g. the broker died under a running command
            print(f"echoarb: error: Kafka: {exc}", file=sys.stderr)
            return 1
        if isinstance(exc, RecordingError):
            print(f"echoarb: error: bad recording line: {exc}", file=sys.stderr)
            return 2
        if isinstance(exc, ReplayError | WorkerError | KafkaConfigError):
            print(f"echoarb: error: {exc}", file=sys.stderr)
            return 1
        raise
