"""Conversions between the typed model and the Avro record dicts of ``schemas/``.

Avro carries money and sizes as integer millionths so that they stay exact; inside
EchoArb they are Decimals.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any

from echoarb.construct import positional
from echoarb.model import ClosedWindow, Leg, Level, Opportunity, SpreadEvent, Tick

_MICRO = Decimal("1e6")

# Prices, sizes and fee rates repeat endlessly on the hot path (a few hundred distinct
# values per market), so conversions are memoised in bounded dicts: a dict hit costs
# ~50 ns where the Decimal arithmetic costs ~1 us. The caches are cleared when they grow
# past _CACHE_MAX entries (no LRU bookkeeping on hits). Decimal keys compare by value,
# so 0.4 and 0.40 share an entry; both give the same integer.
_CACHE_MAX = 200_000
_to_micros_cache: dict[Decimal, int] = {}
_to_micros_floor_cache: dict[Decimal, int] = {}
_from_micros_cache: dict[int, Decimal] = {}
_level_cache: dict[tuple[int, int], Level] = {}
_level_record_cache: dict[tuple[Decimal, Decimal], dict[str, int]] = {}


def _to_micros_exact(value: Decimal, floor: bool) -> int:
    return int((value * _MICRO).to_integral_value(ROUND_FLOOR if floor else ROUND_HALF_EVEN))


def to_micros(value: Decimal, *, floor: bool = False) -> int:
    """Exact for values with at most 6 decimals; sizes round down (never overstate depth)."""
    cache = _to_micros_floor_cache if floor else _to_micros_cache
    try:
        return cache[value]
    except KeyError:
        pass
    except TypeError:  # unhashable (a signalling NaN): let the arithmetic raise as before
        return _to_micros_exact(value, floor)
    result = _to_micros_exact(value, floor)
    if value.is_finite():
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        cache[value] = result
    return result


def from_micros(value: int) -> Decimal:
    try:
        return _from_micros_cache[value]
    except KeyError:
        pass
    result = Decimal(value).scaleb(-6).normalize() if value else Decimal(0)
    if len(_from_micros_cache) >= _CACHE_MAX:
        _from_micros_cache.clear()
    _from_micros_cache[value] = result
    return result


def _level(price_micros: int, size_micros: int) -> Level:
    key = (price_micros, size_micros)
    level = _level_cache.get(key)
    if level is None:
        level = Level(from_micros(price_micros), from_micros(size_micros))
        if len(_level_cache) >= _CACHE_MAX:
            _level_cache.clear()
        _level_cache[key] = level
    return level


def _level_record(level: Level) -> dict[str, int]:
    # Returned dicts are shared between records: callers must not mutate them (fastavro
    # and json only read them). Keyed by the (price, size) tuple, which compares and hashes
    # like the Level itself but in C (a Level's dataclass __hash__/__eq__ run as Python).
    key = (level.price, level.size)
    record = _level_record_cache.get(key)
    if record is None:
        record = {"price_micros": to_micros(level.price), "size_micros": to_micros(level.size, floor=True)}
        if len(_level_record_cache) >= _CACHE_MAX:
            _level_record_cache.clear()
        _level_record_cache[key] = record
    return record


# Ladder records by the ladder object: a book hands out the same tuple until its side changes
# (and a delta changes one side of two), so most ladders of a tick were converted before.
# Keyed by id() with an identity check; the entry holds the ladder, so the id is not reused
# while it is cached. Entries are shared: callers must not mutate the lists either.
_LADDER_CACHE_MAX = 16_384
_ladder_record_cache: dict[int, tuple[tuple[Level, ...], list[dict[str, int]]]] = {}
_level_by_id: dict[int, tuple[Level, dict[str, int]]] = {}


def _ladder_record(levels: tuple[Level, ...]) -> list[dict[str, int]]:
    hit = _ladder_record_cache.get(id(levels))
    if hit is not None and hit[0] is levels:
        return hit[1]
    records = []
    by_id = _level_by_id
    for level in levels:
        # By identity first (books reuse Level objects): no hashing of the Decimals.
        known = by_id.get(id(level))
        if known is None or known[0] is not level:
            known = (level, _level_record(level))
            if len(by_id) >= _LADDER_CACHE_MAX:
                by_id.clear()
            by_id[id(level)] = known
        records.append(known[1])
    if len(_ladder_record_cache) >= _LADDER_CACHE_MAX:
        _ladder_record_cache.clear()
    _ladder_record_cache[id(levels)] = (levels, records)
    return records


_cached_level = _level_cache.get


def _ladder(records: list[dict[str, int]]) -> tuple[Level, ...]:
    # A plain loop: cheaper here than map()/a comprehension (no iterator or function object).
    out = []
    for r in records:
        level = _cached_level((r["price_micros"], r["size_micros"]))
        if level is None:
            level = _level(r["price_micros"], r["size_micros"])
        out.append(level)
    return tuple(out)


_ladder_hit = _ladder_record_cache.get


def tick_to_record(tick: Tick) -> dict[str, Any]:
    # Once per published tick: the cache hits of _ladder_record (one ladder of two is
    # unchanged on most updates) and of to_micros (a pair's fee rate) are inlined, saving a
    # Python call each; misses take the functions, so the values are theirs.
    yes, no, fee = tick.yes_asks, tick.no_asks, tick.fee_rate
    hit = _ladder_hit(id(yes))
    yes_records = hit[1] if hit is not None and hit[0] is yes else _ladder_record(yes)
    hit = _ladder_hit(id(no))
    no_records = hit[1] if hit is not None and hit[0] is no else _ladder_record(no)
    fee_micros = _micros_hit(fee)
    return {
        "pair_id": tick.pair_id,
        "venue": tick.venue,
        "outcome": tick.outcome,
        "yes_asks": yes_records,
        "no_asks": no_records,
        "event_ts": tick.event_ts,
        "recv_ts": tick.recv_ts,
        "fee_rate_micros": to_micros(fee) if fee_micros is None else fee_micros,
        "status": tick.status,
        "in_sync": tick.in_sync,
        "real_money": tick.real_money,
        "seq": tick.seq,
    }


# ``Tick`` is a frozen, slotted dataclass: its ``__init__`` goes through
# ``object.__setattr__`` once per field (about half of what decoding a tick costs in Python).
# The worker builds one per tick, with its slots written directly (echoarb.construct).
_make_tick: Callable[..., Tick] = positional(Tick)
_fee_rates = _from_micros_cache


def tick_from_record(record: dict[str, Any]) -> Tick:
    fee = _fee_rates.get(record["fee_rate_micros"])
    return _make_tick(
        record["pair_id"],
        record["venue"],
        _ladder(record["yes_asks"]),
        _ladder(record["no_asks"]),
        record["event_ts"],
        record["recv_ts"],
        from_micros(record["fee_rate_micros"]) if fee is None else fee,
        record["outcome"],
        record["status"],
        record["in_sync"],
        record["real_money"],
        record["seq"],
    )


def _opt_micros(value: Decimal | None) -> int | None:
    return None if value is None else to_micros(value)


def _opt_decimal(value: int | None) -> Decimal | None:
    return None if value is None else from_micros(value)


def spread_id(opportunity: Opportunity, trigger: tuple[int, int, int] = (0, 0, 0)) -> str:
    """Deterministic id: the same opportunity recomputed after a restart gets the same id.

    ``trigger`` is the merge position (recv_ts, venue rank, seq) of the tick that changed the
    result: two changes can share an event time (a venue's older timestamp does not move the
    pair's newest one), so pair, legs and event time alone would not be unique.
    """
    # ``Opportunity.key`` spelled out with a loop: its generator expression cost more than
    # the hash, once per spread event (a test holds the two equal).
    legs = ""
    for leg in opportunity.legs:
        part = f"{leg.venue}:{leg.side}:{leg.outcome}" if leg.outcome else f"{leg.venue}:{leg.side}"
        legs = f"{legs},{part}" if legs else part
    text = (
        f"{opportunity.pair_id}|{opportunity.kind}|{legs}|{opportunity.event_ts}|"
        f"{trigger[0]}.{trigger[1]}.{trigger[2]}"
    )
    return _blake2b(text.encode(), digest_size=12).hexdigest()


_blake2b = hashlib.blake2b


def spread_to_record(event: SpreadEvent) -> dict[str, Any]:
    opp = event.opportunity
    return {
        "id": event.id,
        "pair_id": opp.pair_id,
        "kind": opp.kind,
        "legs": [
            {
                "venue": leg.venue,
                "side": leg.side,
                "outcome": leg.outcome,
                "best_price_micros": _opt_micros(leg.best_price),
                "avg_price_micros": _opt_micros(leg.avg_price),
                "size_micros": to_micros(leg.size),
            }
            for leg in opp.legs
        ],
        "gross_edge_micros": _opt_micros(opp.gross_edge),
        "size_micros": to_micros(opp.size),
        "cost_micros": to_micros(opp.cost),
        "fees_micros": to_micros(opp.fees),
        "net_profit_micros": to_micros(opp.net_profit),
        "net_edge_micros": to_micros(opp.net_edge),
        "executable": opp.executable,
        "quote_age_ms": opp.quote_age_ms,
        "event_ts": opp.event_ts,
        "computed_at": event.computed_at,
    }


_NULL_BRANCH = ("null", None)
_micros_hit = _to_micros_cache.get


def _new_micros(value: Decimal) -> int:
    """:func:`to_micros` of a Decimal just computed: hashing a new Decimal for the cache
    costs twice the arithmetic (a Decimal caches its hash only once computed)."""
    return int((value * _MICRO).to_integral_value(ROUND_HALF_EVEN))


def spread_to_wire(event: SpreadEvent) -> dict[str, Any]:
    """:func:`spread_to_record` as the worker hands it to the Avro encoder, once per event.

    The same record and the same bytes, but each nullable field names its union branch
    (fastavro's tuple notation, ``("long", n)`` / ``("null", None)``): fastavro then writes
    the branch at once instead of validating the value against every branch. Best prices
    are the book's (cached) Decimals and come from the conversion cache; the walk's results
    are new Decimals and are converted by arithmetic.
    """
    opp = event.opportunity
    hit, new = _micros_hit, _new_micros
    legs = []
    for leg in opp.legs:
        best, avg = leg.best_price, leg.avg_price
        legs.append(
            {
                "venue": leg.venue,
                "side": leg.side,
                "outcome": leg.outcome,
                "best_price_micros": _NULL_BRANCH if best is None else ("long", hit(best) or to_micros(best)),
                "avg_price_micros": _NULL_BRANCH if avg is None else ("long", new(avg)),
                "size_micros": new(leg.size),
            }
        )
    gross = opp.gross_edge
    return {
        "id": event.id,
        "pair_id": opp.pair_id,
        "kind": opp.kind,
        "legs": legs,
        "gross_edge_micros": _NULL_BRANCH if gross is None else ("long", new(gross)),
        "size_micros": new(opp.size),
        "cost_micros": new(opp.cost),
        "fees_micros": new(opp.fees),
        "net_profit_micros": new(opp.net_profit),
        "net_edge_micros": new(opp.net_edge),
        "executable": opp.executable,
        "quote_age_ms": opp.quote_age_ms,
        "event_ts": opp.event_ts,
        "computed_at": event.computed_at,
    }


def spread_from_record(record: dict[str, Any]) -> SpreadEvent:
    legs = tuple(
        Leg(
            venue=leg["venue"],
            side=leg["side"],
            best_price=_opt_decimal(leg["best_price_micros"]),
            avg_price=_opt_decimal(leg["avg_price_micros"]),
            size=from_micros(leg["size_micros"]),
            outcome=leg["outcome"],
        )
        for leg in record["legs"]
    )
    opp = Opportunity(
        pair_id=record["pair_id"],
        kind=record["kind"],
        legs=legs,
        gross_edge=_opt_decimal(record["gross_edge_micros"]),
        size=from_micros(record["size_micros"]),
        cost=from_micros(record["cost_micros"]),
        fees=from_micros(record["fees_micros"]),
        net_profit=from_micros(record["net_profit_micros"]),
        net_edge=from_micros(record["net_edge_micros"]),
        executable=record["executable"],
        quote_age_ms=record["quote_age_ms"],
        event_ts=record["event_ts"],
    )
    return SpreadEvent(record["id"], opp, record["computed_at"])


def spread_record_to_json(record: dict[str, Any]) -> dict[str, Any]:
    """A spread record as the JSON that ``echoarb replay --out`` writes: decimals as strings."""

    def dec(value: int | None) -> str | None:
        return None if value is None else format(from_micros(value), "f")

    return {
        "id": record["id"],
        "pair_id": record["pair_id"],
        "kind": record["kind"],
        "legs": [
            {
                "venue": leg["venue"],
                "side": leg["side"],
                **({"outcome": leg["outcome"]} if leg["outcome"] else {}),
                "best_price": dec(leg["best_price_micros"]),
                "avg_price": dec(leg["avg_price_micros"]),
                "size": dec(leg["size_micros"]),
            }
            for leg in record["legs"]
        ],
        "gross_edge": dec(record["gross_edge_micros"]),
        "size": dec(record["size_micros"]),
        "cost": dec(record["cost_micros"]),
        "fees": dec(record["fees_micros"]),
        "net_profit": dec(record["net_profit_micros"]),
        "net_edge": dec(record["net_edge_micros"]),
        "executable": record["executable"],
        "quote_age_ms": record["quote_age_ms"],
        "event_ts": record["event_ts"],
        "computed_at": record["computed_at"],
    }


_tick_record_cache: dict[int, tuple[Tick, dict[str, Any]]] = {}


def cached_tick_record(tick: Tick) -> dict[str, Any]:
    """``tick_to_record`` memoised by tick identity, for state snapshots that re-serialise
    the same unchanged quotes on every write. The returned dict is shared: do not mutate."""
    hit = _tick_record_cache.get(id(tick))
    if hit is not None and hit[0] is tick:
        return hit[1]
    record = tick_to_record(tick)
    if len(_tick_record_cache) >= 50_000:
        _tick_record_cache.clear()
    _tick_record_cache[id(tick)] = (tick, record)  # holding the tick keeps its id unique
    return record


def window_to_record(window: ClosedWindow, emitted_at: int) -> dict[str, Any]:
    agg = window.agg
    return {
        "pair_id": window.pair_id,
        "window": window.window,
        "window_start": window.start,
        "window_end": window.end,
        "events": agg.events,
        "max_net_edge_micros": None if agg.max_net_edge is None else to_micros(agg.max_net_edge),
        "best_size_micros": to_micros(agg.best_size),
        "executable_ms": agg.executable_ms,
        "emitted_at": emitted_at,
    }
