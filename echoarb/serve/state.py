"""What the server knows: the current opportunity per pair and direction, and per pair the
latest quote of each venue. Pure state, no I/O: the Kafka source feeds it, the API and the
feed read it.

"Current" is the latest spread event of an opportunity key (pair, kind, legs' venue and
side): the worker emits a new event whenever the opportunity changes, including when it
stops being executable, so the latest event is the truth and an older, better one is not.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from echoarb.discover.resolution import capital_fields
from echoarb.serve.guards import ENDED, PairGuard, ended_leg
from echoarb.wire.records import from_micros

SORTS = ("net_edge", "annualised_return")


class FilterError(ValueError):
    """A query parameter that does not parse; the message names it."""


def opportunity_key(event: dict[str, Any]) -> str:
    """Same identity as :attr:`echoarb.model.Opportunity.key`, from the JSON form."""
    legs = ",".join(
        f"{leg['venue']}:{leg['side']}{':' + leg['outcome'] if leg.get('outcome') else ''}"
        for leg in event["legs"]
    )
    return f"{event['pair_id']}|{event['kind']}|{legs}"


@dataclass(frozen=True, slots=True)
class SpreadFilter:
    """``?pair=a&pair=b&executable=true&min_edge=0.01``: every given condition must hold."""

    pairs: frozenset[str] = frozenset()
    executable: bool | None = None
    min_edge: Decimal | None = None
    min_profit: Decimal | None = None
    sort: str = "net_edge"  # or "annualised_return" (rows without a resolution time last)

    @classmethod
    def from_query(cls, query: Any) -> SpreadFilter:
        """From a multi-dict (aiohttp's ``request.query``); ``pair`` repeats or is comma separated."""
        pairs: set[str] = set()
        for value in query.getall("pair", []):
            pairs.update(p for p in (s.strip() for s in value.split(",")) if p)
        executable: bool | None = None
        raw = query.get("executable")
        if raw is not None and raw != "":
            lowered = raw.strip().lower()
            if lowered not in ("true", "false", "1", "0"):
                raise FilterError(f"executable must be true or false, not {raw!r}")
            executable = lowered in ("true", "1")
        sort = (query.get("sort") or "net_edge").strip()
        if sort not in SORTS:
            raise FilterError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
        return cls(
            frozenset(pairs), executable, _decimal(query, "min_edge"), _decimal(query, "min_profit"), sort
        )

    def matches(self, event: dict[str, Any]) -> bool:
        if self.pairs and event["pair_id"] not in self.pairs:
            return False
        if self.executable is not None and bool(event["executable"]) != self.executable:
            return False
        if self.min_edge is not None and Decimal(event["net_edge"]) < self.min_edge:
            return False
        return not (self.min_profit is not None and Decimal(event["net_profit"]) < self.min_profit)

    def as_json(self) -> dict[str, Any]:
        return {
            "pair": sorted(self.pairs),
            "executable": self.executable,
            "min_edge": None if self.min_edge is None else str(self.min_edge),
            "min_profit": None if self.min_profit is None else str(self.min_profit),
            "sort": self.sort,
        }


def _decimal(query: Any, name: str) -> Decimal | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise FilterError(f"{name} must be a decimal number, not {raw!r}") from None
    if not value.is_finite():
        raise FilterError(f"{name} must be a finite number, not {raw!r}")
    return value


def _annualised(event: dict[str, Any]) -> Decimal | None:
    value = event.get("annualised_return")
    return None if value is None else Decimal(value)


@dataclass(slots=True)
class Current:
    """The latest event of one opportunity key, with its JSON text encoded once for every client."""

    event: dict[str, Any]
    text: str


def encode_message(event: dict[str, Any]) -> str:
    return json.dumps({"type": "spread", "data": event}, separators=(",", ":"))


def tick_quote_json(record: dict[str, Any], now_ms: int, max_age_ms: int) -> dict[str, Any]:
    """A decoded Avro tick as the API shows it: best asks, depth, status and staleness."""

    def ladder(levels: list[dict[str, int]]) -> list[list[str]]:
        return [
            [format(from_micros(lv["price_micros"]), "f"), format(from_micros(lv["size_micros"]), "f")]
            for lv in levels
        ]

    yes, no = ladder(record["yes_asks"]), ladder(record["no_asks"])
    age = max(0, now_ms - record["event_ts"])
    return {
        "venue": record["venue"],
        **({"outcome": record["outcome"]} if record["outcome"] else {}),
        "best_yes_ask": yes[0][0] if yes else None,
        "best_no_ask": no[0][0] if no else None,
        "yes_asks": yes,
        "no_asks": no,
        "status": record["status"],
        "in_sync": record["in_sync"],
        "real_money": record["real_money"],
        "event_ts": record["event_ts"],
        "recv_ts": record["recv_ts"],
        "age_ms": age,
        "stale": age > max_age_ms,
    }


class SpreadState:
    """Current opportunity per key, latest quote per pair/venue/outcome, a short edge history.

    ``history`` keeps the last ``history_points`` (event time, net edge) per key so a page
    that connects late can draw its chart at once.
    """

    def __init__(
        self,
        pair_ids: set[str] | None = None,
        *,
        history_points: int = 120,
        resolution_ms: dict[str, int] | None = None,
        guard: PairGuard | None = None,
    ) -> None:
        self.pair_ids = set(pair_ids or ())
        # pair id -> expected resolution of its last real-money leg (echoarb.discover.resolution)
        self.resolution_ms = dict(resolution_ms or {})
        self.guard = guard or PairGuard()
        self._keys_by_pair: dict[str, set[str]] = {}
        self.current: dict[str, Current] = {}
        self.quotes: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        self.last_event: dict[str, dict[str, Any]] = {}
        self.history: dict[str, deque[tuple[int, str]]] = {}
        self.history_points = history_points
        self.events = 0
        self.ticks = 0

    def apply_event(self, event: dict[str, Any]) -> Current:
        """Record a spread event (JSON form); returns it with its key and encoded text."""
        key = opportunity_key(event)
        event["key"] = key
        resolves = self.resolution_ms.get(event["pair_id"])
        if resolves is not None:
            event.update(capital_fields(event, resolves))
        reason = self._hold_reason(event)
        if reason is not None and event["executable"]:
            event["executable"] = False
            event["not_executable_reason"] = reason
        self.events += 1
        current = Current(event, encode_message(event))
        self.current[key] = current
        self._keys_by_pair.setdefault(event["pair_id"], set()).add(key)
        self.last_event[event["pair_id"]] = event
        points = self.history.get(key)
        if points is None:
            points = self.history[key] = deque(maxlen=self.history_points)
        points.append((event["event_ts"], event["net_edge"]))
        return current

    def apply_tick(self, record: dict[str, Any]) -> None:
        """Keep the newest (by event time) tick record of a pair's venue and outcome."""
        self.ticks += 1
        per_pair = self.quotes.setdefault(record["pair_id"], {})
        slot = (record["venue"], record["outcome"])
        held = per_pair.get(slot)
        if held is None or record["event_ts"] >= held["event_ts"]:
            per_pair[slot] = record
        pair_id = record["pair_id"]
        self.guard.observe(pair_id, per_pair)
        # A leg that ended or a pair turned suspect ends executability at once, not at the
        # worker's next event. Only this pair's keys are looked at (the index), and only then.
        if record["status"] not in ENDED and self.guard.suspect(pair_id) is None:
            return
        for key in sorted(self._keys_by_pair.get(pair_id, ())):
            current = self.current[key]
            event = current.event
            if not event["executable"]:
                continue
            reason = self._hold_reason(event)
            if reason is not None:
                event["executable"] = False
                event["not_executable_reason"] = reason
                self.current[key] = Current(event, encode_message(event))

    def _hold_reason(self, event: dict[str, Any]) -> str | None:
        """Why the view holds an opportunity not executable (a leg ended, a suspect pair)."""
        pair_id = event["pair_id"]
        venues = {leg["venue"] for leg in event["legs"]}
        return ended_leg(self.quotes.get(pair_id, {}), venues) or self.guard.suspect(pair_id)

    def snapshot(self, flt: SpreadFilter) -> list[dict[str, Any]]:
        """Current opportunities that pass ``flt``, best net edge first."""
        rows = [c.event for c in self.current.values() if flt.matches(c.event)]
        if flt.sort == "annualised_return":
            rows.sort(key=lambda e: (_annualised(e) is None, -(_annualised(e) or Decimal(0)), e["key"]))
        else:
            rows.sort(key=lambda e: (-Decimal(e["net_edge"]), e["key"]))
        return rows

    def knows_pair(self, pair_id: str) -> bool:
        return pair_id in self.pair_ids or pair_id in self.quotes or pair_id in self.last_event

    def pair(self, pair_id: str, now_ms: int, max_age_ms: int) -> dict[str, Any]:
        quotes = [
            tick_quote_json(record, now_ms, max_age_ms)
            for _, record in sorted(self.quotes.get(pair_id, {}).items())
        ]
        opportunities = [c.event for k, c in sorted(self.current.items()) if c.event["pair_id"] == pair_id]
        return {
            "pair_id": pair_id,
            "quotes": quotes,
            "stale": any(q["stale"] for q in quotes) if quotes else None,
            "last_event": self.last_event.get(pair_id),
            "opportunities": opportunities,
            "history": {
                key: [[ts, edge] for ts, edge in points]
                for key, points in sorted(self.history.items())
                if key.startswith(pair_id + "|")
            },
        }
