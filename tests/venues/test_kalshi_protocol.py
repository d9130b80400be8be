"""KalshiProtocol: legacy and fixed-point books, seq gaps, lifecycle, malformed frames."""
# ruff: noqa: E501  (frames are kept verbatim as the venues send them)

from __future__ import annotations

from decimal import Decimal as D

import pytest

from echoarb.model import InstrumentQuote, Level
from echoarb.venues.kalshi.protocol import KalshiProtocol
from echoarb.venues.parsing import ParseResult, to_epoch_ms

T = "FED-25MAR-T4.75"
RECV = 1_757_908_900_000

LEGACY_SNAPSHOT = (
    '{"type":"orderbook_snapshot","sid":2,"seq":1,"msg":{"market_ticker":"FED-25MAR-T4.75",'
    '"market_id":"9b0f6b43-5b68-4f9f-9f02-9a2d1b2b3c4d","yes":[[8,300],[22,333]],"no":[[54,20],[56,146]]}}'
)
FP_SNAPSHOT = (
    '{"type":"orderbook_snapshot","sid":2,"seq":1,"msg":{"market_ticker":"FED-25MAR-T4.75",'
    '"market_id":"9b0f6b43","yes_dollars_fp":[["0.0800","300.00"],["0.2200","333.00"]],'
    '"no_dollars_fp":[["0.5400","20.00"],["0.5600","146.50"]]}}'
)


def L(price: str, size: str) -> Level:
    return Level(D(price), D(size))


def only_quote(result: ParseResult) -> InstrumentQuote:
    assert result.errors == []
    assert len(result.quotes) == 1, result.quotes
    return result.quotes[0]


def test_legacy_snapshot_and_delta() -> None:
    proto = KalshiProtocol()
    q = only_quote(proto.receive(LEGACY_SNAPSHOT, RECV))
    assert q.venue == "kalshi" and q.instrument == T
    assert q.buy_yes == (L("0.44", "146"), L("0.46", "20"))  # 1 - NO bids
    assert q.buy_no == (L("0.78", "333"), L("0.92", "300"))  # 1 - YES bids
    assert q.status == "open" and q.in_sync is True
    assert q.event_ts == RECV and q.recv_ts == RECV

    delta = (
        '{"type":"orderbook_delta","sid":2,"seq":2,"msg":{"market_ticker":"FED-25MAR-T4.75",'
        '"price":56,"delta":-146,"side":"no","ts":"2025-09-15T04:01:32.351Z"}}'
    )
    q = only_quote(proto.receive(delta, RECV + 5))
    assert q.buy_yes == (L("0.46", "20"),)
    assert q.buy_no == (L("0.78", "333"), L("0.92", "300"))
    assert q.event_ts == 1_757_908_892_351 and q.recv_ts == RECV + 5

    add = '{"type":"orderbook_delta","sid":2,"seq":3,"msg":{"market_ticker":"FED-25MAR-T4.75","price":25,"delta":10,"side":"yes","ts":1757908893}}'
    q = only_quote(proto.receive(add.encode(), RECV))
    assert q.buy_no == (L("0.75", "10"), L("0.78", "333"), L("0.92", "300"))
    assert q.event_ts == 1_757_908_893_000


def test_fixed_point_snapshot_and_delta() -> None:
    proto = KalshiProtocol(depth=1)
    q = only_quote(proto.receive(FP_SNAPSHOT, RECV))
    assert q.buy_yes == (L("0.44", "146.5"),)
    assert q.buy_no == (L("0.78", "333"),)
    delta = (
        '{"type":"orderbook_delta","sid":2,"seq":2,"msg":{"market_ticker":"FED-25MAR-T4.75",'
        '"price_dollars":"0.5600","delta_fp":"-46.50","side":"no","ts":1757908892351,"client_order_id":"x"}}'
    )
    q = only_quote(proto.receive(delta, RECV))
    assert q.buy_yes == (L("0.44", "100"),)
    assert q.event_ts == 1_757_908_892_351
    # fixed-point wins over legacy when both are present; deci-cent prices are kept exactly
    both = (
        '{"type":"orderbook_delta","sid":2,"seq":3,"msg":{"market_ticker":"FED-25MAR-T4.75",'
        '"price":22,"delta":1,"price_dollars":"0.2250","delta_fp":"5.25","side":"yes"}}'
    )
    q = only_quote(proto.receive(both, RECV))
    assert q.buy_no == (L("0.7750", "5.25"),)


