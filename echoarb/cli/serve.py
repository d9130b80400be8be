"""``echoarb serve``: the HTTP API, WebSocket feed and board over the spreads topic."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from typing import Any

from echoarb.cli.common import CliError, kafka, load_pairs_config, settings_from_args

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

    async def run(bootstrap: str, embedded: bool) -> None:
        await client_config.ensure_topics(bootstrap, settings)
        source = SpreadSource(
            settings,
            bootstrap,
            load_codecs(settings.schema_registry_url),
            SpreadState({p.id for p in pairs.pairs}),
            consumer_kwargs=client_config.consumer(embedded),
            from_beginning=embedded,
            lookback_s=settings.serve_lookback_s,
        )
        service = ServeService(
            source,
            host=host,
            port=port,
            max_queue=settings.serve_client_queue,
            max_quote_age_ms=settings.max_quote_age_ms,
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
            await service.run()
        finally:
            await service.stop()

    with (
        kafka(settings) as (bootstrap, embedded),
        contextlib.suppress(asyncio.CancelledError, KeyboardInterrupt),
    ):
        asyncio.run(run(bootstrap, embedded))
    return 0


def add_serve_commands(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="HTTP API, WebSocket feed and live board over the spreads topic",
        description="Serve the live board at /, GET /api/spreads, GET /api/pairs/{id}, the WebSocket feed "
        "/ws/spreads (snapshot on connect, then every spread event; filters ?pair=&executable=&min_edge=), "
        "/health, /metrics and the API docs at /docs. Binds 127.0.0.1 unless told otherwise.",
    )
    p.add_argument("--pairs", help="market pairs file")
    p.add_argument("--host", default=None, help="bind address (default SERVE_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default SERVE_PORT or 8000; 0 = free)")
    p.set_defaults(func=cmd_serve)
