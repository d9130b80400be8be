"""Hostile input never raises out of a parser, and an absurd value never becomes an edge.

Property-based (Hypothesis) over every venue parser through the frame handler, the scanner
behind it, and the Avro decoders. Inputs: random and truncated text, raw bytes (non-UTF-8
included), multi-MB and deeply nested frames, duplicate keys, wrong types and absurd values
(negative, NaN/Infinity, huge sizes, prices outside (0, 1)), spliced into real frames of the
bundled sample so that they reach deep into each parser. The budget is fixed (derandomised,
no example database) so that the suite stays fast and repeatable in CI.
"""

from __future__ import annotations

import contextlib
import json
import random
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from echoarb.ingest.frames import FrameHandler
from echoarb.model import Tick
from echoarb.pairs import PairsConfig, load_pairs
from echoarb.scan.scanner import PartitionScanner, ScanParams
from echoarb.venues.recording import read_recording
from echoarb.wire.codec import CodecError, load_codecs

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "config" / "recordings" / "sample.jsonl"
PAIRS = ROOT / "config" / "market_pairs.json"

BUDGET = settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,  # time per frame is reported by bench/, never asserted here
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ABSURD: list[Any] = [
    None,
    True,
    False,
    "",
    "abc",
    "NaN",
    "Infinity",
    "-Infinity",
    "nan",
    "1e999",
    "-1",
    "-0.5",
    "0",
    "1",
    "1.5",
    "2",
    "0.0000000001",
    "99999999999999999999",
    "1e-30",
    -1,
    0,
    1,
    2,
    10**30,
    -(10**30),
    1.5,
    -0.1,
    1e308,
    float("inf"),
    float("nan"),
    [],
    {},
    [[]],
    [["0.5"]],
    [["x", "y"]],
    [[0.5, -3]],
    {"a": 1},
    "\u0000",
    "\ud800",
    "0x10",
    " 0.5 ",
    "0,5",
]


@cache
def pairs() -> PairsConfig:
    return load_pairs(PAIRS)


@cache
def templates() -> list[tuple[str, Any]]:
    """(venue, parsed JSON) of every distinct message shape in the bundled sample."""
    seen: dict[tuple[str, str], tuple[str, Any]] = {}
    for frame in read_recording(SAMPLE):
        try:
            obj = json.loads(frame.frame)
        except ValueError:
            continue
        shape = json.dumps(_shape(obj), sort_keys=True)
        seen.setdefault((frame.venue, shape), (frame.venue, obj))
    return list(seen.values())


def _shape(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _shape(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_shape(obj[0])] if obj else []
    return type(obj).__name__


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:4]):
            out += _paths(v, (*prefix, i))
    return out