def test_absent_sides_are_empty_and_unknown_fields_ignored() -> None:
    proto = KalshiProtocol()
    frame = (
        '{"type":"orderbook_snapshot","sid":7,"seq":1,"future":{"a":1},'
        '"msg":{"market_ticker":"KX-A","yes_dollars_fp":[["0.3100","12.00"]],"new_field":[1,2]}}'
    )
    q = only_quote(proto.receive(frame, RECV))
    assert q.buy_yes == ()
    assert q.buy_no == (L("0.69", "12"),)
    q = only_quote(
        proto.receive('{"type":"orderbook_snapshot","sid":7,"seq":2,"msg":{"market_ticker":"KX-A"}}', RECV)
    )
    assert q.buy_yes == () and q.buy_no == ()


def test_seq_gap_marks_sid_out_of_sync_until_snapshot() -> None:
    proto = KalshiProtocol()
    proto.receive(LEGACY_SNAPSHOT, RECV)
    other = '{"type":"orderbook_snapshot","sid":2,"seq":2,"msg":{"market_ticker":"KX-B","yes":[[40,5]]}}'
    proto.receive(other, RECV)
    unrelated = '{"type":"orderbook_snapshot","sid":9,"seq":1,"msg":{"market_ticker":"KX-C","yes":[[40,5]]}}'
    proto.receive(unrelated, RECV)

    gap = '{"type":"orderbook_delta","sid":2,"seq":5,"msg":{"market_ticker":"KX-B","price":40,"delta":1,"side":"yes"}}'
    result = proto.receive(gap, RECV + 1)
    assert result.errors == []
    assert sorted(result.resync) == [T, "KX-B"]
    assert {(q.instrument, q.in_sync) for q in result.quotes} == {(T, False), ("KX-B", False)}
    b = next(q for q in result.quotes if q.instrument == "KX-B")
    assert b.buy_no == (L("0.60", "5"),)  # the delta after the gap was not applied

    assert result.desyncs == ["seq_gap", "seq_gap"]

    # Further deltas for an out-of-sync book are dropped (counted); resync is not repeated.
    later = '{"type":"orderbook_delta","sid":2,"seq":6,"msg":{"market_ticker":"KX-B","price":40,"delta":1,"side":"yes"}}'
    assert proto.receive(later, RECV) == ParseResult(ignored=["awaiting_snapshot"], fallback_ts=1)

    heal = (
        '{"type":"orderbook_snapshot","sid":2,"seq":7,"msg":{"market_ticker":"FED-25MAR-T4.75",'
        '"yes_dollars_fp":[["0.3000","1.00"]],"no_dollars_fp":[]}}'
    )
    q = only_quote(proto.receive(heal, RECV))
    assert q.in_sync is True and q.buy_no == (L("0.70", "1"),) and q.buy_yes == ()
    q = only_quote(
        proto.receive(
            '{"type":"orderbook_delta","sid":2,"seq":8,"msg":{"market_ticker":"FED-25MAR-T4.75","price":30,"delta":2,"side":"yes"}}',
            RECV,
        )
    )
    assert q.in_sync is True and q.buy_no == (L("0.70", "3"),)
    # KX-B still out of sync; the sid-9 book was never affected.
    q = only_quote(
        proto.receive(
            '{"type":"orderbook_delta","sid":9,"seq":2,"msg":{"market_ticker":"KX-C","price":40,"delta":1,"side":"yes"}}',
            RECV,
        )
    )
    assert q.in_sync is True and q.buy_no == (L("0.60", "6"),)


