"""The sink's dead letters: the record's own headers, then the shared ones (reason cut in bytes)."""

from __future__ import annotations

from aiokafka.structs import ConsumerRecord

from echoarb.sink.deadletters import STAGE, headers_for
from echoarb.wire.deadletter import MAX_REASON_BYTES, dead_letter_headers


def test_headers_keep_the_records_own_first_then_the_shared_builders() -> None:
    record = ConsumerRecord("spreads", 2, 17, 0, 0, b"k", b"v", None, 1, 1, [("trace", b"abc")])
    reason = "ü" * 800  # 1,600 bytes
    headers = headers_for(record, reason)
    assert headers[0] == ("trace", b"abc")
    assert headers[1:] == dead_letter_headers(reason, "spreads", 2, 17, stage=STAGE)
    cut = dict(headers)["echoarb.error.reason"]
    assert len(cut) == MAX_REASON_BYTES and cut.decode() == "ü" * 500
    assert dict(headers)["echoarb.error.stage"] == b"sink"
