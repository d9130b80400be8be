"""Paper trading: the backtest's simulation on the live streams (pure; I/O in services/paper.py).

The paper trader reads what a running pipeline publishes: the tick topics (the books) and the
spreads topic (the signals). It keeps the ticks on the merge clock (their ``recv_ts``, see
``echoarb.backtest.books``) and finds each executable spread event's trigger tick exactly, by
its id (``spread_id(opportunity, trigger)``), so its signal time and limit prices are the
backtest's. A trade is simulated once the clock has passed every order of it; the clock is
the newest tick's ``recv_ts`` plus the wall time since that tick arrived, so trades complete
on a quiet market too. Opportunities are episodes, taken once, as in the backtest.

No order ever leaves the process: the trades are simulations, written to ClickHouse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from echoarb.backtest.books import BookTimeline
from echoarb.backtest.fills import Fees
from echoarb.backtest.run import BacktestConfig
from echoarb.backtest.scan import leg_limits
from echoarb.backtest.trade import Signal, Trade, simulate
from echoarb.model import SpreadEvent, Tick
from echoarb.scan.merge import VENUE_RANK
from echoarb.wire.records import spread_id

#: A signal whose trigger tick has not been read after this long (merge clock) is dropped.
TRIGGER_WAIT_MS = 30_000
#: How far back (ticks of the pair) the trigger is looked for.
TRIGGER_SEARCH = 5_000
#: Ticks older than this behind the clock (and the oldest pending signal) are forgotten.
RETENTION_MS = 300_000

TRADE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_id", "LowCardinality(String)"),
    ("signal_id", "String"),
    ("pair_id", "LowCardinality(String)"),
    ("key", "String"),
    ("signal_ts", "DateTime64(3, 'UTC')"),
    ("done_ts", "DateTime64(3, 'UTC')"),
    ("reported_size", "Decimal(18, 6)"),
    ("reported_profit", "Decimal(18, 6)"),
    ("sets", "Decimal(18, 6)"),
    ("unwound", "Decimal(18, 6)"),
    ("residual", "Decimal(18, 6)"),
    ("mark", "Decimal(18, 6)"),
    ("outlay", "Decimal(18, 6)"),
    ("fees", "Decimal(18, 6)"),
    ("pnl", "Decimal(18, 6)"),
    ("fully_filled", "Bool"),
    ("one_legged", "Bool"),
    ("latency", "String"),
    ("policy", "LowCardinality(String)"),
    ("legs", "LowCardinality(String)"),
)
ORDER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_id", "LowCardinality(String)"),
    ("signal_id", "String"),
    ("pair_id", "LowCardinality(String)"),
    ("ts", "DateTime64(3, 'UTC')"),
    ("purpose", "LowCardinality(String)"),
    ("venue", "LowCardinality(String)"),
    ("side", "LowCardinality(String)"),
    ("outcome", "LowCardinality(String)"),
    ("qty", "Decimal(18, 6)"),
    ("limit_price", "Nullable(Decimal(18, 6))"),
    ("filled", "Decimal(18, 6)"),
    ("notional", "Decimal(18, 6)"),
    ("fees", "Decimal(18, 6)"),
    ("reason", "String"),
)


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _money(value: Decimal) -> Decimal:
    """Decimal(18, 6) columns: exact figures have at most 6 places (fees 4, prices 2-4)."""
    return value.quantize(Decimal("0.000001"))


@dataclass(slots=True)
class _Pending:
    event: SpreadEvent
    seen_at: int  # clock when the event was read
    signal: Signal | None = None


@dataclass
class PaperCounts:
    ticks: int = 0
    spreads: int = 0
    signals: int = 0  # executable spread events
    opportunities: int = 0  # episodes started
    trades: int = 0
    dropped: int = 0  # trigger never seen
    realised: Decimal = Decimal(0)
    reported: Decimal = Decimal(0)


@dataclass
class PaperTrader:
    """Ticks and spread events in (``on_tick``, ``on_spread``), finished trades out (``due``)."""

    config: BacktestConfig
    fees: Fees
    timeline: BookTimeline = field(default_factory=BookTimeline)
    counts: PaperCounts = field(default_factory=PaperCounts)

    def __post_init__(self) -> None:
        self._open: set[str] = set()  # keys in an executable episode
        self._pending: list[_Pending] = []
        self._by_pair: dict[str, list[Tick]] = {}
        self._pruned_upto = -(2**62)

    def on_tick(self, tick: Tick) -> None:
        self.timeline.add(tick)
        self._by_pair.setdefault(tick.pair_id, []).append(tick)
        self.counts.ticks += 1

    def on_spread(self, event: SpreadEvent, clock: int) -> None:
        opp = event.opportunity
        self.counts.spreads += 1
        if not opp.executable:
            self._open.discard(opp.key)
            return
        self.counts.signals += 1
        if opp.key in self._open:
            return  # a change within the episode: counted, not traded again
        self._open.add(opp.key)
        self.counts.opportunities += 1
        if opp.net_profit >= self.config.min_profit:
            self._pending.append(_Pending(event, clock))

    def _signal(self, event: SpreadEvent) -> Signal | None:
        """The signal with its trigger time and limits, once the trigger tick has been read."""
        opp = event.opportunity
        ticks = self._by_pair.get(opp.pair_id, [])
        for tick in reversed(ticks[-TRIGGER_SEARCH:]):
            position = (tick.recv_ts, VENUE_RANK[tick.venue], tick.seq)
            if spread_id(opp, position) != event.id:
                continue
            quotes: dict[str, Tick] = {}
            for leg in opp.legs:
                quote = self._quote_at(opp.pair_id, leg.venue, leg.outcome, position)
                if quote is None:
                    return None
                quotes[f"{leg.venue}|{leg.outcome}" if leg.outcome else leg.venue] = quote
            try:
                limits = leg_limits(opp, quotes)
            except ValueError:
                return None
            return Signal(event.id, opp, limits, tick.recv_ts)
        return None

    def _quote_at(
        self, pair_id: str, venue: str, outcome: str, position: tuple[int, int, int]
    ) -> Tick | None:
        """The leg's quote as the scanner held it when the trigger tick was applied."""
        for tick in reversed(self._by_pair.get(pair_id, [])):
            if tick.venue != venue or tick.outcome != outcome:
                continue
            if (tick.recv_ts, VENUE_RANK[tick.venue], tick.seq) <= position:
                return tick
        return None

    def due(self, clock: int, *, final: bool = False) -> list[Trade]:
        """Trades whose every order the clock has passed (``final``: all that can be simulated)."""
        done: list[Trade] = []
        keep: list[_Pending] = []
        strategy = self.config.strategy
        for item in self._pending:
            if item.signal is None:
                item.signal = self._signal(item.event)
                if item.signal is None:
                    if final or clock - item.seen_at > TRIGGER_WAIT_MS:
                        self.counts.dropped += 1
                    else:
                        keep.append(item)
                    continue
            trade = simulate(item.signal, self.timeline, self.config.latency.draw, strategy, clock, self.fees)
            if trade.done_ts > clock and not final:
                keep.append(item)
                continue
            done.append(trade)
            self.counts.trades += 1
            self.counts.realised += trade.pnl
            self.counts.reported += item.signal.opportunity.net_profit
        self._pending = keep
        self._prune(clock)
        return done

    def _prune(self, clock: int) -> None:
        horizon = min([clock, *(p.seen_at for p in self._pending)]) - RETENTION_MS
        if horizon <= self._pruned_upto + RETENTION_MS // 10:
            return
        self._pruned_upto = horizon
        self.timeline.prune(horizon)
        for pair_id, ticks in self._by_pair.items():
            old = 0
            while old < len(ticks) - 1 and ticks[old].recv_ts < horizon:
                old += 1
            if old:
                self._by_pair[pair_id] = ticks[old:]

    @property
    def pending(self) -> int:
        return len(self._pending)