def test_snapshot_revealing_gap_heals_itself() -> None:
    proto = KalshiProtocol()
    proto.receive(LEGACY_SNAPSHOT, RECV)
    proto.receive(
        '{"type":"orderbook_snapshot","sid":2,"seq":2,"msg":{"market_ticker":"KX-B","yes":[[40,5]]}}', RECV
    )
    result = proto.receive(
        '{"type":"orderbook_snapshot","sid":2,"seq":9,"msg":{"market_ticker":"KX-B","yes":[[41,5]]}}', RECV
    )
    assert result.resync == [T]
    assert [(q.instrument, q.in_sync) for q in result.quotes] == [(T, False), ("KX-B", True)]


def test_delta_without_snapshot_requests_resync() -> None:
    proto = KalshiProtocol()
    frame = '{"type":"orderbook_delta","sid":3,"seq":1,"msg":{"market_ticker":"KX-NEW","price":40,"delta":1,"side":"yes"}}'
    assert proto.receive(frame, RECV) == ParseResult(
        resync=["KX-NEW"], desyncs=["no_snapshot"], fallback_ts=1
    )


def test_lifecycle_updates_status() -> None:
    proto = KalshiProtocol()
    proto.receive(LEGACY_SNAPSHOT, RECV)
    expected = {"deactivated": "halted", "activated": "open", "determined": "closed", "settled": "settled"}
    for event_type, status in expected.items():
        frame = (
            '{"type":"market_lifecycle_v2","sid":13,"msg":{"market_ticker":"FED-25MAR-T4.75",'
            f'"event_type":"{event_type}","open_ts":1757900000,"close_ts":1757990000}}}}'
        )
        q = only_quote(proto.receive(frame, RECV))
        assert q.status == status and q.in_sync is True
        assert q.buy_yes == (L("0.44", "146"), L("0.46", "20"))
    assert proto.market_status(T) == "settled"
    # created: the market is known (no book yet), its times are kept.
    created = '{"type":"market_lifecycle_v2","sid":13,"msg":{"market_ticker":"KX-Z","event_type":"created","open_ts":1757900000,"close_ts":1757990000}}'
    q = only_quote(proto.receive(created, RECV))
    assert (q.status, q.in_sync, q.close_ts) == ("open", False, 1_757_990_000_000)
    # A status for a market without a book: empty ladders, not in sync (no snapshot yet).
    q = only_quote(
        proto.receive(
            '{"type":"market_lifecycle_v2","msg":{"market_ticker":"KX-Z","event_type":"deactivated"}}', RECV
        )
    )
    assert (q.instrument, q.status, q.in_sync, q.buy_yes, q.buy_no) == ("KX-Z", "halted", False, (), ())


@pytest.mark.parametrize(
    ("frame", "kind"),
    [
        (
            '{"type":"trade","sid":5,"msg":{"trade_id":"t1","market_ticker":"FED-25MAR-T4.75","yes_price":36,"no_price":64,"count":136,"taker_side":"no","ts":1669149841}}',
            "trade",
        ),
        ('{"id":1,"type":"subscribed","msg":{"channel":"orderbook_delta","sid":2}}', "subscribed"),
        ('{"id":3,"type":"ok","sid":2,"seq":4,"msg":{"market_tickers":["A"]}}', "ok"),
        ('{"type":"brand_new_type","msg":{}}', "unknown"),
        (
            '{"type":"market_lifecycle_v2","msg":{"market_ticker":"X","event_type":"metadata_updated"}}',
            "lifecycle metadata_updated",
        ),
    ],
)
def test_ignored_types(frame: str, kind: str) -> None:
    assert KalshiProtocol().receive(frame, RECV) == ParseResult(ignored=[kind])


