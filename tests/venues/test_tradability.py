"""A market that stopped accepting orders is never executable, even without a venue message."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from echoarb.ingest.normalise import Normaliser
from echoarb.model import InstrumentQuote, Level, Tick
from echoarb.pairs import parse_pairs
from echoarb.scan.edge.walk import tradable
from echoarb.wire.records import tick_from_record, tick_to_record

ROOT = Path(__file__).resolve().parents[2]


def _tick(**kw: object) -> Tick:
    base: dict[str, object] = dict(
        pair_id="p",
        venue="kalshi",
        yes_asks=(Level(Decimal("0.4"), Decimal(1)),),
        no_asks=(),
        event_ts=1_000,
        recv_ts=1_000,
        fee_rate=Decimal("0.07"),
    )
    base.update(kw)
    return Tick(**base)  # type: ignore[arg-type]


def test_a_leg_past_its_close_time_is_not_tradable() -> None:
    assert tradable(_tick(close_ts=5_000), newest_ts=4_999, max_quote_age_ms=30_000)
    assert not tradable(_tick(close_ts=5_000), newest_ts=5_000, max_quote_age_ms=30_000)
    assert tradable(_tick(close_ts=0), newest_ts=10**12, max_quote_age_ms=10**12)  # not known
    assert not tradable(_tick(status="halted"), newest_ts=1_000, max_quote_age_ms=30_000)


def test_close_time_survives_the_normaliser_and_the_wire() -> None:
    pairs = parse_pairs(json.loads((ROOT / "config" / "market_pairs.json").read_text(encoding="utf-8")))
    normaliser = Normaliser(pairs)
    ticker = normaliser.instruments("kalshi")[0]
    quote = InstrumentQuote("kalshi", ticker, (), (), 1_000, 1_000, close_ts=7_000)
    ticks = normaliser.update(quote)
    assert ticks and all(t.close_ts == 7_000 for t in ticks)
    assert tick_from_record(tick_to_record(ticks[0])).close_ts == 7_000
    old = tick_to_record(ticks[0])
    del old["close_ts"]  # a checkpoint written before the field existed
    assert tick_from_record(old).close_ts == 0
