"""The control topic's end-of-stream marker: one Avro schema, one encoder, one decoder."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from echoarb.wire.codec import CodecError, load_codecs
from echoarb.wire.control import EndOfStream, decode_control, encode_control

CODEC = load_codecs().control


def test_end_of_stream_round_trips_confluent_framed() -> None:
    marker = EndOfStream(
        "replay-1", 3, {"spreads": 41, "spread-windows": -1}, ticks_processed=900, decode_errors=2
    )
    data = encode_control(CODEC, marker)
    manifest = json.loads(Path("schemas/manifest.json").read_text())["schemas"]
    assert struct.unpack(">bI", data[:5]) == (0, manifest["io.echoarb.Control"]["id"])
    assert decode_control(CODEC, data) == marker


def test_unknown_kind_is_skipped_and_a_json_marker_is_a_codec_error() -> None:
    other = CODEC.encode(
        {
            "type": "pause",
            "producer_id": "p",
            "partition": 0,
            "last_offsets": {},
            "ticks_processed": 0,
            "decode_errors": 0,
        }
    )
    assert decode_control(CODEC, other) is None
    legacy = json.dumps({"type": "end_of_stream", "producer_id": "p", "partition": 0}).encode()
    with pytest.raises(CodecError):
        decode_control(CODEC, legacy)
