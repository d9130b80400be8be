"""FrameHandler's counts of ignored events reach Prometheus on every frame (children cached)."""

from __future__ import annotations

import json

from prometheus_client import REGISTRY

from echoarb.ingest.frames import FrameHandler
from echoarb.pairs import parse_pairs
from tests.paths import PAIRS


def _ignored(venue: str, kind: str) -> float:
    value = REGISTRY.get_sample_value("echoarb_frames_ignored_total", {"venue": venue, "kind": kind})
    return value or 0.0


def test_each_ignored_event_is_counted_in_the_handler_and_in_prometheus() -> None:
    handler = FrameHandler(parse_pairs(json.loads(PAIRS.read_text())))
    before = _ignored("kalshi", "subscribed"), _ignored("kalshi", "unknown")
    ack = '{"id":1,"type":"subscribed","msg":{"channel":"ticker","sid":2}}'
    for n in range(3):
        handler.handle("kalshi", ack, 1_767_225_600_000 + n)
    handler.handle("kalshi", '{"type":"a_type_from_2027","msg":{}}', 1_767_225_600_010)
    second = FrameHandler(parse_pairs(json.loads(PAIRS.read_text())))  # shares the children
    second.handle("kalshi", ack, 1_767_225_600_020)
    assert handler.ignored[("kalshi", "subscribed")] == 3
    assert second.ignored[("kalshi", "subscribed")] == 1
    assert _ignored("kalshi", "subscribed") == before[0] + 4
    assert _ignored("kalshi", "unknown") == before[1] + 1
