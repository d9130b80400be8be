"""``echoarb backtest``: would the reported edges have made money? (docs/backtest.md)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import textwrap
import time
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from echoarb.cli.common import CliError, checked_recording, load_pairs_config, settings_from_args
from echoarb.resources import SAMPLE_RECORDING

log = logging.getLogger("echoarb")

DEFAULT_LATENCY = "kalshi=150ms,polymarket=300ms"

EPILOG = """\
latency (--latency): comma-separated [VENUE=]DIST items; DIST is a duration (150ms, 0.3s),
  normal:MEAN:SD or uniform:LOW:HIGH; an item without VENUE= sets every venue. Draws are
  seeded (--seed): the same run gives the same fills.
  e.g. --latency kalshi=150ms,polymarket=300ms   --latency normal:150ms:40ms,polymarket=400ms

legs (--legs): simultaneous sends every leg at the signal; listed, fastest-first, slowest-first,
  kalshi-first, polymarket-first send one leg after the other, each sized to the fills so far.
policy (--policy), when the legs fill unequal sizes: hedge buys the missing contracts at
  market, unwind closes the excess at market, hold keeps it (marked at the end).

outputs (in --out): summary.json, trades.csv (every order), report.md with funnel.png,
  pnl_by_pair.png, decay.png and lifetimes.png.

paper trading (--paper): the same simulation live, on the topics of a running pipeline
  (`echoarb up`, or ingest + worker): KAFKA_BOOTSTRAP must point at its broker. Nothing is ever
  sent to a venue; a live order path is out of scope.

examples:
  echoarb backtest                                   # the bundled sample
  echoarb backtest rec.jsonl --pairs pairs.json --latency normal:200ms:50ms --policy hedge
  echoarb backtest rec.jsonl --legs kalshi-first --decay 0,250,500,1000,2000,5000 --out report/
  KAFKA_BOOTSTRAP=127.0.0.1:9092 echoarb backtest --paper --latency normal:200ms:50ms
