"""The hot path builds Ticks and quotes positionally (cheaper than by keyword): no field lost.

Positional construction is silent when the model gains a field with a default (it keeps the
default) or when two fields of one type trade places, so these tests pin both: the field
lists as the constructors were written for, and every field carried through.
"""

from __future__ import annotations

from dataclasses import fields, replace
from decimal import Decimal as D

from bench.common import pairs_config
from echoarb.ingest.batching import TickBatcher
from echoarb.ingest.normalise import Normaliser
from echoarb.model import InstrumentQuote, Level, Tick
from echoarb.pairs import parse_pairs

TICK_FIELDS = [
    "pair_id", "venue", "yes_asks", "no_asks", "event_ts", "recv_ts", "fee_rate",
    "outcome", "status", "in_sync", "real_money", "seq",
]  # fmt: skip
QUOTE_FIELDS = [
    "venue", "instrument", "buy_yes", "buy_no", "event_ts", "recv_ts", "status", "in_sync", "close_ts",
]  # fmt: skip


def test_field_order_is_the_one_the_positional_constructors_use() -> None:
    # On failure: update Normaliser.update/_tick, TickBatcher.add, parsing.book_quote and the
    # venue parsers' InstrumentQuote(...) calls to the new order, then this list.
    assert [f.name for f in fields(Tick)] == TICK_FIELDS
    assert [f.name for f in fields(InstrumentQuote)] == QUOTE_FIELDS


def test_batcher_keeps_every_field_but_seq_and_recv_ts() -> None:
    tick = Tick(
        pair_id="p1",
        venue="polymarket",
        yes_asks=(Level(D("0.4"), D("3")),),
        no_asks=(Level(D("0.5"), D("2")),),
        event_ts=1_700_000_000_111,
        recv_ts=1_700_000_000_222,
        fee_rate=D("0.04"),
        outcome="Yes",
        status="halted",
        in_sync=False,
        real_money=False,
        seq=99,
    )
    batcher = TickBatcher(4, {})
    batcher.advance(1_700_000_000_500)  # later than recv_ts: the batcher moves it on
    batcher.add(tick)
    (batch,) = batcher.drain()
    assert batch.ticks == (replace(tick, seq=1, recv_ts=1_700_000_000_501),)


def test_normaliser_ticks_carry_the_quote_and_the_binding() -> None:
    raw = pairs_config(1)
    raw["pairs"][0]["kalshi"]["invert"] = True
    config = parse_pairs(raw)
    normaliser = Normaliser(config, kalshi_fee_rate=D("0.07"))
    yes, no = (Level(D("0.3"), D("5")),), (Level(D("0.6"), D("7")),)
    quote = InstrumentQuote("kalshi", "KXBENCH-00000", yes, no, 1_000, 2_000, "closed", False, 9_000)
    (tick,) = normaliser.update(quote)
    assert tick == Tick(
        pair_id="bench-00000",
        venue="kalshi",
        yes_asks=no,  # inverted
        no_asks=yes,
        event_ts=1_000,
        recv_ts=2_000,
        fee_rate=D("0.07"),
        outcome="",
        status="closed",
        in_sync=False,
        real_money=True,
    )
    yes_token, no_token = config.pairs[0].venues[1].instrument, config.pairs[0].venues[1].no_instrument
    assert no_token is not None
    normaliser.update(InstrumentQuote("polymarket", yes_token, yes, no, 1_000, 2_000, "open", True))
    no_quote = InstrumentQuote("polymarket", no_token, no, yes, 1_500, 2_500, "halted", False)
    (tick,) = normaliser.update(no_quote)
    assert tick == Tick(
        pair_id="bench-00000",
        venue="polymarket",
        yes_asks=yes,
        no_asks=no,  # the NO token's asks
        event_ts=1_500,
        recv_ts=2_500,
        fee_rate=D("0.04"),
        outcome="",
        status="halted",
        in_sync=False,
        real_money=True,
    )
    (tick,) = normaliser.update(InstrumentQuote("manifold", "bench-market-00000", yes, no, 1, 2))
    assert tick.real_money is False and tick.fee_rate == 0


def test_slot_writing_constructors_give_the_dataclasses_own_objects() -> None:
    import pickle

    from echoarb.ingest.normalise import make_tick
    from echoarb.venues.book import _make_level
    from echoarb.venues.parsing import make_quote

    level = _make_level(D("0.45"), D("3"))
    assert level == Level(D("0.45"), D("3")) and hash(level) == hash(Level(D("0.45"), D("3")))
    ladder = (level,)
    tick = make_tick("p1", "kalshi", ladder, (), 5, 6, D("0.07"), "A", "halted", False, True, 4)
    same = Tick("p1", "kalshi", ladder, (), 5, 6, D("0.07"), "A", "halted", False, True, 4)
    assert tick == same and hash(tick) == hash(same) and repr(tick) == repr(same)
    assert pickle.loads(pickle.dumps(tick)) == tick
    quote = make_quote("kalshi", "T", ladder, ladder, 1, 2, "closed", False, 9)
    assert quote == InstrumentQuote("kalshi", "T", ladder, ladder, 1, 2, "closed", False, 9)
    assert pickle.loads(pickle.dumps(quote)) == quote
