"""PolymarketProtocol: book snapshots, both price_change formats, arrays, resolution, bad input."""
# ruff: noqa: E501  (frames are kept verbatim as the venues send them)

from __future__ import annotations

from decimal import Decimal as D

import pytest

from echoarb.model import InstrumentQuote, Level
from echoarb.venues.parsing import ParseResult
from echoarb.venues.polymarket.protocol import PolymarketProtocol

YES = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
NO = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
MKT = "0x5f65177b394277fd294cd75650044e32ba009a95022d88a0c1d565897d72f8f1"
RECV = 1_757_908_900_000

BOOK = (
    '{"event_type":"book","asset_id":"' + YES + '","market":"' + MKT + '",'
    '"bids":[{"price":".48","size":"30"},{"price":".49","size":"20"},{"price":".50","size":"15"}],'
    '"asks":[{"price":".52","size":"25"},{"price":".53","size":"60"},{"price":".54","size":"10"}],'
    '"timestamp":"1757908892351","hash":"0x0abc","tick_size":"0.01"}'
)


def L(price: str, size: str) -> Level:
    return Level(D(price), D(size))


def only_quote(result: ParseResult) -> InstrumentQuote:
    assert result.errors == [] and result.resync == []
    assert len(result.quotes) == 1, result.quotes
    return result.quotes[0]


def test_book_snapshot() -> None:
    q = only_quote(PolymarketProtocol().receive(BOOK, RECV))
    assert (q.venue, q.instrument, q.status, q.in_sync) == ("polymarket", YES, "open", True)
    assert q.buy_yes == (L("0.52", "25"), L("0.53", "60"), L("0.54", "10"))
    assert q.buy_no == (L("0.50", "15"), L("0.51", "20"), L("0.52", "30"))
    assert q.event_ts == 1_757_908_892_351 and q.recv_ts == RECV


def test_new_price_change_and_zero_removes() -> None:
    proto = PolymarketProtocol(depth=2)
    proto.receive(BOOK, RECV)
    frame = (
        '{"market":"' + MKT + '","price_changes":[{"asset_id":"' + YES + '","price":"0.52","size":"0",'
        '"side":"SELL","hash":"56621a121a47ed9333273e21c83b660cff37ae50","best_bid":"0.5","best_ask":"0.53"},'
        '{"asset_id":"' + YES + '","price":"0.51","size":"200","side":"BUY","hash":"1895759e",'
        '"best_bid":"0.51","best_ask":"0.53"}],"timestamp":"1757908892400","event_type":"price_change"}'
    )
    q = only_quote(proto.receive(frame, RECV))
    assert q.buy_yes == (L("0.53", "60"), L("0.54", "10"))
    assert q.buy_no == (L("0.49", "200"), L("0.50", "15"))
    assert q.event_ts == 1_757_908_892_400


def test_old_price_change_format() -> None:
    proto = PolymarketProtocol()
    proto.receive(BOOK, RECV)
    frame = (
        '{"asset_id":"' + YES + '","changes":[{"price":"0.4","side":"BUY","size":"3300"},'
        '{"price":"0.5","side":"BUY","size":"0"}],"event_type":"price_change","hash":"0x1",'
        '"market":"' + MKT + '","timestamp":"1729084877448"}'
    )
    q = only_quote(proto.receive(frame, RECV))
    assert q.buy_no == (L("0.51", "20"), L("0.52", "30"), L("0.6", "3300"))
    assert q.buy_yes == (L("0.52", "25"), L("0.53", "60"), L("0.54", "10"))


def test_array_frame_with_both_tokens() -> None:
    proto = PolymarketProtocol()
    frame = (
        '[{"event_type":"book","asset_id":"'
        + YES
        + '","market":"'
        + MKT
        + '","bids":[{"price":"0.4","size":"5"}],'
        '"asks":[{"price":"0.6","size":"7"}],"timestamp":"1757908892351","hash":"a"},'
        '{"event_type":"book","asset_id":"' + NO + '","market":"' + MKT + '","bids":[],'
        '"asks":[{"price":"0.41","size":"9"}],"timestamp":"1757908892352","hash":"b"},'
        '{"event_type":"tick_size_change","asset_id":"' + NO + '","market":"' + MKT + '",'
        '"old_tick_size":"0.01","new_tick_size":"0.001","timestamp":"1757908892353"}]'
    )
    result = proto.receive(frame, RECV)
    assert result.errors == [] and result.resync == []
    assert [(q.instrument, q.buy_yes, q.buy_no) for q in result.quotes] == [
        (YES, (L("0.6", "7"),), (L("0.6", "5"),)),
        (NO, (L("0.41", "9"),), ()),
    ]
    # one new-format price_change touching both tokens -> one quote each
    frame = (
        '[{"event_type":"price_change","market":"' + MKT + '","timestamp":"1757908892360","price_changes":['
        '{"asset_id":"' + YES + '","price":"0.59","size":"1","side":"SELL"},'
        '{"asset_id":"' + NO + '","price":"0.40","size":"2","side":"BUY"}]}]'
    )
    result = proto.receive(frame.encode(), RECV)
    assert [(q.instrument, q.buy_yes, q.buy_no) for q in result.quotes] == [
        (YES, (L("0.59", "1"), L("0.6", "7")), (L("0.6", "5"),)),
        (NO, (L("0.41", "9"),), (L("0.60", "2"),)),
    ]


