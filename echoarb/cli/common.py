"""What every subcommand shares: the error type, logging, settings, pairs and the Kafka to use.

Subcommand modules import from here and never from each other, so the CLI has no cycle.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from echoarb.pairs import PairsConfig, PairsConfigError, load_pairs
from echoarb.settings import Settings

log = logging.getLogger("echoarb")


class CliError(Exception):
    pass


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (a bad one is a usage error, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def described(description: str, examples: Sequence[str], notes: str = "") -> dict[str, Any]:
    """``add_parser`` keywords for a subcommand's ``--help``: what it does, then examples.

    The description is wrapped here and the epilog kept as written (one example per line,
    aligned comments), which argparse's formatters cannot do both of.
    """
    epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples)
    if notes:
        epilog += "\n\n" + textwrap.fill(notes, 88)
    return {
        "description": textwrap.fill(description, 88),
        "epilog": epilog,
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Hot-path client loggers build DEBUG records per message; keep them quiet.
    for name in ("aiokafka", "faust", "mode", "kafka"):
        logging.getLogger(name).setLevel(logging.WARNING)


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "pairs", None):
        overrides["pairs_file"] = Path(args.pairs).resolve()
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise CliError(f"invalid settings: {problems}") from None


def load_pairs_config(settings: Settings) -> PairsConfig:
    try:
        return load_pairs(settings.pairs_file)
    except PairsConfigError as exc:
        raise CliError(f"invalid market pairs config: {exc}") from None


def wait_for_cluster(settings: Settings) -> None:
    """Block until KAFKA_BOOTSTRAP answers (retrying with backoff), or fail with one line."""
    import asyncio

    from echoarb.kafka import client_config
    from echoarb.kafka.readiness import KafkaUnreachable, wait_for_kafka

    assert settings.kafka_bootstrap
    try:
        asyncio.run(
            wait_for_kafka(
                settings.kafka_bootstrap,
                timeout_s=settings.kafka_connect_timeout_s,
                client_kwargs=client_config.security(settings),  # a SASL cluster answers only then
            )
        )
    except KafkaUnreachable as exc:
        raise CliError(str(exc)) from None


@contextlib.contextmanager
def kafka(settings: Settings) -> Iterator[tuple[str, bool]]:
    """The configured cluster, or an embedded broker for the duration of the block."""
    if settings.kafka_bootstrap:
        wait_for_cluster(settings)
        yield settings.kafka_bootstrap, settings.embedded_broker
        return
    from echoarb.kafka.embedded import EmbeddedBroker

    log_path = settings.data_dir / "logs" / "tansu.log"
    log.info("KAFKA_BOOTSTRAP is unset: starting the embedded broker (log: %s)", log_path)
    with EmbeddedBroker(log_path=log_path) as broker:
        log.info("embedded broker listening on %s", broker.bootstrap)
        yield broker.bootstrap, True


@contextlib.asynccontextmanager
async def stop_on_signals(*sigs: signal.Signals) -> AsyncIterator[list[signal.Signals]]:
    """SIGTERM and SIGINT cancel the current task, and the block ends quietly.

    The value it gives is the list of signals received (empty: the block ended by itself).

    ``main`` turns SIGTERM into ``SystemExit`` from a plain signal handler: that lands in
    whichever task runs at that instant, aiokafka's fetcher included, which then dies with it
    and fails the consumer's stop with a traceback. Here the loop's own handler cancels the
    command's task at its current ``await`` instead, so its ``finally`` blocks run with every
    client intact. The previous handlers come back when the block ends (the embedded broker's
    teardown still unwinds on SIGTERM).
    """
    sigs = sigs or (signal.SIGTERM, signal.SIGINT)
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    requested: list[signal.Signals] = []

    def request(sig: signal.Signals) -> None:
        if not requested:
            log.info("%s: stopping", sig.name)
            task.cancel()
        requested.append(sig)

    previous = {sig: signal.getsignal(sig) for sig in sigs}
    for sig in sigs:
        loop.add_signal_handler(sig, request, sig)
    try:
        yield requested
    except asyncio.CancelledError:
        if not requested:
            raise
        task.uncancel()  # a requested stop, not a cancellation from outside
    finally:
        for sig in sigs:
            loop.remove_signal_handler(sig)
            signal.signal(sig, previous[sig])


def checked_recording(path: Path, skip_bad_lines: bool) -> tuple[int, list[Any]]:
    """Read a recording through once before anything starts (replay, backtest): its good
    frames and bad lines. A bad line is one ``CliError`` naming the file and line, unless the
    user asked to skip them (then one warning, and the caller counts them)."""
    from echoarb.venues.recording import check_recording

    if not path.is_file():
        raise CliError(f"recording not found: {path}")
    good, bad = check_recording(path)
    if bad and not skip_bad_lines:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise CliError(
            f"bad recording line: {bad[0]}{more}; fix it, or pass --skip-bad-lines to count and skip"
        )
    if bad:
        log.warning("skipping %d bad recording lines (first: %s)", len(bad), bad[0])
    return good, bad