"""


def _delays(text: str) -> tuple[int, ...]:
    from echoarb.backtest.latency import LatencyError, parse_duration

    try:
        values = sorted({round(parse_duration(part)) for part in text.split(",") if part.strip()})
    except LatencyError as exc:
        raise CliError(f"--decay: {exc}") from None
    if not values:
        raise CliError("--decay: no delays given")
    return tuple(values)


def _resolutions(items: list[str] | None, known: set[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items or []:
        for part in item.split(","):
            pair_id, eq, date = part.strip().partition("=")
            if not eq:
                raise CliError(f"--resolves: expected PAIR=YYYY-MM-DD, got {part!r}")
            if pair_id not in known:
                raise CliError(f"--resolves: unknown pair {pair_id!r}")
            try:
                when = datetime.fromisoformat(date)
            except ValueError:
                raise CliError(f"--resolves: {date!r} is not a date (YYYY-MM-DD)") from None
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            out[pair_id] = int(when.timestamp() * 1000)
    return out


class _Progress:
    """One line on stderr every couple of seconds (long recordings), nothing on short ones."""

    def __init__(self, total: int, every_s: float = 2.0) -> None:
        self.total = total
        self.every_s = every_s
        self.started = time.monotonic()
        self._next = self.started + every_s
        self.shown = False

    def frames(self, done: int) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self.every_s
        rate = done / (now - self.started)
        pct = 100 * done / self.total if self.total else 100.0
        print(f"backtest: {done:,}/{self.total:,} frames ({pct:.0f}%), {rate:,.0f} frames/s", file=sys.stderr)
        self.shown = True

    def trades(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now < self._next and done < total:
            return
        if done >= total and not self.shown:
            return
        self._next = now + self.every_s
        print(f"backtest: simulated {done:,}/{total:,} trades", file=sys.stderr)
        self.shown = True


def cmd_backtest(args: argparse.Namespace) -> int:
    from echoarb.backtest.latency import LatencyError, LatencyModel
    from echoarb.backtest.report import render_text, write_report
    from echoarb.backtest.run import Backtest, BacktestConfig
    from echoarb.backtest.stats import summarise
    from echoarb.backtest.trade import Strategy
    from echoarb.venues.recording import read_recording
    from echoarb.wire.records import spread_record_to_json, spread_to_record

    settings = settings_from_args(args)
    pairs = load_pairs_config(settings)
    try:
        latency = LatencyModel.parse(args.latency, seed=args.seed)
    except LatencyError as exc:
        raise CliError(f"--latency: {exc}") from None
    try:
        min_profit = Decimal(args.min_profit)
    except InvalidOperation:
        raise CliError(f"--min-profit: {args.min_profit!r} is not a number") from None
    config = BacktestConfig(
        strategy=Strategy(args.legs, args.policy),
        latency=latency,
        decay_delays_ms=_delays(args.decay),
        min_profit=min_profit,
        resolutions=_resolutions(args.resolves, {p.id for p in pairs.pairs}),
    )
    if args.paper:
        return _paper(args, settings, pairs, config)
    recording = Path(args.recording)
    good, bad = checked_recording(recording, args.skip_bad_lines)
    out_dir = Path(args.out) if args.out else settings.data_dir / "backtest"

    progress = _Progress(good)
    backtest = Backtest(settings, pairs)

    async def feed() -> None:
        for frames, frame in enumerate(read_recording(recording, on_bad=lambda _: None), start=1):
            await backtest.feed(frame)
            if not frames % 2048:
                progress.frames(frames)
        await backtest.finish()

    started = time.monotonic()
    asyncio.run(feed())
    scan_s = time.monotonic() - started
    result = backtest.evaluate(config, on_progress=progress.trades)
    seconds = time.monotonic() - started
    summary = summarise(result)

    if args.spreads_out:
        path = Path(args.spreads_out)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fp:
            for item in backtest.scan.sorted_events():
                event = spread_record_to_json(spread_to_record(item.event))
                fp.write(json.dumps(event, separators=(",", ":")) + "\n")
    files = write_report(summary, result, out_dir, recording=str(recording), seconds=seconds)

    print(render_text(summary, result, seconds))
    print()
    print(
        f"scan {scan_s:.2f}s ({result.frames / scan_s:,.0f} frames/s), simulation {seconds - scan_s:.2f}s"
        + (f"; {len(bad)} bad lines skipped" if bad else "")
    )
    print(f"report: {files.markdown} (summary.json, trades.csv" + (", charts" if files.charts else "") + ")")
    if files.charts_missing:
        print(f"note: {files.charts_missing}")
    if args.spreads_out:
        print(f"spread events written to {args.spreads_out}")
    return 0


def _paper(args: argparse.Namespace, settings: Any, pairs: Any, config: Any) -> int:
    """Paper trading on a running pipeline's topics (no orders, ever): trades into ClickHouse."""
    import contextlib
    import uuid

    from echoarb.cli.common import wait_for_cluster
    from echoarb.kafka import client_config
    from echoarb.services.paper import PaperSession
    from echoarb.sink.client import SinkError, connect
    from echoarb.sink.migrate import MigrationError, migrate
    from echoarb.wire.codec import load_codecs

    if not settings.kafka_bootstrap:
        raise CliError(
            "--paper reads a running pipeline's topics: set KAFKA_BOOTSTRAP (for `echoarb up`'s embedded "
            "broker also ECHOARB_EMBEDDED_BROKER=1, and another DATA_DIR or CLICKHOUSE_URL)"
        )
    wait_for_cluster(settings)
    try:
        client = connect(settings)
        migrate(client, settings.clickhouse_database)
    except (SinkError, MigrationError) as exc:
        raise CliError(str(exc)) from None
    run_id = args.run_id or f"paper-{uuid.uuid4().hex[:10]}"

    def on_trade(trade: Any) -> None:
        opp = trade.signal.opportunity
        legs = " + ".join(
            f"{o.order.purpose} {o.order.venue} {o.order.side} {_num(o.filled)}" for o in trade.orders
        )
        print(
            f"  paper  {opp.pair_id:<28} reported {_num(opp.net_profit):>9}  "
            f"realised {_num(trade.pnl):>9}  {legs}",
            flush=True,
        )

    session = PaperSession(
        settings,
        pairs,
        config,
        client,
        bootstrap=settings.kafka_bootstrap,
        codecs=load_codecs(settings.schema_registry_url),
        consumer_kwargs=client_config.consumer(settings.embedded_broker, settings),
        run_id=run_id,
        from_beginning=args.from_beginning,
        on_trade=on_trade,
        max_trades=args.paper_trades,
    )
    print(
        f"paper trading {run_id} on {settings.kafka_bootstrap} (no orders are ever sent): "
        f"{describe(config)}; trades into ClickHouse paper_trades / paper_orders / paper_positions",
        flush=True,
    )

    async def run() -> None:
        task = asyncio.create_task(session.run())
        if args.paper_seconds:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), args.paper_seconds)
            session.stop.set()
        await task

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    c = session.trader.counts
    print(
        f"paper {run_id}: {session.report.records} records, {c.spreads} spread events, "
        f"{c.opportunities} opportunities, {c.trades} trades ({c.dropped} without their quotes, "
        f"{session.trader.pending} pending); reported {_num(c.reported)}, realised {_num(c.realised)}"
    )
    return 0


