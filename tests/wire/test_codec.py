import io
import json
import struct
from decimal import Decimal
from pathlib import Path

import fastavro
import pytest

from echoarb.model import Leg, Level, Opportunity, SpreadEvent, Tick
from echoarb.wire.codec import CodecError, load_codecs, load_schema_json
from echoarb.wire.records import spread_from_record, spread_to_record, tick_from_record, tick_to_record

TICK = Tick(
    pair_id="p1",
    venue="kalshi",
    yes_asks=(Level(Decimal("0.48"), Decimal("80")), Level(Decimal("0.5"), Decimal("200.25"))),
    no_asks=(Level(Decimal("0.0001"), Decimal("1")),),
    event_ts=1767225600123,
    recv_ts=1767225600130,
    fee_rate=Decimal("0.07"),
    seq=9,
)


def test_tick_batch_round_trip_is_exact_and_confluent_framed() -> None:
    codecs = load_codecs()
    record = {
        "venue": "kalshi",
        "producer_id": "r",
        "watermark": 5,
        "end_of_stream": False,
        "ticks": [tick_to_record(TICK)],
    }
    data = codecs.tick_batch.encode(record)
    magic, schema_id = struct.unpack(">bI", data[:5])
    manifest = json.loads(Path("schemas/manifest.json").read_text())["schemas"]
    assert (magic, schema_id) == (0, manifest["io.echoarb.TickBatch"]["id"])
    assert tick_from_record(codecs.tick_batch.decode(data)["ticks"][0]) == TICK
    assert data.startswith(codecs.tick_batch.header) and len(codecs.tick_batch.header) == 5
    assert not data.startswith(codecs.spread_event.header)  # tells the codecs' records apart


def test_body_readable_by_a_plain_avro_reader_with_the_registered_schema() -> None:
    """What a Confluent consumer does: strip 5 bytes, read with the (self-contained) schema."""
    codecs = load_codecs()
    opp = Opportunity(
        "p1",
        "binary",
        (
            Leg("kalshi", "yes", Decimal("0.48"), Decimal("0.486667"), Decimal(120)),
            Leg("polymarket", "no", Decimal("0.47"), Decimal("0.47"), Decimal(120)),
        ),
        Decimal("0.05"),
        Decimal(120),
        Decimal("114.8"),
        Decimal("3.2957"),
        Decimal("1.9043"),
        Decimal("0.015869"),
        True,
        10,
        1767225600123,
    )
    event = SpreadEvent("abc", opp, 1767225600999)
    data = codecs.spread_event.encode(spread_to_record(event))
    schema = fastavro.parse_schema(load_schema_json("io.echoarb.SpreadEvent"))
    body = fastavro.schemaless_reader(io.BytesIO(data[5:]), schema, None)
    assert isinstance(body, dict)
    assert body["net_profit_micros"] == 1_904_300
    assert spread_from_record(codecs.spread_event.decode(data)).opportunity == opp


@pytest.mark.parametrize(
    "data", [b"", b"\x01\x00\x00\x03\xe9abc", b"\x00\x00\x00\x03\xe9\xff\xff", b"\x00\x00\x00\x00\x01x"]
)
def test_garbage_raises_codec_error(data: bytes) -> None:
    with pytest.raises(CodecError):
        load_codecs().tick_batch.decode(data)


def test_tick_batch_bytes_are_those_of_the_schema_as_registered() -> None:
    """The codec writes with an expanded schema (faster): the bytes must not change."""
    codec = load_codecs().tick_batch
    assert codec.expanded is not None and codec.expanded is not codec.schema
    record = {
        "venue": "polymarket",
        "producer_id": "r",
        "watermark": 5,
        "end_of_stream": True,
        "ticks": [tick_to_record(TICK), tick_to_record(TICK)],
    }
    out = io.BytesIO()
    fastavro.schemaless_writer(out, codec.schema, record)
    assert codec.encode(record)[5:] == out.getvalue()
    # ... and it reads with it too: the records must not change either.
    plain = fastavro.schemaless_reader(io.BytesIO(out.getvalue()), codec.schema, None)
    assert codec.decode(codec.encode(record)) == plain == record
