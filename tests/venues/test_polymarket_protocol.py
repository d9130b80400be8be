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
    ("frame", "kind"),
    [
        ("PONG", "keepalive"),
        (b"PONG", "keepalive"),
        ("[]", "empty"),
        (
            '{"event_type":"last_trade_price","asset_id":"1","market":"m","price":"0.456","side":"BUY",'
            '"size":"219.217767","fee_rate_bps":"0","timestamp":"1750428146322"}',
            "last_trade_price",
        ),
        (
            '{"event_type":"tick_size_change","asset_id":"1","market":"m","old_tick_size":"0.01","new_tick_size":"0.001"}',
            "tick_size_change",
        ),
        ('{"event_type":"best_bid_ask","asset_id":"1","best_bid":"0.4"}', "best_bid_ask"),
        ('{"event_type":"settlement_preview","sequence":2}', "unknown"),
    ],
)
def test_ignored_frames(frame: str | bytes, kind: str) -> None:
    assert PolymarketProtocol().receive(frame, RECV) == ParseResult(ignored=[kind])


def test_price_change_without_book_requests_resync_once() -> None:
    proto = PolymarketProtocol()
    frame = '{"event_type":"price_change","price_changes":[{"asset_id":"t","price":"0.5","size":"1","side":"BUY"}]}'
    assert proto.receive(frame, RECV) == ParseResult(resync=["t"], desyncs=["no_snapshot"], fallback_ts=1)
    assert proto.receive(frame, RECV) == ParseResult(ignored=["awaiting_snapshot"], fallback_ts=1)
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


def test_venue_best_bid_ask_that_disagrees_desyncs_the_token() -> None:
    proto = PolymarketProtocol()
    proto.receive(BOOK, RECV)
    agree = (
        '{"event_type":"best_bid_ask","asset_id":"'
        + YES
        + '","best_bid":"0.5","best_ask":"0.52","spread":"0.02","timestamp":"1757908892500"}'
    )
    assert proto.receive(agree, RECV) == ParseResult(ignored=["best_bid_ask"])
    disagree = agree.replace('"best_ask":"0.52"', '"best_ask":"0.53"')
    result = proto.receive(disagree, RECV)
    assert result.resync == [YES] and result.desyncs == ["best_mismatch"]
    assert [(q.in_sync, q.event_ts) for q in result.quotes] == [(False, 1_757_908_892_500)]


def test_per_change_best_prices_are_checked_against_the_book_after_the_event() -> None:
    proto = PolymarketProtocol()
    proto.receive(BOOK, RECV)
    frame = (
        '{"event_type":"price_change","market":"' + MKT + '","timestamp":"1757908892400","price_changes":['
        '{"asset_id":"'
        + YES
        + '","price":"0.51","size":"5","side":"SELL","best_bid":"0.5","best_ask":"0.51"},'
        '{"asset_id":"'
        + YES
        + '","price":"0.50","size":"0","side":"BUY","best_bid":"0.5","best_ask":"0.51"}]}'
    )
    result = proto.receive(frame, RECV)  # after the second change the best bid is 0.49, not 0.5
    assert result.desyncs == ["best_mismatch"] and result.resync == [YES]
    assert [q.in_sync for q in result.quotes] == [False]


def test_entries_stamped_with_the_book_after_the_whole_event_are_in_sync() -> None:
    # Every entry of one event carries the best bid/ask after the event (as real frames and the
    # --market simulator send them): checked against the final book, not after each entry.
    proto = PolymarketProtocol()
    proto.receive(BOOK, RECV)
    frame = (
        '{"event_type":"price_change","market":"' + MKT + '","timestamp":"1757908892400","price_changes":['
        '{"asset_id":"'
        + YES
        + '","price":"0.50","size":"0","side":"BUY","best_bid":"0.51","best_ask":"0.52"},'
        '{"asset_id":"'
        + YES
        + '","price":"0.51","size":"40","side":"BUY","best_bid":"0.51","best_ask":"0.52"}]}'
    )
    q = only_quote(proto.receive(frame, RECV))  # after the first entry alone the best bid is 0.49
    assert q.in_sync and q.buy_no[0] == L("0.49", "40")


def test_market_resolved_with_only_the_winner_settles_every_token_of_the_market() -> None:
    proto = PolymarketProtocol()
    proto.receive(BOOK, RECV)
    proto.receive(BOOK.replace(YES, NO), RECV)
    frame = (
        '{"event_type":"market_resolved","market":"'
        + MKT
        + '","winning_asset_id":"'
        + NO
        + '","winning_outcome":"No","timestamp":"1757908999000"}'
    )
    result = proto.receive(frame, RECV)
    assert result.errors == []
    assert sorted((q.instrument, q.status) for q in result.quotes) == sorted(
        [(NO, "settled"), (YES, "settled")]
    )


