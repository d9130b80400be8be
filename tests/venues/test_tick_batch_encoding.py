"""The hand-written TickBatch writer must give fastavro's bytes, or defer to fastavro."""

from __future__ import annotations

import io
import random
from decimal import Decimal
from typing import Any

import fastavro
import pytest

from echoarb.codec import CodecError, load_codecs
from echoarb.frames import FrameHandler
from echoarb.model import Level, Tick
from echoarb.records import tick_from_record, tick_to_record
from echoarb.tick_avro import TickBatchWriter, _long
from tests.venues.corpus import PAIRS_PATH, corpus

CODECS = load_codecs()


def _reference(record: dict[str, Any]) -> bytes:
    codec = CODECS.tick_batch
    out = io.BytesIO()
    fastavro.schemaless_writer(out, codec.schema, record)
    return out.getvalue()


def _batch(ticks: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "venue": "kalshi",
        "producer_id": "p",
        "watermark": 7,
        "end_of_stream": False,
        "ticks": ticks,
        **extra,
    }


def test_writer_is_enabled_for_the_tick_batch_schema_only() -> None:
    assert isinstance(CODECS.tick_batch.fast, TickBatchWriter)
    assert CODECS.spread_event.fast is None
    assert CODECS.spread_window.fast is None


@pytest.mark.parametrize(
    "n",
    [0, 1, 63, 64, 8191, 8192, 2**20, 2**27, 2**34, 2**35, 2**40, 2**41, 2**62, 2**63 - 1, -1, -64, -(2**35)],
)
def test_long_matches_fastavro(n: int) -> None:
    for value in (n, n - 1, n + 1):
        if -(2**63) <= value < 2**63:
            out = io.BytesIO()
            fastavro.schemaless_writer(out, "long", value)
            assert _long(value) == out.getvalue()


def test_ticks_from_the_corpus_encode_like_fastavro_and_round_trip() -> None:
    import json

    from echoarb.pairs import parse_pairs

    handler = FrameHandler(parse_pairs(json.loads(PAIRS_PATH.read_text(encoding="utf-8"))))
    ticks: dict[str, list[Tick]] = {}
    for f in corpus(1, 0.3):
        for tick in handler.handle(f.venue, f.frame, f.recv_ts, source=f.source, path=f.path).ticks:
            ticks.setdefault(f.venue, []).append(tick)
    writer = TickBatchWriter()
    for venue, venue_ticks in ticks.items():
        records = [tick_to_record(t) for t in venue_ticks]
        for i in range(0, len(records), 50):
            batch = _batch(records[i : i + 50], venue=venue, watermark=venue_ticks[i].recv_ts)
            assert writer.encode(batch) == _reference(batch)
            decoded = CODECS.tick_batch.decode(CODECS.tick_batch.encode(batch))
            assert [tick_from_record(r) for r in decoded["ticks"]] == venue_ticks[i : i + 50]


def _tick_record(**changes: Any) -> dict[str, Any]:
    tick = Tick(
        pair_id="p1",
        venue="polymarket",
        yes_asks=(Level(Decimal("0.48"), Decimal("80")), Level(Decimal("0.5"), Decimal("200.25"))),
        no_asks=(),
        event_ts=1767225600123,
        recv_ts=1767225600130,
        fee_rate=Decimal("0.04"),
        outcome="Yes ünïcode",
        status="halted",
        in_sync=False,
        real_money=True,
        seq=123456,
    )
    return {**tick_to_record(tick), **changes}


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"yes_asks": [{"price_micros": 1, "size_micros": 2}]},  # a plain list ladder
        {"no_asks": ({"price_micros": 999_999, "size_micros": 2**50},)},  # a plain tuple ladder
        {"event_ts": 1.0},  # fastavro coerces
        {"seq": True},
        {"in_sync": 1},
        {"fee_rate_micros": 0},
        {"status": "settled", "venue": "manifold", "real_money": False},
    ],
)
def test_odd_but_accepted_records_give_fastavro_bytes(changes: dict[str, Any]) -> None:
    batch = _batch([_tick_record(**changes), _tick_record()])
    assert CODECS.tick_batch.encode(batch)[5:] == _reference(batch)


@pytest.mark.parametrize(
    "changes",
    [
        {"status": "bogus"},
        {"pair_id": b"p1"},
        {"fee_rate_micros": "5"},
        {"yes_asks": [{"price_micros": "1", "size_micros": 2}]},
        {"venue": "nowhere"},
    ],
)
def test_bad_records_get_fastavros_error(changes: dict[str, Any]) -> None:
    with pytest.raises(CodecError):
        CODECS.tick_batch.encode(_batch([_tick_record(**changes)]))


def test_missing_fields_with_defaults_are_filled_like_fastavro() -> None:
    record = _tick_record()
    del record["outcome"]
    batch = _batch([record])
    del batch["end_of_stream"]
    assert CODECS.tick_batch.encode(batch)[5:] == _reference(batch)


def test_out_of_range_long_still_raises_as_before() -> None:
    with pytest.raises(OverflowError):
        CODECS.tick_batch.encode(_batch([_tick_record(seq=2**70)]))


def test_random_ladders_encode_like_fastavro() -> None:
    rng = random.Random(3)
    records = []
    for i in range(300):
        levels = tuple(
            Level(
                Decimal(rng.randint(1, 999_999)).scaleb(-6),
                Decimal(rng.randint(0, 10**12)).scaleb(-rng.randint(0, 8)),
            )
            for _ in range(rng.randint(0, 10))
        )
        tick = Tick(
            f"pair-{i % 7}", "kalshi", levels, levels[:2], rng.randint(0, 2**45), i, Decimal("0.07"), seq=i
        )
        records.append(tick_to_record(tick))
    batch = _batch(records)
    assert CODECS.tick_batch.encode(batch)[5:] == _reference(batch)