def test_error_reply_is_reported() -> None:
    result = KalshiProtocol().receive(
        '{"id":1,"type":"error","msg":{"code":6,"msg":"Already subscribed"}}', RECV
    )
    assert result == ParseResult([], ["kalshi error: venue replied code 6: Already subscribed"], [])


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("not json at all", "kalshi: frame is not valid JSON"),
        (b"\xff\xfe", "kalshi: frame is not valid JSON"),
        ("[1,2]", "kalshi: frame is not a JSON object"),
        ('{"type":"orderbook_delta","sid":2,"seq":1}', "kalshi orderbook_delta: missing field 'msg'"),
        (
            '{"type":"orderbook_delta","sid":2,"seq":1,"msg":{"price":5,"delta":1,"side":"yes"}}',
            "kalshi orderbook_delta: missing field 'market_ticker'",
        ),
        (
            '{"type":"orderbook_snapshot","msg":{"market_ticker":"A","yes_dollars_fp":[["abc","1.00"]]}}',
            "kalshi orderbook_snapshot: field 'yes_dollars_fp' is not a number: 'abc'",
        ),
        (
            '{"type":"orderbook_snapshot","msg":{"market_ticker":"A","no":[[5]]}}',
            "kalshi orderbook_snapshot: bad level in 'no': [5]",
        ),
        (
            '{"type":"orderbook_snapshot","msg":{"market_ticker":"A","yes":[[150,1]]}}',
            "kalshi orderbook_snapshot: field 'yes' price out of range (0, 1): 1.5",
        ),
        (
            '{"type":"orderbook_delta","msg":{"market_ticker":"A","price_dollars":"x","delta_fp":"1","side":"yes"}}',
            "kalshi orderbook_delta: field 'price_dollars' is not a number: 'x'",
        ),
        (
            '{"type":"orderbook_delta","msg":{"market_ticker":"A","delta_fp":"1","side":"yes"}}',
            "kalshi orderbook_delta: missing field 'price_dollars' or 'price'",
        ),
        (
            '{"type":"orderbook_delta","msg":{"market_ticker":"A","price":5,"side":"maybe","delta":1}}',
            "kalshi orderbook_delta: field 'side' is not 'yes' or 'no': 'maybe'",
        ),
        (
            '{"type":"orderbook_delta","sid":"x","seq":1,"msg":{"market_ticker":"A"}}',
            "kalshi orderbook_delta: fields 'sid'/'seq' are not integers: 'x'/1",
        ),
        (
            '{"type":"market_lifecycle_v2","msg":{"market_ticker":"A"}}',
            "kalshi market_lifecycle_v2: missing field 'event_type'",
        ),
    ],
)
def test_malformed_frames_are_rejected_with_reason(frame: str | bytes, reason: str) -> None:
    result = KalshiProtocol().receive(frame, RECV)
    assert result.errors == [reason]
    assert result.quotes == []


def test_malformed_delta_on_live_book_desyncs_it() -> None:
    proto = KalshiProtocol()
    proto.receive(LEGACY_SNAPSHOT, RECV)
    bad = '{"type":"orderbook_delta","sid":2,"seq":2,"msg":{"market_ticker":"FED-25MAR-T4.75","price":"??","delta":1,"side":"yes"}}'
    result = proto.receive(bad, RECV)
    assert result.errors == ["kalshi orderbook_delta: field 'price' is not a number: '??'"]
    assert result.resync == [T]
    assert [(q.instrument, q.in_sync) for q in result.quotes] == [(T, False)]
    # the next in-order frame is not a gap, but the book stays untrusted until a snapshot
    ok = '{"type":"orderbook_delta","sid":2,"seq":3,"msg":{"market_ticker":"FED-25MAR-T4.75","price":30,"delta":1,"side":"yes"}}'
    assert proto.receive(ok, RECV) == ParseResult(ignored=["awaiting_snapshot"], fallback_ts=1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1757908892, 1_757_908_892_000),
        (D("1757908892.5"), 1_757_908_892_500),
        (1757908892351, 1_757_908_892_351),
        ("1757908892351", 1_757_908_892_351),
        ("1757908892", 1_757_908_892_000),
        (1757908892351000, 1_757_908_892_351),
        ("2025-09-15T04:01:32.351Z", 1_757_908_892_351),
        ("2025-09-15T06:01:32.351+02:00", 1_757_908_892_351),
        ("2025-09-15T04:01:32", 1_757_908_892_000),
        ("yesterday", None),
        (True, None),
        (-5, None),
        (None, None),
    ],
)
def test_timestamp_normalisation(value: object, expected: int | None) -> None:
    assert to_epoch_ms(value) == expected


