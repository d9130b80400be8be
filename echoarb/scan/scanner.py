"""The per-partition processor: released ticks in, spread events and closed windows out.

Pure (no Kafka, no Faust): the stream worker feeds it merged ticks and persists each
``PairState`` (``echoarb.scan.state``) in a changelog-backed table, so it can be tested and benchmarked
without a broker and rebuilt after a restart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from echoarb.construct import positional
from echoarb.model import ONE, ClosedWindow, Opportunity, Tick
from echoarb.pairs import MarketPair
from echoarb.scan.edge.binary import WalkCache, evaluate_binary
from echoarb.scan.edge.categorical import evaluate_basket
from echoarb.scan.edge.fees import DEFAULT_POLICY, FeePolicy, fee_model
from echoarb.scan.edge.incremental import IncrementalBinary
from echoarb.scan.edge.walk import first_unit
from echoarb.scan.merge import VENUE_RANK
from echoarb.scan.state import OpportunitySummary, PairState, WindowSummary, decode_state
from echoarb.scan.windows import PairWindows
from echoarb.settings import Settings


@dataclass(frozen=True, slots=True)
class ScanParams:
    min_edge: Decimal = Decimal(0)
    max_quote_age_ms: int = 30_000
    tumbling_ms: int = 60_000
    hopping_ms: int = 300_000
    hopping_step_ms: int = 60_000
    window_grace_ms: int = 5_000
    fees: FeePolicy = DEFAULT_POLICY  # the account's Kalshi fee rounding (Settings)


def scan_params(settings: Settings) -> ScanParams:
    """The scan parameters the settings describe: one mapping for the worker and the backtest."""
    return ScanParams(
        min_edge=settings.min_edge,
        max_quote_age_ms=settings.max_quote_age_ms,
        tumbling_ms=settings.window_tumbling_s * 1000,
        hopping_ms=settings.window_hopping_s * 1000,
        hopping_step_ms=settings.window_hopping_step_s * 1000,
        fees=FeePolicy(settings.kalshi_fee_rounding, settings.kalshi_account_precision),
    )


RECENT_WINDOWS = 12

_summary: Callable[[str, str, str, str, bool, int], OpportunitySummary] = positional(OpportunitySummary)


def _first_units(tick: Tick, exponent: int, policy: FeePolicy) -> tuple[Decimal | None, Decimal | None]:
    """All-in unit cost of the first level a walk would take on each side (None: empty side)."""
    model = fee_model(tick.venue, tick.fee_rate, exponent, policy)
    return first_unit(tick.yes_asks, model), first_unit(tick.no_asks, model)


def fee_exponents(pair: MarketPair) -> dict[tuple[str, str], int]:
    """(outcome, venue) -> the pair's configured fee exponent, for the venues that set one."""
    return {(outcome, ref.venue): ref.fee_exponent for outcome, ref in pair.refs() if ref.fee_exponent != 1}


def load_state(pair_id: str, params: ScanParams, saved: bytes | None = None) -> PairState:
    """A pair's state with the configured windows, restored from its table value if any."""
    state = PairState(
        pair_id,
        windows=[
            PairWindows("tumbling", params.tumbling_ms, params.tumbling_ms),
            PairWindows("hopping", params.hopping_ms, params.hopping_step_ms),
        ],
    )
    if saved:
        state.restore(decode_state(saved))
    return state


#: Reads a pair's table value (``encode_state`` bytes), None when the pair has none yet.
StateLoader = Callable[[str], bytes | None]


