"""The worker's per-tick and per-event conversions give what the plain ones give, bytes for bytes.

``tick_from_record`` fills a Tick's slots without its ``__init__``, ``spread_to_wire`` names
union branches for fastavro, ``encode_state`` writes JSON with msgspec: each is checked here
against the straightforward form it replaces.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from decimal import Decimal

import pytest

from echoarb.model import Leg, Level, Opportunity, Side, SpreadEvent, Tick, Venue
from echoarb.scan.state import encode_state
from echoarb.wire import records
from echoarb.wire.codec import load_codecs
from echoarb.wire.records import spread_to_record, spread_to_wire, tick_from_record, tick_to_record


def _tick() -> Tick:
    return Tick(
        pair_id="p1",
        venue="polymarket",
        yes_asks=(Level(Decimal("0.48"), Decimal("80")), Level(Decimal("0.5"), Decimal("200.25"))),
        no_asks=(),
        event_ts=1767225600123,
        recv_ts=1767225600130,
        fee_rate=Decimal("0.0125"),
        outcome="Yes, in 2026",
        status="halted",
        in_sync=False,
        real_money=False,
        seq=41,
    )


@pytest.mark.parametrize("cold", [False, True])
def test_tick_from_record_equals_the_constructor_field_for_field(cold: bool) -> None:
    tick = _tick()
    record = tick_to_record(tick)
    if cold:  # cache misses take the slow path
        records._level_cache.clear()
        records._from_micros_cache.clear()
    built = tick_from_record(record)
    assert type(built) is Tick
    for field in dataclasses.fields(Tick):
        assert getattr(built, field.name) == getattr(tick, field.name), field.name
    assert built == tick and hash(built) == hash(tick)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.seq = 1  # type: ignore[misc]


def _event(legs: tuple[Leg, ...], gross: Decimal | None, **money: Decimal) -> SpreadEvent:
    values = {
        "size": Decimal("12.5"),
        "cost": Decimal("11.875"),
        "fees": Decimal("0.2213"),
        "net_profit": Decimal("0.4037"),
        "net_edge": Decimal("0.032296"),
        **money,
    }
    opp = Opportunity(
        pair_id="pair-é",
        kind="binary",
        legs=legs,
        gross_edge=gross,
        executable=True,
        quote_age_ms=17,
        event_ts=1767225600123,
        **values,
    )
    return SpreadEvent("9f" * 12, opp, 1767225600999)


EVENTS = [
    _event(
        (
            Leg("kalshi", "yes", Decimal("0.47"), Decimal("0.4712"), Decimal("12.5")),
            Leg("polymarket", "no", Decimal("0.48"), Decimal("0.48"), Decimal("12.5"), outcome="A"),
        ),
        Decimal("0.05"),
    ),
    # Empty books: null unions; zero amounts (the conversion cache's falsy hit).
    _event(
        (
            Leg("kalshi", "yes", None, None, Decimal(0)),
            Leg("manifold", "no", Decimal("0.5"), None, Decimal("0")),
        ),
        None,
        size=Decimal(0),
        cost=Decimal("0.0"),
        fees=Decimal(0),
        net_profit=Decimal("-0.000001"),
        net_edge=Decimal(0),
    ),
]


@pytest.mark.parametrize("event", EVENTS)
def test_spread_to_wire_encodes_the_bytes_of_spread_to_record(event: SpreadEvent) -> None:
    codec = load_codecs().spread_event
    assert codec.encode(spread_to_wire(event)) == codec.encode(spread_to_record(event))
    assert codec.decode(codec.encode(spread_to_wire(event))) == spread_to_record(event)


@pytest.mark.parametrize(
    "text",
    ["plain", 'quote " and \\ backslash', "tab\tnew\nline\x01\x1f", "del\x7f", "café", "emoji 🎯", "\u2028"],
)
def test_encode_state_writes_the_bytes_of_compact_json_dumps(text: str) -> None:
    body = {
        "pair_id": text,
        "quotes": {text: {"n": -5, "big": 10**20, "ok": True, "no": False, "none": None}},
        "list": [text, [], {}],
    }
    assert encode_state(body) == json.dumps(body, separators=(",", ":")).encode()


def _leg(venue: Venue, side: Side, outcome: str = "") -> Leg:
    return Leg(venue, side, None, None, Decimal(0), outcome=outcome)


@pytest.mark.parametrize(
    "legs",
    [
        (_leg("kalshi", "yes"), _leg("polymarket", "no")),
        (_leg("kalshi", "yes", "o1"), _leg("manifold", "yes", "o2"), _leg("polymarket", "yes", "o3")),
        (_leg("kalshi", "no", "x"), _leg("manifold", "yes")),
        (_leg("polymarket", "yes"),),
    ],
)
def test_spread_id_hashes_the_opportunity_key_event_time_and_trigger(legs: tuple[Leg, ...]) -> None:
    opp = dataclasses.replace(EVENTS[0].opportunity, legs=legs)
    text = f"{opp.key}|{opp.event_ts}|5.1.9"
    assert records.spread_id(opp, (5, 1, 9)) == hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def _plain_tick_record(tick: Tick) -> dict[str, object]:
    """tick_to_record without any cache: the arithmetic of to_micros for every value."""

    def micros(value: Decimal, floor: bool = False) -> int:
        rounding = "ROUND_FLOOR" if floor else "ROUND_HALF_EVEN"
        return int((value * Decimal("1e6")).to_integral_value(rounding))

    def ladder(levels: tuple[Level, ...]) -> list[dict[str, int]]:
        return [{"price_micros": micros(lv.price), "size_micros": micros(lv.size, True)} for lv in levels]

    return {
        "pair_id": tick.pair_id,
        "venue": tick.venue,
        "outcome": tick.outcome,
        "yes_asks": ladder(tick.yes_asks),
        "no_asks": ladder(tick.no_asks),
        "event_ts": tick.event_ts,
        "recv_ts": tick.recv_ts,
        "fee_rate_micros": micros(tick.fee_rate),
        "status": tick.status,
        "in_sync": tick.in_sync,
        "real_money": tick.real_money,
        "seq": tick.seq,
    }


def test_tick_to_record_of_a_recording_equals_the_plain_conversion_cold_and_warm() -> None:
    """Over a generated session of all three venues: the same records and the same Avro
    bytes as the uncached conversion, with the caches empty, warm, and warm with other
    Level objects of the same values (a second handler's books)."""
    from echoarb.ingest.frames import FrameHandler
    from echoarb.pairs import parse_pairs
    from echoarb.venues.sample import generate_recording
    from tests.paths import PAIRS

    raw = json.loads(PAIRS.read_text())
    config = parse_pairs(raw)
    frames = generate_recording(raw, frames=1500, seed=5)
    codec = load_codecs().tick_batch
    for cache in (records._ladder_record_cache, records._level_by_id, records._level_record_cache):
        cache.clear()
    records._to_micros_cache.clear()
    records._to_micros_floor_cache.clear()
    for _ in range(2):
        handler = FrameHandler(config)
        ticks = [
            tick
            for f in frames
            for tick in handler.handle(f.venue, f.frame, f.recv_ts, source=f.source, path=f.path).ticks
        ]
        assert len(ticks) > 500
        for passes in range(2):
            for tick in ticks:
                got, want = tick_to_record(tick), _plain_tick_record(tick)
                assert got == want, (passes, tick)
        batch = {"venue": "kalshi", "producer_id": "t", "watermark": 1, "end_of_stream": False}
        assert codec.encode({**batch, "ticks": [tick_to_record(t) for t in ticks]}) == codec.encode(
            {**batch, "ticks": [_plain_tick_record(t) for t in ticks]}
        )
