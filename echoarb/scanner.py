"""The per-partition processor: released ticks in, spread events and closed windows out.

Pure (no Kafka, no Faust): the stream worker feeds it merged ticks and persists
``PairState.to_json()`` in a changelog-backed table, so it can be tested and benchmarked
without a broker and rebuilt after a restart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from echoarb.edge.binary import evaluate_binary
from echoarb.edge.categorical import evaluate_basket
from echoarb.edge.changes import ChangeDetector
from echoarb.model import Opportunity, Tick
from echoarb.pairs import MarketPair
from echoarb.records import tick_from_record, tick_to_record
from echoarb.windows import ClosedWindow, PairWindows


@dataclass(frozen=True, slots=True)
class ScanParams:
    min_edge: Decimal = Decimal(0)
    max_quote_age_ms: int = 30_000
    tumbling_ms: int = 60_000
    hopping_ms: int = 300_000
    hopping_step_ms: int = 60_000
    window_grace_ms: int = 5_000


@dataclass
class PairState:
    """Everything the worker knows about one pair; round-trips through JSON for the table."""

    pair_id: str
    quotes: dict[str, Tick] = field(default_factory=dict)  # "venue" or "venue|outcome"
    detector: ChangeDetector = field(default_factory=ChangeDetector)
    windows: list[PairWindows] = field(default_factory=list)
    executable: set[str] = field(default_factory=set)
    last_event_ts: int = 0
    last_spread: dict[str, Any] | None = None  # last emitted opportunity, for views

    def to_json(self) -> dict[str, Any]:
        return {
            "pair_id": self.pair_id,
            "quotes": {k: tick_to_record(t) for k, t in self.quotes.items()},
            "detector": self.detector.snapshot(),
            "windows": [w.to_json() for w in self.windows],
            "executable": sorted(self.executable),
            "last_event_ts": self.last_event_ts,
            "last_spread": self.last_spread,
        }

    def restore(self, raw: dict[str, Any]) -> None:
        self.quotes = {k: tick_from_record(v) for k, v in raw["quotes"].items()}
        self.detector.restore(raw["detector"])
        for window, saved in zip(self.windows, raw["windows"], strict=False):
            window.restore(saved)
        self.executable = set(raw["executable"])
        self.last_event_ts = raw["last_event_ts"]
        self.last_spread = raw.get("last_spread")


StateLoader = Callable[[str], dict[str, Any] | None]


class PartitionScanner:
    """Scans the pairs of one partition. ``load`` fetches a saved state (table) on first use."""

    def __init__(
        self, pairs: dict[str, MarketPair], params: ScanParams, load: StateLoader | None = None
    ) -> None:
        self.pairs = pairs
        self.params = params
        self._load = load
        self.states: dict[str, PairState] = {}
        self.clock = 0  # newest event time processed on this partition
        self._closed_upto = -(2**62)
        self.dirty: set[str] = set()
        self.late_window_events = 0
        self.unknown_pairs = 0

    def state(self, pair_id: str) -> PairState:
        state = self.states.get(pair_id)
        if state is None:
            p = self.params
            state = PairState(
                pair_id,
                windows=[
                    PairWindows("tumbling", p.tumbling_ms, p.tumbling_ms),
                    PairWindows("hopping", p.hopping_ms, p.hopping_step_ms),
                ],
            )
            saved = self._load(pair_id) if self._load else None
            if saved:
                state.restore(saved)
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
        key = f"{tick.venue}|{tick.outcome}" if tick.outcome else tick.venue
        state.quotes[key] = tick
        if tick.event_ts > state.last_event_ts:
            state.last_event_ts = tick.event_ts
        if tick.event_ts > self.clock:
            self.clock = tick.event_ts
        self.dirty.add(tick.pair_id)
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
            state.last_spread = {"key": changed[-1].key, "event_ts": changed[-1].event_ts}
        return changed

    def _evaluate(self, pair: MarketPair, state: PairState) -> list[Opportunity]:
        p = self.params
        if pair.type == "binary":
            return evaluate_binary(
                pair.id, state.quotes, min_edge=p.min_edge, max_quote_age_ms=p.max_quote_age_ms
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
        return out

    def take_dirty(self) -> Iterable[PairState]:
        dirty, self.dirty = self.dirty, set()
        return [self.states[pair_id] for pair_id in sorted(dirty)]