def _set(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(obj, dict):
        return {**obj, head: _set(obj[head], rest, value)}
    copy = list(obj)
    copy[head] = _set(copy[head], rest, value)
    return copy


def _dump(obj: Any) -> str:
    return json.dumps(obj, allow_nan=True)


@st.composite
def hostile_frames(draw: st.DrawFn) -> tuple[str, str | bytes]:
    venue, template = draw(st.sampled_from(templates()))
    kind = draw(st.sampled_from(["absurd", "absurd", "truncate", "drop", "dupkey", "bytes", "text"]))
    if kind == "absurd":
        obj = template
        for _ in range(draw(st.integers(1, 3))):
            path = draw(st.sampled_from(_paths(obj)))
            obj = _set(obj, path, draw(st.sampled_from(ABSURD)))
        return venue, _dump(obj)
    if kind == "truncate":
        text = _dump(template)
        return venue, text[: draw(st.integers(0, len(text)))]
    if kind == "drop" and isinstance(template, dict) and template:
        key = draw(st.sampled_from(sorted(template)))
        return venue, _dump({k: v for k, v in template.items() if k != key})
    if kind == "dupkey" and isinstance(template, dict) and template:
        key = draw(st.sampled_from(sorted(template)))
        text = _dump(template)
        return venue, text[:-1] + f", {json.dumps(key)}: {_dump(draw(st.sampled_from(ABSURD)))}}}"
    if kind == "bytes":
        return venue, draw(st.binary(max_size=300))
    return venue, draw(st.text(max_size=300))


def _check_tick(tick: Tick) -> None:
    for ladder in (tick.yes_asks, tick.no_asks):
        for level in ladder:
            assert isinstance(level.price, Decimal) and level.price.is_finite()
            assert Decimal(0) < level.price < Decimal(1), level
            assert level.size.is_finite() and level.size > 0, level


def feed(frames: list[tuple[str, str | bytes]]) -> None:
    """Frames -> handler -> scanner; nothing raises, every output is sane."""
    handler = FrameHandler(pairs())
    scanner = PartitionScanner(pairs().by_id(), ScanParams())
    ts = 1_700_000_000_000
    for venue, frame in frames:
        ts += 10
        outcome = handler.handle(venue, frame, ts)
        assert all(isinstance(e, str) and e for e in outcome.errors)
        for tick in outcome.ticks:
            _check_tick(tick)
            for opp in scanner.apply(tick):
                assert opp.size.is_finite() and opp.size >= 0
                assert opp.net_edge.is_finite() and opp.cost.is_finite() and opp.fees.is_finite()
                if opp.executable:
                    assert opp.size > 0 and Decimal(0) < opp.cost


@pytest.mark.chaos(
    "hostile frame runs (Hypothesis, 150 x up to 25 frames)", "no exception, no absurd value in a spread"
)
@BUDGET
@given(st.lists(hostile_frames(), min_size=1, max_size=25))
def test_hostile_frames_after_real_ones_never_raise(frames: list[tuple[str, str | bytes]]) -> None:
    # Real frames first so that books exist and hostile deltas hit live state.
    real: list[tuple[str, str | bytes]] = [(venue, _dump(obj)) for venue, obj in templates()]
    feed(real + frames + real)


@pytest.mark.chaos("pathological frames (deep, 5 MB, non-UTF-8)", "no exception")
@pytest.mark.parametrize("venue", ["kalshi", "polymarket", "manifold"])
@pytest.mark.parametrize(
    "frame",
    [
        "[" * 100_000 + "]" * 100_000,  # deep nesting: json recursion limit
        '{"a":' * 50_000 + "1" + "}" * 50_000,
        '{"type": "' + "x" * 5_000_000 + '"}',  # 5 MB string
        json.dumps({"type": "orderbook_snapshot", "msg": {"yes_dollars_fp": [["0.5", "1"]] * 200_000}}),
        b"\xff\xfe\x00garbage",
        "",
        "null",
        "NaN",
    ],
    ids=["deep-array", "deep-object", "5MB-string", "huge-ladder", "non-utf8", "empty", "null", "nan"],
)
def test_pathological_frames_are_rejected_not_raised(venue: str, frame: str | bytes) -> None:
    handler = FrameHandler(pairs())
    outcome = handler.handle(venue, frame, 1_700_000_000_000)
    for tick in outcome.ticks:
        _check_tick(tick)


def test_oversized_frame_is_refused_unread() -> None:
    handler = FrameHandler(pairs())
    frame = '{"type": "' + "x" * (9 * 1024 * 1024) + '"}'
    outcome = handler.handle("kalshi", frame, 1)
    assert outcome.errors == [f"kalshi frame too large: {len(frame)} > {8 * 1024 * 1024} characters"]
    assert handler.errors["kalshi"] == 1


def test_unknown_venue_is_a_counted_rejection() -> None:
    handler = FrameHandler(pairs())
    outcome = handler.handle("nyse", "{}", 1)
    assert outcome.errors and handler.errors["nyse"] == 1


@pytest.mark.chaos("random bytes into the Avro decoders (150 x 3)", "CodecError only")
@BUDGET
@given(st.binary(max_size=2_000))
def test_avro_decoders_raise_only_codec_errors(data: bytes) -> None:
    codecs = load_codecs()
    for codec in (codecs.tick_batch, codecs.spread_event, codecs.spread_window):
        with pytest.raises(CodecError):
            codec.decode(data)


@pytest.mark.chaos("corrupted Avro records (150)", "a clean decode or CodecError")
@BUDGET
@given(st.data())
def test_avro_decoders_on_corrupted_real_records(data: st.DataObject) -> None:
    """Flip, cut or extend the bytes of a valid record: a clean decode or a CodecError."""
    codecs = load_codecs()
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    good = codecs.spread_window.encode(
        {
            "pair_id": "p",
            "window": "tumbling",
            "window_start": 0,
            "window_end": 60_000,
            "events": 1,
            "max_net_edge_micros": 1,
            "best_size_micros": 1,
            "executable_ms": 1,
            "emitted_at": 1,
        }
    )
    raw = bytearray(good)
    for _ in range(data.draw(st.integers(1, 4))):
        raw[rng.randrange(5, len(raw))] = rng.randrange(256)
    cut = data.draw(st.integers(0, len(raw) + 8))
    candidate = bytes(raw[:cut]) + bytes(max(0, cut - len(raw)))
    with contextlib.suppress(CodecError):
        codecs.spread_window.decode(candidate)
