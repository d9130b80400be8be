"""A Kalshi market stops being tradable at its close time, though the venue says nothing then."""

from __future__ import annotations

import json
from pathlib import Path

from echoarb.ingest.frames import FrameHandler
from echoarb.pairs import parse_pairs
from echoarb.venues.kalshi.protocol import KalshiProtocol

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_790_000_000_000
SNAPSHOT = (
    '{"type":"orderbook_snapshot","sid":1,"seq":1,"msg":{"market_ticker":"%s",'
    '"yes_dollars_fp":[["0.4000","10.00"]],"no_dollars_fp":[["0.5500","10.00"]]}}'
)


def _lifecycle(ticker: str, event_type: str, **times: int) -> str:
    msg = {"market_ticker": ticker, "event_type": event_type, **times}
    return json.dumps({"type": "market_lifecycle_v2", "sid": 2, "msg": msg})


def test_expire_closes_a_quiet_market_at_its_close_time() -> None:
    proto = KalshiProtocol()
    proto.receive(SNAPSHOT % "KX-A", T0)
    proto.receive(_lifecycle("KX-A", "close_date_updated", close_ts=T0 // 1000 + 60), T0)
    assert proto.next_change_ms == T0 + 60_000
    assert proto.expire(T0 + 59_999).quotes == []
    (q,) = proto.expire(T0 + 61_000).quotes
    assert (q.instrument, q.status, q.event_ts, q.recv_ts) == ("KX-A", "closed", T0 + 60_000, T0 + 61_000)
    assert proto.expire(T0 + 99_000).quotes == []  # announced once


def test_a_close_moved_later_is_not_announced_early() -> None:
    proto = KalshiProtocol()
    proto.receive(SNAPSHOT % "KX-A", T0)
    proto.receive(_lifecycle("KX-A", "close_date_updated", close_ts=T0 // 1000 + 60), T0)
    proto.receive(_lifecycle("KX-A", "close_date_updated", close_ts=T0 // 1000 + 600), T0 + 1)
    assert proto.expire(T0 + 61_000).quotes == []
    assert [q.status for q in proto.expire(T0 + 600_000).quotes] == ["closed"]


def test_a_market_opens_at_its_open_time() -> None:
    proto = KalshiProtocol()
    created = _lifecycle("KX-B", "created", open_ts=T0 // 1000 + 10, close_ts=T0 // 1000 + 99)
    assert [q.status for q in proto.receive(created, T0).quotes] == ["halted"]
    assert [(q.status, q.event_ts) for q in proto.expire(T0 + 10_000).quotes] == [("open", T0 + 10_000)]


def test_the_frame_handler_closes_the_pair_on_any_later_frame() -> None:
    pairs = parse_pairs(json.loads((ROOT / "config" / "market_pairs.json").read_text(encoding="utf-8")))
    handler = FrameHandler(pairs)
    ticker = handler.normaliser.instruments("kalshi")[0]
    handler.handle("kalshi", SNAPSHOT % ticker, T0)
    handler.handle("kalshi", _lifecycle(ticker, "close_date_updated", close_ts=T0 // 1000 + 5), T0)
    outcome = handler.handle("polymarket", "PONG", T0 + 6_000)  # any frame, any venue
    assert outcome.ticks and {(t.venue, t.status, t.event_ts) for t in outcome.ticks} == {
        ("kalshi", "closed", T0 + 5_000)
    }
