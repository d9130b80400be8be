"""The figures of a backtest: per pair and in total, the decay curve, lifetimes, capital.

Money stays exact (``Decimal``); only the annualised return, a display figure computed
with a power, is a float. Definitions (docs/backtest.md):

- *seen*: opportunities (episodes); *taken*: those traded (not under ``--min-profit``);
  *fully filled*: every entry order got the whole reported size.
- *reported*: the scanner's ``net_profit`` of the taken signals; *realised*: the simulated
  P&L after fees, one-legged positions repaired by the policy or marked at the end.
- *one-legged*: the entry orders filled unequal sizes; its *cost* is what those trades
  realised below what was reported for them.
- *decay*: at each delay (every venue's latency set to it), the share of taken
  opportunities still fully fillable at the reported limits, and the realised P&L per
  reported contract.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from statistics import median
from typing import Any

from echoarb.backtest.run import BacktestResult
from echoarb.backtest.trade import Trade
from echoarb.model import ZERO

SHARE_QUANTUM = Decimal("0.0001")
EDGE_QUANTUM = Decimal("0.000001")
DAY_MS = 86_400_000


def _d(value: Decimal) -> str:
    """Exact text of a money figure without trailing zeros (0 for any zero)."""
    return format(value.normalize(), "f") if value else "0"


@dataclass
class PairFigures:
    """Counts and money of one pair (or of all pairs: ``pair_id`` "*")."""

    pair_id: str
    signals: int = 0
    seen: int = 0
    taken: int = 0
    filled_any: int = 0
    fully_filled: int = 0
    one_legged: int = 0
    reported: Decimal = ZERO
    realised: Decimal = ZERO
    one_legged_realised: Decimal = ZERO
    one_legged_reported: Decimal = ZERO
    fees: Decimal = ZERO
    capital: Decimal = ZERO
    lifetimes_ms: list[int] = field(default_factory=list)
    trade_ts: list[int] = field(default_factory=list)

    @property
    def one_legged_cost(self) -> Decimal:
        """How far the one-legged trades fell short of what was reported for them (>= 0 is a loss)."""
        return self.one_legged_reported - self.one_legged_realised

    def add_trade(self, trade: Trade) -> None:
        opp = trade.signal.opportunity
        self.taken += 1
        self.reported += opp.net_profit
        self.realised += trade.pnl
        self.fees += trade.fees
        self.capital += trade.outlay
        self.trade_ts.append(trade.signal.ts)
        if trade.filled_any:
            self.filled_any += 1
        if trade.fully_filled:
            self.fully_filled += 1
        if trade.one_legged:
            self.one_legged += 1
            self.one_legged_realised += trade.pnl
            self.one_legged_reported += opp.net_profit

    def annualised(self, resolution_ts: int | None) -> float | None:
        """Return on capital per year if held to ``resolution_ts`` (None: unknown or no capital)."""
        if resolution_ts is None or not self.capital or not self.trade_ts:
            return None
        held_ms = resolution_ts - sum(self.trade_ts) / len(self.trade_ts)
        if held_ms <= 0:
            return None
        ratio = float(self.realised / self.capital)
        if ratio <= -1:
            return -1.0
        return float((1 + ratio) ** (365 * DAY_MS / held_ms) - 1)

    def to_json(self, resolution_ts: int | None = None) -> dict[str, Any]:
        lifetimes = sorted(self.lifetimes_ms)
        return {
            "pair_id": self.pair_id,
            "signals": self.signals,
            "seen": self.seen,
            "taken": self.taken,
            "filled_any": self.filled_any,
            "fully_filled": self.fully_filled,
            "one_legged": self.one_legged,
            "reported_profit": _d(self.reported),
            "realised_pnl": _d(self.realised),
            "fees": _d(self.fees),
            "one_legged_pnl": _d(self.one_legged_realised),
            "one_legged_cost": _d(self.one_legged_cost),
            "capital": _d(self.capital),
            "lifetime_ms": {
                "min": lifetimes[0] if lifetimes else None,
                "median": median(lifetimes) if lifetimes else None,
                "max": lifetimes[-1] if lifetimes else None,
            },
            "resolution_ts": resolution_ts,
            "annualised_return": self.annualised(resolution_ts),
        }


@dataclass(frozen=True, slots=True)
class DecayPoint:
    delay_ms: int
    trades: int
    takeable: int
    share: Decimal
    realised: Decimal
    edge: Decimal  # realised P&L per reported contract

    def to_json(self) -> dict[str, Any]:
        return {
            "delay_ms": self.delay_ms,
            "trades": self.trades,
            "takeable": self.takeable,
            "share_takeable": _d(self.share),
            "realised_pnl": _d(self.realised),
            "realised_edge": _d(self.edge),
        }


def decay_point(delay_ms: int, trades: Iterable[Trade]) -> DecayPoint:
    trades = list(trades)
    takeable = sum(1 for t in trades if t.fully_filled)
    realised = sum((t.pnl for t in trades), ZERO)
    size = sum((t.signal.opportunity.size for t in trades), ZERO)
    share = (Decimal(takeable) / len(trades)).quantize(SHARE_QUANTUM) if trades else ZERO
    edge = (realised / size).quantize(EDGE_QUANTUM) if size else ZERO
    return DecayPoint(delay_ms, len(trades), takeable, share, realised, edge)


@dataclass
class Summary:
    total: PairFigures
    pairs: dict[str, PairFigures]
    decay: list[DecayPoint]
    resolutions: Mapping[str, int]
    frames: int
    ticks: int
    parse_errors: int
    spreads: int

    def to_json(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "ticks": self.ticks,
            "rejected_frames": self.parse_errors,
            "spread_events": self.spreads,
            "total": self.total.to_json(),
            "pairs": [self.pairs[p].to_json(self.resolutions.get(p)) for p in sorted(self.pairs)],
            "decay": [point.to_json() for point in self.decay],
        }


def summarise(result: BacktestResult) -> Summary:
    """Sum a backtest up per pair and in total."""
    total = PairFigures("*")
    pairs: dict[str, PairFigures] = {}
    for item in result.taken:
        episode = item.episode
        figures = pairs.get(episode.pair_id)
        if figures is None:
            figures = pairs[episode.pair_id] = PairFigures(episode.pair_id)
        for f in (figures, total):
            f.signals += 1 + episode.updates
            f.seen += 1
            f.lifetimes_ms.append(episode.lifetime_ms)
            if item.trade is not None:
                f.add_trade(item.trade)
    decay = [decay_point(delay, trades) for delay, trades in sorted(result.decay.items())]
    return Summary(
        total,
        pairs,
        decay,
        result.config.resolutions,
        result.frames,
        result.ticks,
        result.parse_errors,
        result.spreads,
    )