def test_parsers_never_raise_on_truncated_or_mangled_frames() -> None:
    from echoarb.venues.manifold.protocol import ManifoldProtocol
    from echoarb.venues.polymarket.protocol import PolymarketProtocol

    frames = [
        LEGACY_SNAPSHOT,
        FP_SNAPSHOT,
        '{"type":"orderbook_delta","sid":2,"seq":2,"msg":{"market_ticker":"A","price":5,"delta":1,"side":"yes"}}',
    ]
    mangled = [f[:n] for f in frames for n in range(0, len(f), 7)]
    mangled += [f.replace('"', "'", 1) for f in frames] + [f.replace("[", "{") for f in frames]
    mangled += ["null", "true", '"str"', "{}", '{"type":null}', '{"type":"orderbook_snapshot","msg":[]}']
    parsers: list[KalshiProtocol | PolymarketProtocol | ManifoldProtocol] = [
        KalshiProtocol(),
        PolymarketProtocol(),
        ManifoldProtocol(),
    ]
    for frame in mangled:
        for parser in parsers:
            result = parser.receive(frame, RECV)
            assert isinstance(result, ParseResult)


def test_ts_ms_wins_over_the_deprecated_ts() -> None:
    proto = KalshiProtocol()
    proto.receive(FP_SNAPSHOT, RECV)
    both = '{"type":"orderbook_delta","sid":2,"seq":2,"msg":{"market_ticker":"FED-25MAR-T4.75","price_dollars":"0.0800","delta_fp":"5.00","side":"yes","ts":"2022-11-22T20:44:01Z","ts_ms":1757908892351}}'
    result = proto.receive(both, RECV)
    assert only_quote(result).event_ts == 1_757_908_892_351 and result.fallback_ts == 0
    neither = '{"type":"orderbook_delta","sid":2,"seq":3,"msg":{"market_ticker":"FED-25MAR-T4.75","price_dollars":"0.0800","delta_fp":"5.00","side":"yes"}}'
    result = proto.receive(neither, RECV)
    assert only_quote(result).event_ts == RECV and result.fallback_ts == 1


@pytest.mark.parametrize(
    ("stamp", "event_ts", "fallback"),
    [
        ('"ts":1757908893', 1_757_908_893_000, 0),  # epoch seconds (the delta fast path)
        ('"ts":1757908893123', 1_757_908_893_123, 0),  # already ms
        ('"ts":1757995301', RECV, 1),  # seconds, more than a day ahead: not believed
        ('"ts":1757995300', 1_757_995_300_000, 0),  # exactly a day ahead: believed
        ('"ts":999999999', 999_999_999_000, 0),  # below the fast path's range: read as before
        ('"ts":true', RECV, 1),
        ('"ts_ms":null,"ts":1757908893', 1_757_908_893_000, 0),
        ('"ts_ms":"x","ts":1757908893', 1_757_908_893_000, 0),  # unusable ts_ms: the next one
        ('"ts":1757908893,"sending_ts_ms":1757908899999', 1_757_908_893_000, 0),
    ],
)
def test_delta_event_time_from_seconds_equals_the_general_reading(
    stamp: str, event_ts: int, fallback: int
) -> None:
    proto = KalshiProtocol()
    proto.receive(FP_SNAPSHOT, RECV)
    frame = f'{{"type":"orderbook_delta","sid":2,"seq":2,"msg":{{"market_ticker":"{T}","price_dollars":"0.0800","delta_fp":"5.00","side":"yes",{stamp}}}}}'
    result = proto.receive(frame, RECV)
    assert (only_quote(result).event_ts, result.fallback_ts) == (event_ts, fallback)


