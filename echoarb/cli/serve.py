"""``echoarb serve``: the HTTP API, WebSocket feed and board over the spreads topic."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from typing import TYPE_CHECKING, Any

from echoarb.cli.common import CliError, described, kafka, load_pairs_config, settings_from_args
from echoarb.model import VENUES

if TYPE_CHECKING:
    from echoarb.discover.resolution import ListingWatch
    from echoarb.serve.state import SpreadState

log = logging.getLogger("echoarb")


def cmd_serve(args: argparse.Namespace) -> int:
    from echoarb.kafka import client_config
    from echoarb.serve.app import ServeService
    from echoarb.serve.source import SpreadSource
    from echoarb.serve.state import SpreadState
    from echoarb.wire.codec import load_codecs

    settings = settings_from_args(args)
    pairs = load_pairs_config(settings)
    host = args.host or settings.serve_host
    port = settings.serve_port if args.port is None else args.port
    alerts = None
    if settings.alerts_file is not None:
        from echoarb.alerts.rules import AlertsConfigError, load_alerts

        try:
            alerts = load_alerts(settings.alerts_file)
        except AlertsConfigError as exc:
            raise CliError(f"invalid alerts config: {exc}") from None

    from echoarb.discover.resolution import ListingWatch, load_expected_resolutions

    watch = ListingWatch(pairs, settings.data_dir)  # before the first read: a change after it counts
    resolutions = load_expected_resolutions(pairs, settings.data_dir)
    log.info(
        "serve: expected resolution known for %d of %d pairs (from the echoarb discover listing)",
        len(resolutions),
        len(pairs.pairs),
    )

    async def run(bootstrap: str, embedded: bool) -> None:
        await client_config.ensure_topics(bootstrap, settings)
        state = SpreadState({p.id for p in pairs.pairs}, resolution_ms=resolutions)
        source = SpreadSource(
            settings,
            bootstrap,
            load_codecs(settings.schema_registry_url),
            state,
            consumer_kwargs=client_config.consumer(embedded, settings),
            from_beginning=embedded,
            lookback_s=settings.serve_lookback_s,
        )
        service = ServeService(
            source,
            host=host,
            port=port,
            max_queue=settings.serve_client_queue,
            max_quote_age_ms=settings.max_quote_age_ms,
            alerts=alerts,
            lag_group=settings.worker_id,
            auth_token=settings.web_token(),
        )
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, task.cancel if task else lambda: None)
        try:
            try:
                await service.start()
            except OSError as exc:
                raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
            log.info(
                "serve ready: board %s  API docs %sdocs  feed ws://%s:%d/ws/spreads",
                service.url,
                service.url,
                host,
                service.port,
            )
            watcher = asyncio.create_task(_watch_listing(watch, state), name="serve-listing-watch")
            try:
                await service.run()
            finally:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
        finally:
            await service.stop()

    with (
        kafka(settings) as (bootstrap, embedded),
        contextlib.suppress(asyncio.CancelledError, KeyboardInterrupt),
    ):
        asyncio.run(run(bootstrap, embedded))
    return 0


async def _watch_listing(watch: ListingWatch, state: SpreadState, interval_s: float = 5.0) -> None:
    """New expected resolutions after ``echoarb discover`` refreshed its cache: later events carry them."""
    while True:
        await asyncio.sleep(interval_s)
        fresh = await asyncio.to_thread(watch.poll)
        if fresh is not None:
            state.resolution_ms = fresh
            log.info(
                "serve: the discover listing changed: expected resolution known for %d pairs", len(fresh)
            )


def _check_board_port(host: str, port: int) -> None:
    """Fail before anything starts when the board's port is taken (not after the whole stack)."""
    if port == 0:
        return
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise CliError(
                f"cannot serve the board on {host}:{port}: {exc.strerror or exc} "
                "(another process has it? --port 0 picks a free one)"
            ) from None