def trade_rows(run_id: str, trades: Sequence[Trade], config: BacktestConfig) -> list[tuple[Any, ...]]:
    """``paper_trades`` rows (``TRADE_COLUMNS``)."""
    rows: list[tuple[Any, ...]] = []
    for t in trades:
        opp = t.signal.opportunity
        rows.append(
            (
                run_id,
                t.signal.id,
                opp.pair_id,
                opp.key,
                _time(t.signal.ts),
                _time(t.done_ts),
                _money(opp.size),
                _money(opp.net_profit),
                _money(t.sets),
                _money(t.unwound),
                _money(sum(t.residual, Decimal(0))),
                _money(t.mark),
                _money(t.outlay),
                _money(t.fees),
                _money(t.pnl),
                t.fully_filled,
                t.one_legged,
                config.latency.describe(),
                config.strategy.policy,
                config.strategy.leg_order,
            )
        )
    return rows


def order_rows(run_id: str, trades: Sequence[Trade]) -> list[tuple[Any, ...]]:
    """``paper_orders`` rows (``ORDER_COLUMNS``): every order sent (marks are not orders)."""
    rows: list[tuple[Any, ...]] = []
    for t in trades:
        for fill in t.orders:
            o = fill.order
            rows.append(
                (
                    run_id,
                    t.signal.id,
                    t.signal.opportunity.pair_id,
                    _time(o.ts),
                    o.purpose,
                    o.venue,
                    o.side,
                    o.outcome,
                    _money(o.qty),
                    None if o.limit is None else _money(o.limit),
                    _money(fill.filled),
                    _money(fill.notional),
                    _money(fill.fees),
                    fill.reason,
                )
            )
    return rows