@pytest.mark.parametrize(
    ("delta", "reason"),
    [
        ('"price_dollars":"0.9600","delta_fp":"-54.00","side":"yes"', "unknown_level"),  # 0.96 not held
        ('"price_dollars":"0.0800","delta_fp":"-300.01","side":"yes"', "over_removal"),  # 300 held
        ('"price_dollars":"0.5600","delta_fp":"-147.00","side":"no"', "over_removal"),  # 146.50 held
    ],
)
def test_a_delta_the_book_cannot_hold_marks_it_out_of_sync(delta: str, reason: str) -> None:
    proto = KalshiProtocol()
    proto.receive(FP_SNAPSHOT, RECV)
    frame = (
        '{"type":"orderbook_delta","sid":2,"seq":2,"msg":{"market_ticker":"FED-25MAR-T4.75",'
        + delta
        + ',"ts_ms":1757908892351}}'
    )
    result = proto.receive(frame, RECV)
    assert result.errors == [] and result.resync == [T] and result.desyncs == [reason]
    q = only_quote(result)
    assert q.in_sync is False and q.buy_no == (L("0.7800", "333.00"), L("0.9200", "300.00"))  # not applied
    exact = '{"type":"orderbook_delta","sid":2,"seq":3,"msg":{"market_ticker":"FED-25MAR-T4.75","price_dollars":"0.0800","delta_fp":"-300.00","side":"yes"}}'
    assert proto.receive(exact, RECV).ignored == ["awaiting_snapshot"]


def test_removing_exactly_a_level_is_fine() -> None:
    proto = KalshiProtocol()
    proto.receive(FP_SNAPSHOT, RECV)
    frame = '{"type":"orderbook_delta","sid":2,"seq":2,"msg":{"market_ticker":"FED-25MAR-T4.75","price_dollars":"0.0800","delta_fp":"-300.00","side":"yes","ts_ms":1757908892351}}'
    q = only_quote(proto.receive(frame, RECV))
    assert q.in_sync is True and q.buy_no == (L("0.7800", "333.00"),)


def test_close_time_from_lifecycle_closes_the_market_without_a_message() -> None:
    proto = KalshiProtocol()
    proto.receive(FP_SNAPSHOT, RECV)
    close_s = RECV // 1000 + 60
    update = f'{{"type":"market_lifecycle_v2","sid":13,"msg":{{"market_ticker":"{T}","close_ts":{close_s},"event_type":"close_date_updated"}}}}'
    q = only_quote(proto.receive(update, RECV))
    assert (q.status, q.close_ts, q.in_sync) == ("open", close_s * 1000, True)
    before = f'{{"type":"orderbook_delta","sid":2,"seq":2,"msg":{{"market_ticker":"{T}","price_dollars":"0.0800","delta_fp":"1.00","side":"yes","ts_ms":{close_s * 1000 - 1}}}}}'
    assert only_quote(proto.receive(before, RECV)).status == "open"
    after = f'{{"type":"orderbook_delta","sid":2,"seq":3,"msg":{{"market_ticker":"{T}","price_dollars":"0.0800","delta_fp":"1.00","side":"yes","ts_ms":{close_s * 1000}}}}}'
    assert only_quote(proto.receive(after, RECV)).status == "closed"
    assert proto.market_status(T, close_s * 1000) == "closed" and proto.close_ms(T) == close_s * 1000


def test_not_yet_open_is_not_tradable() -> None:
    proto = KalshiProtocol()
    created = f'{{"type":"market_lifecycle_v2","msg":{{"market_ticker":"KX-N","event_type":"created","open_ts":{RECV // 1000 + 10},"close_ts":{RECV // 1000 + 99}}}}}'
    assert only_quote(proto.receive(created, RECV)).status == "halted"


def test_lifecycle_event_times_are_the_times_they_name() -> None:
    proto = KalshiProtocol()
    determined = '{"type":"market_lifecycle_v2","msg":{"market_ticker":"KX-D","event_type":"determined","result":"yes","determination_ts":1757908000}}'
    assert only_quote(proto.receive(determined, RECV)).event_ts == 1_757_908_000_000
    settled = '{"type":"market_lifecycle_v2","msg":{"market_ticker":"KX-D","event_type":"settled","settled_ts":1757909000}}'
    q = only_quote(proto.receive(settled, RECV))
    assert (q.event_ts, q.status) == (1_757_909_000_000, "settled")


