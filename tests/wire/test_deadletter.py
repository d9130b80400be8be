"""Dead-letter headers: one builder for every stage, reasons cut in UTF-8 bytes at a character boundary."""

from __future__ import annotations

import pytest

from echoarb.wire.deadletter import MAX_REASON_BYTES, cut_utf8, dead_letter_headers


def test_headers_say_why_and_where_from() -> None:
    headers = dict(dead_letter_headers("bad magic byte", "spreads", 3, 42, stage="sink"))
    assert headers == {
        "echoarb.error.reason": b"bad magic byte",
        "echoarb.error.topic": b"spreads",
        "echoarb.error.partition": b"3",
        "echoarb.error.offset": b"42",
        "echoarb.error.stage": b"sink",
    }


def test_short_reason_is_kept_whole() -> None:
    assert cut_utf8("é" * 500) == ("é" * 500).encode()  # exactly 1,000 bytes
    assert cut_utf8("") == b""


@pytest.mark.parametrize("char", ["é", "€", "😀"])  # 2, 3 and 4 bytes
@pytest.mark.parametrize("pad", [0, 1, 2, 3])
def test_long_reason_is_cut_in_bytes_without_splitting_a_character(char: str, pad: int) -> None:
    text = "x" * pad + char * 1_000
    cut = cut_utf8(text)
    assert MAX_REASON_BYTES - len(char.encode()) < len(cut) <= MAX_REASON_BYTES
    decoded = cut.decode("utf-8")  # strict: a split character would raise here
    assert text.startswith(decoded)


def test_ascii_reason_is_cut_at_the_byte_limit() -> None:
    assert cut_utf8("a" * 5_000) == b"a" * MAX_REASON_BYTES
    assert cut_utf8("abcdef", limit=4) == b"abcd"


def test_lone_surrogate_in_a_reason_is_escaped_not_an_error() -> None:
    reason = b"bad \xff byte".decode("utf-8", "surrogateescape")
    assert cut_utf8(reason) == b"bad \\udcff byte"


def test_header_reason_uses_the_cut() -> None:
    (name, value), *_ = dead_letter_headers("€" * 2_000, "t", 0, 0, stage="parse")
    assert name == "echoarb.error.reason"
    assert len(value) == 999 and value.decode() == "€" * 333