def cmd_up(args: argparse.Namespace) -> int:
    import time

    from echoarb.kafka import client_config
    from echoarb.services.stack import Stack, StackError, plan

    settings = settings_from_args(args)
    if args.data_dir:
        from pathlib import Path

        settings = settings.model_copy(update={"data_dir": Path(args.data_dir).resolve()})
    load_pairs_config(settings)  # a bad pairs file fails here, before anything starts
    _check_board_port(
        args.host or settings.serve_host, settings.serve_port if args.port is None else args.port
    )
    began = time.monotonic()

    def announce(line: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)

    async def run(bootstrap: str, embedded: bool) -> None:
        await client_config.ensure_topics(bootstrap, settings)
        stack = Stack(
            plan(
                settings,
                bootstrap,
                embedded,
                simulate=args.simulate,
                workers=args.workers,
                host=args.host or settings.serve_host,
                serve_port=settings.serve_port if args.port is None else args.port,
                sink=not args.no_sink,
                venues=args.venue,
            ),
            ready_timeout=args.ready_timeout,
        )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stack.request_stop)
        try:
            await stack.run(announce)
        except StackError as exc:
            raise CliError(str(exc)) from None

    if settings.kafka_bootstrap:
        announce(f"ready  {'broker':<20} Kafka {settings.kafka_bootstrap}")
        asyncio.run(run(settings.kafka_bootstrap, settings.embedded_broker))
        return 0
    from echoarb.kafka.embedded import EmbeddedBroker

    with EmbeddedBroker(log_path=settings.data_dir / "logs" / "tansu.log", supervised=True) as broker:
        announce(f"ready  {'broker':<20} embedded {broker.bootstrap}  ({time.monotonic() - began:.1f}s)")
        try:
            asyncio.run(run(broker.bootstrap, True))
        finally:
            announce("stopping broker")
    return 0


def add_serve_commands(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="HTTP API, WebSocket feed and live board over the spreads topic",
        **described(
            "Serve the live board at /, GET /api/spreads, GET /api/pairs/{id}, the WebSocket feed "
            "/ws/spreads (snapshot on connect, then every spread event; filters "
            "?pair=&executable=&min_edge=&min_profit=, ?sort=annualised_return), /health, /metrics and "
            "the API docs at /docs, reading the spreads and tick topics of KAFKA_BOOTSTRAP (a view: "
            "no consumer group, SERVE_LOOKBACK_S of history). Alerts from ALERTS_FILE. Binds "
            "127.0.0.1 unless told otherwise; beyond loopback set WEB_AUTH_TOKEN.",
            [
                "KAFKA_BOOTSTRAP=kafka:9092 echoarb serve                 # http://127.0.0.1:8000/",
                "KAFKA_BOOTSTRAP=kafka:9092 WEB_AUTH_TOKEN=... echoarb serve --host 0.0.0.0 --port 8080",
            ],
        ),
    )
    p.add_argument("--pairs", help="market pairs file (default: PAIRS_FILE or config/market_pairs.json)")
    p.add_argument("--host", default=None, help="bind address (default SERVE_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default SERVE_PORT or 8000; 0 = free)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "up",
        help="run the whole live stack: broker, ingest, worker(s), sink and serve (Ctrl-C stops it)",
        **described(
            "One supervised process tree: the broker (embedded unless KAFKA_BOOTSTRAP is set), ingest "
            "for the configured venues, worker(s), the ClickHouse sink (CLICKHOUSE_URL, else embedded "
            "in DATA_DIR) and the board/API server. One line per part when it is ready, then the "
            "board's URL; each part logs to DATA_DIR/logs/up-*.log. Ctrl-C or SIGTERM stops every "
            "part (SIGTERM, then its grace period) and the broker last. With --simulate the three "
            "venue simulators run locally with moving markets that now and then cross: no "
            "credentials, no network. Without it the real venues are read; Kalshi without "
            "KALSHI_API_KEY and KALSHI_PRIVATE_KEY_PATH is public-only (never executable).",
            [
                "echoarb up --simulate                        # make live; open http://127.0.0.1:8000/",
                "echoarb up --simulate --workers 2 --port 0   # a free board port",
                "echoarb up --venue polymarket --venue manifold --no-sink   # real venues, no key",
            ],
        ),
    )
    p.add_argument("--simulate", action="store_true", help="run local venue simulators instead of the venues")
    p.add_argument("--pairs", help="market pairs file (default: PAIRS_FILE or config/market_pairs.json)")
    p.add_argument("--workers", type=int, default=1, help="stream workers (default 1)")
    p.add_argument(
        "--venue",
        action="append",
        choices=VENUES,
        help="ingest only this venue (repeatable; default: every venue of the pairs)",
    )
    p.add_argument("--host", default=None, help="serve bind address (default SERVE_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="board port (default SERVE_PORT or 8000; 0 = free)")
    p.add_argument("--no-sink", action="store_true", help="do not run the ClickHouse sink")
    p.add_argument("--data-dir", help="logs, embedded ClickHouse, keys (default DATA_DIR or .echoarb/)")
    p.add_argument(
        "--ready-timeout", type=float, default=120.0, help="seconds a part may take to be ready (default 120)"
    )
    p.set_defaults(func=cmd_up)