def test_market_resolved_variants() -> None:
    proto = PolymarketProtocol()
    proto.receive(BOOK, RECV)
    frame = (
        '{"event_type":"market_resolved","market":"' + MKT + '","assets_ids":["' + YES + '","' + NO + '"],'
        '"winning_asset_id":"' + YES + '","winning_outcome":"Yes","timestamp":"1757908999000"}'
    )
    result = proto.receive(frame, RECV)
    assert [(q.instrument, q.status, q.event_ts) for q in result.quotes] == [
        (YES, "settled", 1_757_908_999_000),
        (NO, "settled", 1_757_908_999_000),
    ]
    q = only_quote(PolymarketProtocol().receive('{"event_type":"market_resolved","asset_id":"tok"}', RECV))
    assert (q.instrument, q.status, q.event_ts) == ("tok", "settled", RECV)
    q = only_quote(PolymarketProtocol().receive('{"event_type":"market_resolved","asset_ids":["t2"]}', RECV))
    assert (q.instrument, q.status) == ("t2", "settled")


@pytest.mark.parametrize(
    "frame",
    [
        "PONG",
        b"PONG",
        "[]",
        '{"event_type":"last_trade_price","asset_id":"1","market":"m","price":"0.456","side":"BUY",'
        '"size":"219.217767","fee_rate_bps":"0","timestamp":"1750428146322"}',
        '{"event_type":"tick_size_change","asset_id":"1","market":"m","old_tick_size":"0.01","new_tick_size":"0.001"}',
        '{"event_type":"best_bid_ask","asset_id":"1","best_bid":"0.4"}',
    ],
)
def test_ignored_frames(frame: str | bytes) -> None:
    assert PolymarketProtocol().receive(frame, RECV) == ParseResult([], [], [])


def test_price_change_without_book_requests_resync_once() -> None:
    proto = PolymarketProtocol()
    frame = '{"event_type":"price_change","price_changes":[{"asset_id":"t","price":"0.5","size":"1","side":"BUY"}]}'
    assert proto.receive(frame, RECV) == ParseResult([], [], ["t"])
    assert proto.receive(frame, RECV) == ParseResult([], [], [])
    q = only_quote(proto.receive('{"event_type":"book","asset_id":"t","bids":[],"asks":[]}', RECV))
    assert q.in_sync is True and q.buy_yes == () and q.buy_no == ()


def test_bad_change_desyncs_only_its_token() -> None:
    proto = PolymarketProtocol()
    proto.receive(BOOK, RECV)
    proto.receive(BOOK.replace(YES, NO), RECV)
    frame = (
        '{"event_type":"price_change","timestamp":"1757908892400","price_changes":['
        '{"asset_id":"' + YES + '","price":"abc","size":"1","side":"BUY"},'
        '{"asset_id":"' + NO + '","price":"0.55","size":"4","side":"SELL"}]}'
    )
    result = proto.receive(frame, RECV)
    assert result.errors == ["polymarket price_change: field 'price' is not a number: 'abc'"]
    assert result.resync == [YES]
    assert [(q.instrument, q.in_sync) for q in result.quotes] == [(YES, False), (NO, True)]
    assert result.quotes[1].buy_yes[-1] == L("0.55", "4")


@pytest.mark.parametrize(
    ("frame", "errors"),
    [
        ("PONGX", ["polymarket: frame is not valid JSON"]),
        ("{bad", ["polymarket: frame is not valid JSON"]),
        ("42", ["polymarket: frame is not a JSON object or array"]),
        (
            '[1, {"event_type":"book"}]',
            ["polymarket: event is not a JSON object", "polymarket book: missing field 'asset_id'"],
        ),
        (
            '{"event_type":"book","asset_id":"t","bids":[{"price":"0.5"}]}',
            ["polymarket book: missing field 'size'"],
        ),
        (
            '{"event_type":"book","asset_id":"t","asks":[{"price":"1.5","size":"1"}]}',
            ["polymarket book: field 'price' out of range (0, 1): 1.5"],
        ),
        (
            '{"event_type":"book","asset_id":"t","asks":{"price":"0.5"}}',
            ["polymarket book: field 'asks' is not a list"],
        ),
        ('{"event_type":"price_change","changes":[]}', ["polymarket price_change: missing field 'asset_id'"]),
        (
            '{"event_type":"price_change","price_changes":[{"price":"0.5","size":"1","side":"BUY"}]}',
            ["polymarket price_change: missing field 'asset_id'"],
        ),
        (
            '{"event_type":"price_change","price_changes":[{"asset_id":"t","price":"0.5","size":"1","side":"HOLD"}]}',
            ["polymarket price_change: field 'side' is not BUY or SELL: 'HOLD'"],
        ),
        (
            '{"event_type":"market_resolved","market":"m"}',
            ["polymarket market_resolved: missing field 'assets_ids'"],
        ),
    ],
)
def test_malformed_input_is_rejected_with_reason(frame: str, errors: list[str]) -> None:
    result = PolymarketProtocol().receive(frame, RECV)
    assert result.errors == errors
    assert result.quotes == []