def test_tick_size_change_rejects_new_levels_off_the_tick() -> None:
    proto = PolymarketProtocol()
    proto.receive(BOOK, RECV)  # tick_size 0.01
    finer = (
        '{"event_type":"price_change","asset_id":"'
        + YES
        + '","price":"0.515","side":"SELL","size":"3","timestamp":"1757908892400"}'
    )
    result = proto.receive(finer, RECV)
    assert result.errors == ["polymarket price_change: price 0.515 is off the tick (tick 0.01 of tick 0.01)"]
    assert result.desyncs == ["off_tick"] and result.resync == [YES]
    proto.receive(BOOK, RECV)
    change = (
        '{"event_type":"tick_size_change","asset_id":"'
        + YES
        + '","market":"'
        + MKT
        + '","old_tick_size":"0.01","new_tick_size":"0.001","timestamp":"1757908892450"}'
    )
    assert proto.receive(change, RECV) == ParseResult(ignored=["tick_size_change"])
    assert only_quote(proto.receive(finer, RECV)).buy_yes[0] == L("0.515", "3")
    # A level that existed before a coarser tick can still shrink or go.
    coarser = change.replace('"new_tick_size":"0.001"', '"new_tick_size":"0.01"')
    proto.receive(coarser, RECV)
    gone = finer.replace('"size":"3"', '"size":"0"')
    assert only_quote(proto.receive(gone, RECV)).buy_yes[0] == L("0.52", "25")


def test_gamma_market_sets_accepting_orders_and_tick() -> None:
    proto = PolymarketProtocol()
    proto.receive(BOOK, RECV)
    body = (
        '{"conditionId":"' + MKT + '","clobTokenIds":"[\\"' + YES + '\\", \\"' + NO + '\\"]",'
        '"endDate":"2026-06-01T00:00:00Z","active":true,"closed":false,"acceptingOrders":false,"orderPriceMinTickSize":0.001}'
    )
    result = proto.receive(body, RECV, source="rest", path="/markets")
    assert [(q.instrument, q.status) for q in result.quotes] == [(YES, "halted")]
    assert result.ignored == ["rest market"]  # the NO token has no book yet
    rule = proto.tick_rule(YES)
    assert rule is not None and rule.allows(D("0.515"))
    closed = body.replace('"closed":false', '"closed":true')
    assert [q.status for q in proto.receive(closed, RECV, source="rest").quotes] == ["closed"]


def test_rest_book_is_a_snapshot() -> None:
    proto = PolymarketProtocol()
    body = (
        '{"market":"'
        + MKT
        + '","asset_id":"'
        + YES
        + '","timestamp":"1757908892351","bids":[{"price":"0.48","size":"1"}],"asks":[]}'
    )
    q = only_quote(proto.receive(body, RECV, source="rest", path="/book?token_id=" + YES))
    assert (q.in_sync, q.buy_no, q.event_ts) == (True, (L("0.52", "1"),), 1_757_908_892_351)


def test_event_time_far_in_the_future_is_not_believed() -> None:
    result = PolymarketProtocol().receive(BOOK.replace("1757908892351", "123456789000"), RECV)
    assert only_quote(result).event_ts == RECV and result.fallback_ts == 1


def test_changes_older_than_a_rest_snapshot_are_not_applied_again() -> None:
    """In flight while ``GET /book`` was answered: already in the snapshot, so skipped (counted)."""
    proto = PolymarketProtocol()
    body = (
        '{"market":"' + MKT + '","asset_id":"' + YES + '","timestamp":"1757908892351",'
        '"bids":[{"price":"0.48","size":"10"}],"asks":[{"price":"0.52","size":"10"}]}'
    )
    only_quote(proto.receive(body, RECV, source="rest", path="/book?token_id=" + YES))

    def change(ts: int, size: str) -> str:
        return (
            '{"event_type":"price_change","market":"' + MKT + '","timestamp":"' + str(ts) + '",'
            '"price_changes":[{"asset_id":"' + YES + '","price":"0.48","size":"' + size + '","side":"BUY"}]}'
        )

    stale = proto.receive(change(1_757_908_892_000, "3"), RECV)
    assert stale == ParseResult(ignored=["before_snapshot"])
    fresh = only_quote(proto.receive(change(1_757_908_892_400, "7"), RECV))
    assert fresh.buy_no == (L("0.52", "7"),)  # 1 - best bid 0.48, size 7
    # A WebSocket ``book`` is in stream order: nothing after it is stale.
    ws_book = body[:-1] + ',"event_type":"book"}'
    only_quote(proto.receive(ws_book.replace("1757908892351", "1757908892500"), RECV))
    assert only_quote(proto.receive(change(1_757_908_892_000, "4"), RECV)).buy_no == (L("0.52", "4"),)