class PartitionScanner:
    """Scans the pairs of one partition. ``load`` fetches a saved state (table) on first use.

    Binary pairs are evaluated incrementally (``echoarb.scan.edge.incremental``): a tick
    re-walks only the directions whose ladders it changed, and opportunities are built only
    for the results emitted. ``reference=True`` evaluates every direction from scratch with
    ``evaluate_binary`` instead: the same outputs, kept as the baseline of
    ``bench/edge_engine.py`` and of the differential tests.
    """

    def __init__(
        self,
        pairs: dict[str, MarketPair],
        params: ScanParams,
        load: StateLoader | None = None,
        *,
        reference: bool = False,
    ) -> None:
        self.pairs = pairs
        self.params = params
        self._load = load
        self.states: dict[str, PairState] = {}
        self.clock = 0  # newest event time processed on this partition
        self._closed_upto = -(2**62)
        self.dirty: set[str] = set()
        self.late_window_events = 0
        self.reapplied = 0
        self.unknown_pairs = 0
        self.skipped = 0  # ticks that provably could not change any result (not evaluated)
        self._limit = ONE - params.min_edge
        # (pair id, quote key) -> (tick, unit cost of its first YES level, of its first NO level)
        self._units: dict[tuple[str, str], tuple[Tick, Decimal | None, Decimal | None]] = {}
        self._walks: dict[str, WalkCache] = {}  # pair id -> walks of its unchanged directions
        self._exponents = {pid: fee_exponents(pair) for pid, pair in pairs.items()}
        self._binary_exponents = {
            pid: {venue: e for (_, venue), e in exps.items()} or None for pid, exps in self._exponents.items()
        }
        self.reference = reference
        self._incremental: dict[str, IncrementalBinary] = {}  # pair id -> its directions

    def state(self, pair_id: str) -> PairState:
        state = self.states.get(pair_id)
        if state is None:
            saved = self._load(pair_id) if self._load else None
            state = load_state(pair_id, self.params, saved)
            if saved:
                self.clock = max(self.clock, state.last_event_ts)
            self.states[pair_id] = state
        return state

    def apply(self, tick: Tick) -> list[Opportunity]:
        """Apply one tick; returns the opportunities whose result changed (to emit)."""
        pair = self.pairs.get(tick.pair_id)
        if pair is None:
            self.unknown_pairs += 1
            return []
        state = self.state(tick.pair_id)
        position = (tick.recv_ts, VENUE_RANK[tick.venue], tick.seq)
        applied = state.applied.get(tick.venue)
        if applied is not None and position <= applied:
            self.reapplied += 1  # re-delivered after a crash; its effect is already in the state
            return []
        state.applied[tick.venue] = position
        key = f"{tick.venue}|{tick.outcome}" if tick.outcome else tick.venue
        state.quotes[key] = tick
        if tick.event_ts > state.last_event_ts:
            state.last_event_ts = tick.event_ts
        if tick.event_ts > self.clock:
            self.clock = tick.event_ts
        self.dirty.add(tick.pair_id)
        if pair.type == "binary" and not state.executable and not len(state.detector):
            self._units[(tick.pair_id, key)] = (tick, *self._first_units(tick))
            if self._uncrossed(tick.pair_id, state):
                # Every direction's first step already costs >= 1 - min_edge, so every result
                # is "no opportunity", the state already says so, and nothing is executable:
                # the full evaluation would change nothing. Only the window clock moves on.
                self.skipped += 1
                ts = state.last_event_ts
                for window in state.windows:
                    window.set_executable(ts, False)
                return []
        if pair.type == "binary" and not self.reference:
            return self._apply_binary(pair, state)
        results = self._evaluate(pair, state)
        changed = state.detector.changes(results)
        ts = state.last_event_ts
        for opp in results:
            if opp.executable:
                state.executable.add(opp.key)
            else:
                state.executable.discard(opp.key)
        any_executable = bool(state.executable)
        for window in state.windows:
            window.set_executable(ts, any_executable)
            for opp in changed:
                self.late_window_events += window.on_opportunity(opp.event_ts, opp)
        if changed:
            state.last_spread = OpportunitySummary.of(changed[-1])
            top = max((o for o in results if o.size > 0), key=lambda o: o.net_profit, default=None)
            state.best = None if top is None else OpportunitySummary.of(top)
        return changed

    @property
    def incremental_walks(self) -> int:
        """Directions walked by the incremental evaluation (the others kept their result)."""
        return sum(inc.walks for inc in self._incremental.values())

    def _apply_binary(self, pair: MarketPair, state: PairState) -> list[Opportunity]:
        """The rest of :meth:`apply` for a binary pair, on the incremental evaluation.

        Step for step what the reference path does with ``evaluate_binary``'s list, on the
        directions' static results: the same signatures, executable set, windows and views.
        """
        inc = self._incremental.get(pair.id)
        if inc is None:
            inc = self._incremental[pair.id] = IncrementalBinary(pair.id)
        p = self.params
        scan = inc.scan(
            state.quotes,
            state.detector,
            state.executable,
            min_edge=p.min_edge,
            max_quote_age_ms=p.max_quote_age_ms,
            fee_exponents=self._binary_exponents.get(pair.id),
            fee_policy=p.fees,
        )
        changed = scan.changed
        ts = state.last_event_ts
        any_executable = bool(state.executable)
        for window in state.windows:
            window.set_executable(ts, any_executable)
            for opp in changed:
                self.late_window_events += window.on_opportunity(opp.event_ts, opp)
        last = scan.last
        if last is not None:  # OpportunitySummary.of(changed[-1]), and of the best
            newest_ts = scan.newest_ts
            spread = _summary(last.key, *last.summary_fields(), scan.last_executable, newest_ts)
            state.last_spread = spread
            top = scan.top
            if top is None:
                state.best = None
            elif top is last and scan.top_executable == scan.last_executable:
                state.best = spread
            else:
                state.best = _summary(top.key, *top.summary_fields(), scan.top_executable, newest_ts)
        return changed

    def _uncrossed(self, pair_id: str, state: PairState) -> bool:
        """True when no ordered venue pair (A yes, B no) can take a first contract (binary)."""
        quotes = state.quotes
        if len(quotes) < 2:
            return True
        units = self._units
        limit = self._limit
        rows = []
        for key, tick in quotes.items():
            cached = units.get((pair_id, key))
            if cached is None or cached[0] is not tick:
                cached = units[(pair_id, key)] = (tick, *self._first_units(tick))
            rows.append(cached)
        for i, (_, yes, _) in enumerate(rows):
            if yes is None:
                continue
            for j, (_, _, no) in enumerate(rows):
                if i != j and no is not None and yes + no < limit:
                    return False
        return True

    def _first_units(self, tick: Tick) -> tuple[Decimal | None, Decimal | None]:
        exponent = self._exponents.get(tick.pair_id, {}).get((tick.outcome, tick.venue), 1)
        return _first_units(tick, exponent, self.params.fees)

    def _evaluate(self, pair: MarketPair, state: PairState) -> list[Opportunity]:
        p = self.params
        exponents = self._exponents.get(pair.id) or None
        if pair.type == "binary":
            walks = self._walks.get(pair.id)
            if walks is None:
                walks = self._walks[pair.id] = {}
            return evaluate_binary(
                pair.id,
                state.quotes,
                min_edge=p.min_edge,
                max_quote_age_ms=p.max_quote_age_ms,
                fee_exponents=None if exponents is None else {v: e for (_, v), e in exponents.items()},
                fee_policy=p.fees,
                walks=walks,
            )
        outcome_ticks: dict[str, dict[str, Tick]] = {}
        for tick in state.quotes.values():
            outcome_ticks.setdefault(tick.outcome, {})[tick.venue] = tick
        if len(outcome_ticks) < len(pair.outcomes):
            return []
        basket = evaluate_basket(
            pair.id,
            outcome_ticks,
            exhaustive=pair.exhaustive,
            min_edge=p.min_edge,
            max_quote_age_ms=p.max_quote_age_ms,
            fee_exponents=exponents,
            fee_policy=p.fees,
        )
        return [] if basket is None else [basket]

    def close_windows(self, *, final: bool = False) -> list[ClosedWindow]:
        """Windows that the event clock has moved past (all of them at end of stream)."""
        upto = self.clock - self.params.window_grace_ms
        step = min(self.params.tumbling_ms, self.params.hopping_step_ms)
        if not final and upto // step == self._closed_upto // step:
            return []
        self._closed_upto = upto
        out: list[ClosedWindow] = []
        for pair_id in sorted(self.states):
            state = self.states[pair_id]
            for window in state.windows:
                closed = window.close_all(self.clock, pair_id) if final else window.close(upto, pair_id)
                if closed:
                    out.extend(closed)
                    self.dirty.add(pair_id)
                    recent = state.recent_windows + tuple(WindowSummary.of(c) for c in closed)
                    state.recent_windows = recent[-RECENT_WINDOWS:]
        return out

    def take_dirty(self) -> Iterable[PairState]:
        dirty, self.dirty = self.dirty, set()
        return [self.states[pair_id] for pair_id in sorted(dirty)]
