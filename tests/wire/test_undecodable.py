"""The read-only consumers' decode-or-count helper: a bad record is counted, a sample logged."""

from __future__ import annotations

import logging

import pytest

from echoarb.wire.codec import load_codecs
from echoarb.wire.undecodable import LOG_EVERY, LOG_FIRST, Undecodable


def test_a_record_that_decodes_is_returned_and_not_counted() -> None:
    codec = load_codecs().control
    record = {"type": "end_of_stream", "producer_id": "p", "partition": 0}
    value = codec.encode({**record, "last_offsets": {}, "ticks_processed": 1, "decode_errors": 0})
    undecodable = Undecodable(logging.getLogger("test"))
    assert undecodable.decode(codec, value) == codec.decode(value)
    assert undecodable.count == 0


def test_bad_records_are_counted_and_a_sample_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    codec = load_codecs().tick_batch
    undecodable = Undecodable(logging.getLogger("test.undecodable"))
    with caplog.at_level(logging.WARNING, logger="test.undecodable"):
        bad = [None, b"", b"\x00\x00\x00\x03\xe9\xff"] * 700  # short, empty, a body that ends early
        results = [undecodable.decode(codec, value) for value in bad]
    assert results == [None] * 2100
    assert undecodable.count == 2100
    warnings = [r.getMessage() for r in caplog.records]
    # The first LOG_FIRST, then every LOG_EVERY-th: 1,000 and 2,000.
    assert len(warnings) == LOG_FIRST + 2100 // LOG_EVERY
    assert warnings[0].startswith("record does not decode (1 so far)")
    assert warnings[-1].startswith(f"record does not decode ({2 * LOG_EVERY} so far)")