def test_price_level_structure_sets_the_tick_and_off_tick_prices_are_rejected() -> None:
    proto = KalshiProtocol()
    proto.receive(FP_SNAPSHOT, RECV)
    structure = '{"type":"market_lifecycle_v2","sid":13,"msg":{"market_ticker":"FED-25MAR-T4.75","event_type":"price_level_structure_updated","price_level_structure":"tapered_deci_cent"}}'
    assert proto.receive(structure, RECV) == ParseResult(ignored=["lifecycle price_level_structure_updated"])
    rule = proto.tick_rule(T)
    assert rule is not None and rule.name == "tapered_deci_cent"
    fine = '{"type":"orderbook_delta","sid":2,"seq":2,"msg":{"market_ticker":"FED-25MAR-T4.75","price_dollars":"0.0450","delta_fp":"1.00","side":"yes","ts_ms":1}}'
    assert only_quote(proto.receive(fine, RECV)).in_sync is True  # 0.001 ticks below 0.10
    off = '{"type":"orderbook_delta","sid":2,"seq":3,"msg":{"market_ticker":"FED-25MAR-T4.75","price_dollars":"0.4550","delta_fp":"1.00","side":"yes","ts_ms":1}}'
    result = proto.receive(off, RECV)
    assert result.errors == [
        "kalshi orderbook_delta: price 0.4550 is off the tick (tick 0.01 of tapered_deci_cent)"
    ]
    assert result.desyncs == ["off_tick"] and result.resync == [T]


def test_price_ranges_give_the_exact_bands() -> None:
    proto = KalshiProtocol()
    created = '{"type":"market_lifecycle_v2","msg":{"market_ticker":"KX-R","event_type":"created","price_level_structure":"center_half_edge_quint_cent","price_ranges":[{"start":"0.0000","end":"0.1000","step":"0.0005"},{"start":"0.1000","end":"0.9000","step":"0.0050"},{"start":"0.9000","end":"1.0000","step":"0.0005"}]}}'
    proto.receive(created, RECV)
    rule = proto.tick_rule("KX-R")
    assert rule is not None
    assert [rule.allows(D(p)) for p in ("0.0505", "0.1050", "0.1030", "0.9995")] == [True, True, False, True]
    bad = '{"type":"orderbook_snapshot","sid":4,"seq":1,"msg":{"market_ticker":"KX-R","yes_dollars_fp":[["0.1030","1.00"]]}}'
    result = proto.receive(bad, RECV)
    assert result.errors == [
        "kalshi orderbook_snapshot: price 0.1030 is off the tick (tick 0.0050 of center_half_edge_quint_cent)"
    ]
    assert result.desyncs == ["off_tick"]


def test_rest_market_bodies_set_close_time_status_and_tick() -> None:
    proto = KalshiProtocol()
    body = '{"market":{"ticker":"FED-25MAR-T4.75","status":"active","open_time":"2025-09-01T00:00:00Z","close_time":"2099-01-01T00:00:00Z","price_level_structure":"linear_cent"}}'
    assert proto.receive(
        body, RECV, source="rest", path="/trade-api/v2/markets/FED-25MAR-T4.75"
    ) == ParseResult(ignored=["rest market"], fallback_ts=1)
    q = only_quote(proto.receive(FP_SNAPSHOT, RECV))
    assert (q.status, q.close_ts) == ("open", 4_070_908_800_000)
    rule = proto.tick_rule(T)
    assert rule is not None and rule.name == "linear_cent"
    closed = '{"market":{"ticker":"FED-25MAR-T4.75","status":"closed"}}'
    assert only_quote(proto.receive(closed, RECV, source="rest")).status == "closed"


TICKER = (
    '{"type":"ticker","sid":4,"msg":{"market_ticker":"FED-25MAR-T4.75","price":48,'
    '"yes_bid":45,"yes_ask":53,"ts":1757908892}}'
)