def _num(value: Decimal) -> str:
    """Exact decimal text without exponent or trailing zeros (values decoded from micros)."""
    return format(value.normalize(), "f") if value else "0"


def describe(config: Any) -> str:
    c = config
    return (
        f"latency {c.latency.describe()}, legs {c.strategy.leg_order}, one-legged fills: {c.strategy.policy}"
    )


def add_backtest_commands(sub: Any) -> None:
    """Register ``backtest`` on the main parser's subparsers."""
    from echoarb.backtest.trade import LEG_ORDERS, POLICIES

    p = sub.add_parser(
        "backtest",
        help="take every executable opportunity of a recording after a latency: realised P&L, decay",
        description=textwrap.fill(
            "Run a recording in-process through the same parsers, books and edge engine as the Kafka "
            "path (no broker), take every executable opportunity with immediate-or-cancel orders at "
            "its limit prices against the books as they were after each venue's latency, and report "
            "what was really made: seen vs taken vs fully filled, realised vs reported profit after "
            "fees, one-legged fills, edge decay by delay and opportunity lifetimes per pair. "
            "Deterministic: the same inputs give the same numbers.",
            88,
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "recording", nargs="?", default=str(SAMPLE_RECORDING), help="recording (default: bundled sample)"
    )
    p.add_argument("--pairs", help="market pairs file (default: PAIRS_FILE or config/market_pairs.json)")
    p.add_argument(
        "--latency", default=DEFAULT_LATENCY, help=f"order latency per venue (default: {DEFAULT_LATENCY})"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of latency draws (default: 0)")
    p.add_argument(
        "--legs",
        choices=LEG_ORDERS,
        default="simultaneous",
        metavar="ORDER",
        help=f"leg order: {', '.join(LEG_ORDERS)} (default: simultaneous)",
    )
    p.add_argument(
        "--policy", choices=POLICIES, default="unwind", help="when legs fill unequal sizes (default: unwind)"
    )
    p.add_argument(
        "--decay",
        default="0,100,250,500,750,1000,1500,2000,3000,4000,5000",
        help="delays of the edge-decay curve, comma-separated (default: 0 to 5s)",
    )
    p.add_argument(
        "--min-profit",
        default="0",
        help="take only opportunities reporting at least this net profit ($; default 0: every one)",
    )
    p.add_argument(
        "--resolves",
        action="append",
        metavar="PAIR=YYYY-MM-DD",
        help="a pair's resolution date (repeatable or comma-separated): capital locked, annualised return",
    )
    p.add_argument("--out", help="report directory (default: DATA_DIR/backtest)")
    p.add_argument("--spreads-out", help="also write the spread events as JSON Lines (as `replay --out`)")
    p.add_argument(
        "--skip-bad-lines",
        action="store_true",
        help="skip and count unreadable recording lines instead of refusing the recording",
    )
    g = p.add_argument_group("paper trading (live, no orders ever sent)")
    g.add_argument(
        "--paper",
        action="store_true",
        help="simulate on a running pipeline's tick and spreads topics (KAFKA_BOOTSTRAP) instead of a "
        "recording; trades and orders go to ClickHouse (paper_trades, paper_orders, paper_positions)",
    )
    g.add_argument(
        "--from-beginning", action="store_true", help="read the topics from the start (default: live)"
    )
    g.add_argument(
        "--paper-seconds", type=float, default=0, help="stop after N seconds (default: until Ctrl-C)"
    )
    g.add_argument("--paper-trades", type=int, default=0, help="stop after N trades (default: never)")
    g.add_argument("--run-id", help="name of this paper session in the tables (default: paper-<random>)")
    p.set_defaults(func=cmd_backtest)
