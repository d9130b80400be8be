"""The state of one market pair as the worker keeps it, and its serialised (table) form.

The worker persists each pair's state in the changelog-backed ``pair-state`` table and
rebuilds it from there after a restart or rebalance, so the serialised form is a contract
with every changelog already written: compact JSON with the keys of ``to_json``. It has no
version field; ``restore`` reads every shape written so far (``applied`` was one position
per pair before it became one per venue). The values
here are typed so the scanner and the web views read fields, not dictionary keys.

``PairState`` is slotted but not frozen: the scanner updates it in place for every tick
(thousands per second); a copy per tick would cost more than the scan itself. The
summaries it holds are frozen values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import msgspec

from echoarb.model import VENUES, ClosedWindow, Opportunity, Tick
from echoarb.scan.edge.changes import ChangeDetector
from echoarb.scan.windows import PairWindows
from echoarb.wire.records import cached_tick_record, tick_from_record


@dataclass(frozen=True, slots=True)
class OpportunitySummary:
    """What the views show of an opportunity (decimals as strings, as in the table)."""

    key: str
    size: str
    net_profit: str
    net_edge: str
    executable: bool
    event_ts: int

    @classmethod
    def of(cls, opp: Opportunity) -> OpportunitySummary:
        return cls(
            opp.key, str(opp.size), str(opp.net_profit), str(opp.net_edge), opp.executable, opp.event_ts
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "size": self.size,
            "net_profit": self.net_profit,
            "net_edge": self.net_edge,
            "executable": self.executable,
            "event_ts": self.event_ts,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> OpportunitySummary:
        return cls(
            str(raw["key"]),
            str(raw["size"]),
            str(raw["net_profit"]),
            str(raw["net_edge"]),
            bool(raw["executable"]),
            int(raw["event_ts"]),
        )


@dataclass(frozen=True, slots=True)
class WindowSummary:
    """One closed window's figures, kept for the ``/windows/`` view."""

    window: str
    start: int
    end: int
    events: int
    max_net_edge: str | None
    best_size: str
    executable_ms: int

    @classmethod
    def of(cls, window: ClosedWindow) -> WindowSummary:
        agg = window.agg
        edge = None if agg.max_net_edge is None else str(agg.max_net_edge)
        return cls(
            window.window, window.start, window.end, agg.events, edge, str(agg.best_size), agg.executable_ms
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "start": self.start,
            "end": self.end,
            "events": self.events,
            "max_net_edge": self.max_net_edge,
            "best_size": self.best_size,
            "executable_ms": self.executable_ms,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> WindowSummary:
        edge = raw["max_net_edge"]
        return cls(
            str(raw["window"]),
            int(raw["start"]),
            int(raw["end"]),
            int(raw["events"]),
            None if edge is None else str(edge),
            str(raw["best_size"]),
            int(raw["executable_ms"]),
        )


def _summary(raw: dict[str, Any] | None) -> OpportunitySummary | None:
    return None if raw is None else OpportunitySummary.from_json(raw)


@dataclass(slots=True)
class PairState:
    """Everything the worker knows about one pair."""

    pair_id: str
    quotes: dict[str, Tick] = field(default_factory=dict)  # "venue" or "venue|outcome"
    detector: ChangeDetector = field(default_factory=ChangeDetector)
    windows: list[PairWindows] = field(default_factory=list)
    executable: set[str] = field(default_factory=set)
    last_event_ts: int = 0
    last_spread: OpportunitySummary | None = None  # last emitted opportunity, for views
    best: OpportunitySummary | None = None  # current best opportunity (size > 0), for views
    recent_windows: tuple[WindowSummary, ...] = ()  # last closed, for views
    # Merge position (recv_ts, venue rank, seq) of the last tick applied, per venue: after a
    # crash the changelog can be ahead of the committed offsets, and re-read ticks must not be
    # re-applied. Per venue, not per pair: the live merge may apply two venues' ticks out of
    # recv_ts order, and a venue's own ticks are always in order (strict merge: the same).
    applied: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The table's serialised form (before JSON encoding); see the module docstring."""
        return {
            "pair_id": self.pair_id,
            "quotes": {k: cached_tick_record(t) for k, t in self.quotes.items()},
            "detector": self.detector.snapshot(),
            "windows": [w.to_json() for w in self.windows],
            "executable": sorted(self.executable),
            "last_event_ts": self.last_event_ts,
            "last_spread": None if self.last_spread is None else self.last_spread.to_json(),
            "best": None if self.best is None else self.best.to_json(),
            "recent_windows": [w.to_json() for w in self.recent_windows],
            "applied": {venue: list(pos) for venue, pos in sorted(self.applied.items())},
        }

    def restore(self, raw: dict[str, Any]) -> None:
        """Load a serialised state into this one (whose windows carry the configured sizes)."""
        self.quotes = {k: tick_from_record(v) for k, v in raw["quotes"].items()}
        self.detector.restore(raw["detector"])
        for window, saved in zip(self.windows, raw["windows"], strict=False):
            window.restore(saved)
        self.executable = set(raw["executable"])
        self.last_event_ts = raw["last_event_ts"]
        self.last_spread = _summary(raw.get("last_spread"))
        self.best = _summary(raw.get("best"))
        self.recent_windows = tuple(WindowSummary.from_json(w) for w in raw.get("recent_windows", ()))
        applied = raw.get("applied")
        if isinstance(applied, dict):
            self.applied = {v: (int(p[0]), int(p[1]), int(p[2])) for v, p in applied.items()}
        elif applied:  # one position for the pair (states written before per-venue positions)
            position = (int(applied[0]), int(applied[1]), int(applied[2]))
            self.applied = dict.fromkeys(VENUES, position)
        else:
            self.applied = {}


_encode_json = msgspec.json.Encoder().encode


def encode_state(body: dict[str, Any]) -> bytes:
    """The table value for ``PairState.to_json()`` (compact: one changelog record per write).

    The bytes are those of ``json.dumps(body, separators=(",", ":"))``, the form every
    changelog so far holds. msgspec writes them 5-10x faster and identically for ASCII text;
    it writes other text as UTF-8 where ``json.dumps`` escapes it (``\\u00e9``, also DEL),
    so such a state takes ``json.dumps``.
    """
    raw = _encode_json(body)
    if raw.isascii() and b"\x7f" not in raw:
        return raw
    return json.dumps(body, separators=(",", ":")).encode()


def decode_state(raw: bytes) -> dict[str, Any]:
    """The serialised form of a table value, for :meth:`PairState.restore`."""
    body = json.loads(raw)
    if not isinstance(body, dict):
        raise ValueError("pair state is not a JSON object")
    return body