def test_ticker_without_an_order_book_is_a_top_of_book_signal_never_in_sync() -> None:
    """Public-only mode: the ticker's best bid/ask, one placeholder contract each, not in sync."""
    from decimal import Decimal

    from echoarb.venues.kalshi.protocol import TOP_OF_BOOK_SIZE

    q = only_quote(KalshiProtocol().receive(TICKER, RECV))
    assert q.instrument == "FED-25MAR-T4.75" and q.in_sync is False and q.event_ts == 1_757_908_892_000
    assert [(lv.price, lv.size) for lv in q.buy_yes] == [(Decimal("0.53"), TOP_OF_BOOK_SIZE)]
    assert [(lv.price, lv.size) for lv in q.buy_no] == [(Decimal("0.55"), TOP_OF_BOOK_SIZE)]
    # No bid (0) and no ask (100 cents) are empty sides, not prices.
    empty = TICKER.replace('"yes_bid":45', '"yes_bid":0').replace('"yes_ask":53', '"yes_ask":100')
    q = only_quote(KalshiProtocol().receive(empty, RECV))
    assert q.buy_yes == () and q.buy_no == ()
    bad = KalshiProtocol().receive(TICKER.replace('"yes_ask":53', '"yes_ask":153'), RECV)
    assert bad.quotes == [] and bad.errors and "out of range" in bad.errors[0]


def test_ticker_is_ignored_once_the_market_has_an_order_book() -> None:
    proto = KalshiProtocol()
    snapshot = (
        '{"type":"orderbook_snapshot","sid":2,"seq":1,"msg":{"market_ticker":"FED-25MAR-T4.75",'
        '"yes_dollars_fp":[["0.4000","10.00"]],"no_dollars_fp":[["0.5000","10.00"]]}}'
    )
    assert only_quote(proto.receive(snapshot, RECV)).in_sync
    assert proto.receive(TICKER, RECV) == ParseResult(ignored=["ticker"])


def test_lifecycle_without_an_event_time_uses_the_envelope_sending_ts_ms() -> None:
    """The Kalshi docs' deactivated example: no time in ``msg``, the send time on the envelope."""
    frame = (
        '{"type":"market_lifecycle_v2","sending_ts_ms":1792000000150,"sid":13,"seq":4,'
        '"msg":{"market_ticker":"KXBTCPERP","event_type":"deactivated","is_deactivated":true}}'
    )
    result = KalshiProtocol().receive(frame, 1_792_000_000_400)
    q = only_quote(result)
    assert (q.event_ts, q.status, result.fallback_ts) == (1_792_000_000_150, "halted", 0)


_AHEAD = "2025-09-17T04:01:40.000Z"  # two days after RECV: not believed


@pytest.mark.parametrize(
    ("msg_ts", "envelope", "want", "fallback"),
    [
        ('"ts":"2025-09-15T04:01:39.123Z"', "", 1_757_908_899_123, 0),  # the ISO fast path
        ('"ts":" 2025-09-15T04:01:39.123Z "', "", 1_757_908_899_123, 0),
        ('"ts":"2025-09-15T04:01:39"', "", 1_757_908_899_000, 0),  # no zone: UTC
        ('"ts":"2025-09-15T06:01:39+02:00"', "", 1_757_908_899_000, 0),
        ('"ts_ms":"2025-09-15T04:01:39.123Z","ts":1757908800', "", 1_757_908_899_123, 0),
        (f'"ts":"{_AHEAD}"', "", RECV, 1),  # too far ahead: the receive time, counted
        (f'"ts":"{_AHEAD}"', ',"sending_ts_ms":1757908890000', RECV, 1),  # ahead is not skipped
        ('"ts":"2025-13-15T04:01:39.123Z"', ',"sending_ts_ms":1757908890000', 1_757_908_890_000, 0),
        ('"ts":"12:30 yesterday"', "", RECV, 1),  # not ISO: nothing usable
    ],
)
def test_delta_event_time_from_iso_text_follows_the_field_order(
    msg_ts: str, envelope: str, want: int, fallback: int
) -> None:
    proto = KalshiProtocol()
    proto.receive(FP_SNAPSHOT, RECV)
    delta = (
        f'{{"type":"orderbook_delta","sid":2,"seq":2{envelope},"msg":{{"market_ticker":"{T}",'
        f'"price_dollars":"0.0800","delta_fp":"5.00","side":"yes",{msg_ts}}}}}'
    )
    result = proto.receive(delta, RECV)
    assert only_quote(result).event_ts == want
    assert result.fallback_ts == fallback
