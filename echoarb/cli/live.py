"""CLI subcommands of the live side: ``ingest``, ``keys`` and ``simulate`` (wired into ``echoarb.cli``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from typing import Any

from echoarb.model import VENUES

log = logging.getLogger("echoarb")


def cmd_ingest(args: argparse.Namespace) -> int:
    from echoarb.cli.common import CliError, kafka, load_pairs_config, settings_from_args
    from echoarb.ingest.live import IngestError, IngestService
    from echoarb.ingest.publisher import PublishError
    from echoarb.venues.kalshi.auth import KalshiKeyError

    settings = settings_from_args(args)
    pairs = load_pairs_config(settings)
    wanted = set(args.venue or VENUES)
    if "kalshi" in wanted and any("kalshi" in pair.venue_names for pair in pairs.pairs):
        from echoarb.ingest.live import check_kalshi_credentials

        try:  # before waiting on Kafka: a bad key is the user's to fix, not something to retry
            check_kalshi_credentials(settings)
        except KalshiKeyError as exc:
            raise CliError(f"refusing to start the Kalshi connector: {exc}") from None
    logging.getLogger("websockets").setLevel(logging.WARNING)

    async def run(bootstrap: str, embedded: bool) -> None:
        from echoarb.services.ops import OpsServer

        service = IngestService(
            settings,
            pairs,
            bootstrap=bootstrap,
            embedded_broker=embedded,
            venues=args.venue or None,
            record=Path(args.record) if args.record else None,
        )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, service.stop)
        if args.duration:
            loop.call_later(args.duration, service.stop)
        ops = None
        if args.metrics_port is not None:
            ops = OpsServer(
                service.health,
                host=args.metrics_addr,
                port=args.metrics_port,
                auth_token=settings.web_token(),
            )
            try:
                await ops.start()
            except OSError as exc:
                raise CliError(
                    f"cannot serve metrics on {args.metrics_addr}:{args.metrics_port}: {exc}"
                ) from None
        try:
            stats = await service.run()
        finally:
            if ops is not None:
                await ops.stop()
        print(
            f"ingested {stats.frames} frames ({stats.parse_errors} rejected) -> {stats.ticks} ticks; "
            f"{service.publisher.records_sent} records"
            + (f"; recorded to {args.record}" if args.record else "")
            + (f"; failed venues: {stats.failed_venues}" if stats.failed_venues else ""),
            flush=True,
        )

    try:
        with kafka(settings) as (bootstrap, embedded):
            asyncio.run(run(bootstrap, embedded))
    except KalshiKeyError as exc:
        raise CliError(f"refusing to start the Kalshi connector: {exc}") from None
    except (IngestError, PublishError) as exc:
        raise CliError(str(exc)) from None
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from echoarb.cli.common import CliError
    from echoarb.venues.kalshi.auth import KalshiKeyError, generate_keypair

    try:
        private, public = generate_keypair(Path(args.dir), args.name)
    except KalshiKeyError as exc:
        raise CliError(str(exc)) from None
    print(f"private key: {private} (mode 600)\npublic key:  {public}")
    print(f"upload the public key to Kalshi, then set KALSHI_PRIVATE_KEY_PATH={private}")
    print("and KALSHI_API_KEY=<the key id Kalshi shows for it>")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from echoarb.cli.common import CliError
    from echoarb.venues.simulator import parse_scenario

    try:
        scenario = parse_scenario(args.scenario)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    logging.getLogger("websockets").setLevel(logging.WARNING)
    common: dict[str, Any] = {"interval": args.interval, "seed": args.seed}
    if args.market:
        from echoarb.cli.common import load_pairs_config, settings_from_args
        from echoarb.venues.market_model import MarketModel

        pairs = load_pairs_config(settings_from_args(args))
        common["model"] = MarketModel(pairs, seed=args.seed, cross_every_s=args.cross_every)
    if args.venue == "kalshi":
        from echoarb.venues.kalshi.auth import load_public_key
        from echoarb.venues.kalshi.simulator import KalshiSimulator

        try:
            public_key = load_public_key(args.public_key)
        except (OSError, ValueError) as exc:
            raise CliError(
                f"cannot read the Kalshi public key {args.public_key}: {exc} "
                "(make a key pair with `echoarb keys`, or pass --public-key)"
            ) from None
        sim: Any = KalshiSimulator(public_key, [scenario], **common)
    elif args.venue == "polymarket":
        from echoarb.venues.polymarket.simulator import PolymarketSimulator

        sim = PolymarketSimulator([scenario], markets=_polymarket_markets(args), **common)
    else:
        from echoarb.venues.manifold.simulator import ManifoldSimulator

        sim = ManifoldSimulator([scenario], **common)

    async def run() -> None:
        await sim.start(args.host, args.port)
        env = {"kalshi": "KALSHI_WS_URL", "polymarket": "POLYMARKET_WS_URL", "manifold": "MANIFOLD_WS_URL"}
        hint = f"{env[args.venue]}=ws://{args.host}:{sim.port}{sim.ws_path}"
        http = f"http://{args.host}:{sim.port}"
        if args.venue == "manifold":
            hint += f" MANIFOLD_API_URL={http}/v0"
        elif args.venue == "kalshi":
            hint += f" KALSHI_API_URL={http}/trade-api/v2"
        else:
            hint += f" POLYMARKET_GAMMA_URL={http} POLYMARKET_CLOB_URL={http}"
        print(
            f"{args.venue} simulator on {args.host}:{sim.port}; export {hint} (Ctrl-C stops it)", flush=True
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await sim.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0


def _polymarket_markets(args: argparse.Namespace) -> list[list[str]]:
    """--market: each configured token with its NO token as one Gamma market, as Gamma lists them.

    A binary market always has two tokens; a pair that names only the YES token gets a made-up
    NO one, so REST answers (``/markets?clob_token_ids=``, read by ingest and ``echoarb
    discover --check``) have the venue's shape.
    """
    if not args.market:
        return []
    from echoarb.cli.common import load_pairs_config, settings_from_args
    from echoarb.venues.sim_listing import no_token

    markets = []
    for pair in load_pairs_config(settings_from_args(args)).pairs:
        for _, ref in pair.refs():
            if ref.venue == "polymarket":
                # not a configured token; the same one the discovery listing shows (sim_listing)
                no = ref.no_instrument or no_token(ref.instrument)
                markets.append([ref.instrument, no])
    return markets


def add_live_commands(sub: Any) -> None:
    from echoarb.cli.common import described

    p = sub.add_parser(
        "ingest",
        help="run the live venue connectors and publish tick batches to Kafka",
        **described(
            "Connect to the venues named in the pairs config (WebSocket, plus REST market metadata at "
            "start-up and every VENUE_METADATA_REFRESH_S, and Polymarket /book snapshots on resync), "
            "normalise every frame and publish Avro tick batches to ticks.<venue>. Reconnects with "
            "backoff, a circuit breaker per venue, heartbeat timeouts. Without KALSHI_API_KEY and "
            "KALSHI_PRIVATE_KEY_PATH, Kalshi runs public-only (ticker top of book, never executable). "
            "Kafka is KAFKA_BOOTSTRAP (unset: an embedded broker for the run). Ctrl-C stops it.",
            [
                "KAFKA_BOOTSTRAP=kafka:9092 echoarb ingest --metrics-port 9109",
                "echoarb ingest --venue polymarket --venue manifold --record live.jsonl --duration 600",
                "KALSHI_API_KEY=<key id> KALSHI_PRIVATE_KEY_PATH=keys/kalshi.pem "
                "echoarb ingest --venue kalshi",
            ],
        ),
    )
    p.add_argument("--pairs", help="market pairs file (default: PAIRS_FILE or config/market_pairs.json)")
    p.add_argument(
        "--venue", action="append", choices=VENUES, help="only this venue (repeatable; default: every venue)"
    )
    p.add_argument("--record", help="also write every received frame to this recording (JSON Lines)")
    p.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve Prometheus /metrics and /health on this port (default: none)",
    )
    p.add_argument("--metrics-addr", default="127.0.0.1", help="metrics bind address (default 127.0.0.1)")
    p.add_argument(
        "--duration", type=float, default=None, help="stop after N seconds (default: until Ctrl-C)"
    )
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser(
        "keys",
        help="generate an RSA key pair for the Kalshi API",
        **described(
            "Write a new 2048-bit RSA key pair for Kalshi's API keys: the private key (mode 600) and "
            "the public key to upload to Kalshi, which shows the key id to put in KALSHI_API_KEY. "
            "Refuses to overwrite an existing key.",
            ["echoarb keys", "echoarb keys --dir /etc/echoarb --name kalshi-prod"],
        ),
    )
    p.add_argument("--dir", default="keys", help="output directory (default keys/)")
    p.add_argument("--name", default="kalshi", help="file name stem (default kalshi)")
    p.set_defaults(func=cmd_keys)

    p = sub.add_parser(
        "simulate",
        help="run a local venue simulator speaking the venue's real protocol",
        **described(
            "A local server speaking one venue's real protocol, WebSocket feed and the REST paths "
            "ingest reads, for tests and demos; it prints the variables that point ingest at it. "
            "Scenario steps (comma separated): updates:N, stream, gap, malformed, disconnect, close, "
            "stall[:S], wait:S. With --market the books follow the pairs' moving fair prices and cross "
            "now and then (what `echoarb up --simulate` runs). The Kalshi one checks signed upgrades "
            "with --public-key (make a pair with `echoarb keys`) and serves the public channels "
            "unsigned.",
            [
                "echoarb simulate --venue polymarket --port 8765 --market",
                "echoarb simulate --venue kalshi --scenario updates:20,gap,stream "
                "--public-key keys/kalshi.pub.pem",
            ],
        ),
    )
    p.add_argument("--venue", required=True, choices=VENUES)
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: a free one, printed)")
    p.add_argument("--scenario", default="stream", help="scenario steps (default: stream, updates forever)")
    p.add_argument("--interval", type=float, default=0.2, help="seconds between updates (default 0.2)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument(
        "--public-key",
        default="keys/kalshi.pub.pem",
        help="(kalshi) public key to verify signatures with "
        "(default keys/kalshi.pub.pem, from `echoarb keys`)",
    )
    p.add_argument(
        "--market",
        action="store_true",
        help="books follow moving fair prices of the pairs in --pairs that now and then cross "
        "(simulators started with the same --seed agree)",
    )
    p.add_argument("--pairs", help="market pairs file for --market (default: PAIRS_FILE)")
    p.add_argument(
        "--cross-every",
        type=float,
        default=15.0,
        help="--market: seconds between dislocations per pair (default 15)",
    )
    p.set_defaults(func=cmd_simulate)
