"""ManifoldProtocol: REST bodies, WS broadcasts, id -> slug keying, statuses, bad input."""
# ruff: noqa: E501  (frames are kept verbatim as the venues send them)

from __future__ import annotations

from decimal import Decimal as D

import pytest

from echoarb.model import InstrumentQuote, Level
from echoarb.venues.manifold.protocol import ManifoldProtocol
from echoarb.venues.parsing import ParseResult

RECV = 1_757_908_900_000
CID = "IcYKkQfLt0f4nQ0J1l3Y"
SLUG = "will-the-fed-cut-rates-in-march-2025"
REST_BODY = (
    '{"id":"' + CID + '","creatorId":"u1","creatorUsername":"fed","createdTime":1700000000000,'
    '"closeTime":1893456000000,"question":"Will the Fed cut rates in March 2025?","slug":"' + SLUG + '",'
    '"url":"https://manifold.markets/fed/' + SLUG + '","pool":{"NO":632.4,"YES":1402.1},'
    '"probability":0.6123456789,"p":0.5,"totalLiquidity":1000,"outcomeType":"BINARY",'
    '"mechanism":"cpmm-1","volume":12000.5,"isResolved":false,"lastUpdatedTime":1757900000000,'
    '"token":"MANA","textDescription":"..."}'
)


def L(price: str, size: str) -> Level:
    return Level(D(price), D(size))


def only_quote(result: ParseResult) -> InstrumentQuote:
    assert result.errors == [] and result.resync == []
    assert len(result.quotes) == 1, result.quotes
    return result.quotes[0]


def test_rest_then_ws_is_keyed_by_slug() -> None:
    proto = ManifoldProtocol()
    q = only_quote(proto.receive(REST_BODY, RECV, source="rest", path=f"/v0/slug/{SLUG}"))
    assert (q.venue, q.instrument, q.status, q.in_sync) == ("manifold", SLUG, "open", True)
    assert q.buy_yes == (L("0.612346", "100"),)
    assert q.buy_no == (L("0.387654", "100"),)
    assert q.event_ts == 1_757_900_000_000  # the contract's lastUpdatedTime
    assert proto.slug_of(CID) == SLUG

    bet = (
        '{"type":"broadcast","topic":"contract/' + CID + '/new-bet","data":{"bets":['
        '{"id":"b1","userId":"u2","contractId":"' + CID + '","createdTime":1757908890000,"amount":10,'
        '"outcome":"YES","shares":15.3,"probBefore":0.61,"probAfter":0.62,"fees":{"platformFee":0}},'
        '{"id":"b2","contractId":"'
        + CID
        + '","createdTime":1757908891000,"probBefore":0.62,"probAfter":0.655}]}}'
    )
    q = only_quote(proto.receive(bet, RECV))
    assert q.instrument == SLUG
    assert q.buy_yes == (L("0.655", "100"),) and q.buy_no == (L("0.345", "100"),)
    assert q.event_ts == 1_757_908_891_000

    update = (
        '{"type":"broadcast","topic":"contract/' + CID + '","data":{"contract":{"id":"' + CID + '",'
        '"prob":0.7,"lastUpdatedTime":1757908895000,"volume24Hours":5}}}'
    )
    q = only_quote(proto.receive(update.encode(), RECV))
    assert (q.instrument, q.buy_yes, q.event_ts) == (SLUG, (L("0.7", "100"),), 1_757_908_895_000)


def test_ws_before_rest_uses_id_then_slug() -> None:
    proto = ManifoldProtocol(signal_size=D("25"))
    update = '{"type":"broadcast","topic":"contract/' + CID + '","data":{"contract":{"probability":0.25}}}'
    q = only_quote(proto.receive(update, RECV))
    assert (q.instrument, q.buy_yes, q.buy_no) == (CID, (L("0.25", "25"),), (L("0.75", "25"),))
    body = '{"id":"' + CID + '","slug":"' + SLUG + '","probability":0.3,"isResolved":false}'
    q = only_quote(proto.receive(body, RECV, source="rest", path=f"/market/{CID}"))
    assert q.instrument == SLUG
    q = only_quote(proto.receive(update, RECV))
    assert (q.instrument, q.buy_yes) == (SLUG, (L("0.25", "25"),))


def test_rest_prob_endpoint_uses_path_id() -> None:
    proto = ManifoldProtocol()
    q = only_quote(proto.receive('{"prob":0.42}', RECV, source="rest", path=f"/v0/market/{CID}/prob"))
    assert (q.instrument, q.buy_yes) == (CID, (L("0.42", "100"),))


def test_statuses() -> None:
    proto = ManifoldProtocol()
    resolved = '{"id":"r1","slug":"res","probability":1,"isResolved":true,"resolution":"YES"}'
    q = only_quote(proto.receive(resolved, RECV, source="rest", path="/slug/res"))
    assert (q.status, q.buy_yes, q.buy_no) == ("settled", (L("1", "100"),), (L("0", "100"),))
    closed = '{"id":"c1","slug":"closed-one","probability":0.5,"isResolved":false,"closeTime":1757908899999}'
    assert only_quote(proto.receive(closed, RECV, source="rest", path="/slug/closed-one")).status == "closed"
    # the same market seen by a WS bet placed before its close time is still open at that time
    bet = '{"type":"broadcast","topic":"contract/c1/new-bet","data":{"bets":[{"probAfter":0.51,"createdTime":1757908800000}]}}'
    assert only_quote(proto.receive(bet, RECV)).status == "open"


@pytest.mark.parametrize(
    ("frame", "kind"),
    [
        ('{"type":"ack","txid":1,"success":true}', "ack"),
        ('{"type":"pong","txid":2}', "unknown"),
        ('{"type":"broadcast","topic":"global/new-bet","data":{"bets":[]}}', "topic global"),
        ('{"type":"broadcast","topic":"contract/abc/orders","data":{"orders":[]}}', "topic orders"),
        ('{"type":"broadcast","topic":"contract/abc/new-bet","data":{"bets":[]}}', "new-bet without bets"),
    ],
)
def test_ignored_frames(frame: str, kind: str) -> None:
    assert ManifoldProtocol().receive(frame, RECV) == ParseResult(ignored=[kind])


def test_answer_bets_are_signal_only_categorical_legs() -> None:
    proto = ManifoldProtocol()
    body = '{"id":"m1","slug":"who-wins","outcomeType":"MULTIPLE_CHOICE","lastUpdatedTime":1757900000000,"answers":[{"id":"a1","text":"A","probability":0.6},{"id":"a2","text":"B","probability":0.4}]}'
    result = proto.receive(body, RECV, source="rest", path="/slug/who-wins")
    assert [(q.instrument, q.buy_yes, q.event_ts) for q in result.quotes] == [
        ("who-wins#a1", (L("0.6", "100"),), 1_757_900_000_000),
        ("who-wins#a2", (L("0.4", "100"),), 1_757_900_000_000),
    ]
    bet = '{"type":"broadcast","topic":"contract/m1/new-bet","data":{"bets":[{"contractId":"m1","answerId":"a1","probAfter":0.3,"createdTime":1757908000000}]}}'
    q = only_quote(proto.receive(bet, RECV))
    assert (q.instrument, q.buy_yes, q.event_ts) == ("who-wins#a1", (L("0.3", "100"),), 1_757_908_000_000)
    probs = '{"answerProbs":{"a1":0.35,"a2":0.65}}'
    result = proto.receive(probs, RECV, source="rest", path="/v0/market/m1/prob")
    assert [(q.instrument, q.event_ts) for q in result.quotes] == [
        ("who-wins#a1", RECV),
        ("who-wins#a2", RECV),
    ]
    assert result.fallback_ts == 1


def test_a_body_without_probability_never_refreshes_the_old_one() -> None:
    proto = ManifoldProtocol()
    proto.receive(REST_BODY, RECV, source="rest", path=f"/v0/slug/{SLUG}")
    bare = '{"id":"' + CID + '","slug":"' + SLUG + '","isResolved":false,"lastUpdatedTime":1757908000000}'
    assert proto.receive(bare, RECV + 5, source="rest", path=f"/v0/slug/{SLUG}") == ParseResult(
        ignored=["rest without probability"]
    )
    resolved = bare.replace('"isResolved":false', '"isResolved":true')
    q = only_quote(proto.receive(resolved, RECV + 9, source="rest", path=f"/v0/slug/{SLUG}"))
    assert (q.status, q.event_ts, q.buy_yes) == ("settled", 1_757_900_000_000, (L("0.612346", "100"),))


@pytest.mark.parametrize(
    ("frame", "source", "path", "reason"),
    [
        ("<html>502</html>", "rest", "/slug/x", "manifold rest /slug/x: frame is not valid JSON"),
        ("[]", "rest", "/slug/x", "manifold rest /slug/x: frame is not a JSON object"),
        ("[1]", "rest", "/v0/markets", "manifold rest /v0/markets: market is not a JSON object"),
        ('{"probability":0.5}', "rest", None, "manifold rest: missing field 'id'"),
        (
            '{"id":"m1","outcomeType":"BINARY"}',
            "rest",
            "/market/m1",
            "manifold rest /market/m1: missing field 'probability'",
        ),
        (
            '{"id":"m1","probability":"high"}',
            "rest",
            None,
            "manifold rest: field 'probability' is not a number: 'high'",
        ),
        (
            '{"id":"m1","probability":1.2}',
            "rest",
            None,
            "manifold rest: field 'probability' out of range [0, 1]: 1.200000",
        ),
        ("nope", "ws", None, "manifold: frame is not valid JSON"),
        ('{"type":"broadcast"}', "ws", None, "manifold: missing field 'topic'"),
        (
            '{"type":"broadcast","topic":"contract/abc"}',
            "ws",
            None,
            "manifold contract/abc: missing field 'data'",
        ),
        (
            '{"type":"broadcast","topic":"contract/abc","data":{"contract":{"prob":"x"}}}',
            "ws",
            None,
            "manifold contract/abc: field 'prob' is not a number: 'x'",
        ),
        (
            '{"type":"broadcast","topic":"contract/abc/new-bet","data":{"bets":[{"createdTime":1}]}}',
            "ws",
            None,
            "manifold contract/abc/new-bet: missing field 'probAfter'",
        ),
        (
            '{"type":"broadcast","topic":"contract/abc/new-bet","data":{"bets":"many"}}',
            "ws",
            None,
            "manifold contract/abc/new-bet: field 'bets' is not a list",
        ),
    ],
)
def test_malformed_input_is_rejected_with_reason(
    frame: str, source: str, path: str | None, reason: str
) -> None:
    result = ManifoldProtocol().receive(frame, RECV, source=source, path=path)
    assert result == ParseResult([], [reason], [])


def test_other_parsers_accept_the_same_keywords() -> None:
    from echoarb.venues.kalshi.protocol import KalshiProtocol
    from echoarb.venues.polymarket.protocol import PolymarketProtocol

    assert KalshiProtocol().receive("{}", RECV, source="ws", path=None) == ParseResult(ignored=["unknown"])
    assert PolymarketProtocol().receive("{}", RECV, source="rest", path="/x") == ParseResult(
        errors=["polymarket rest /x: missing field 'clobTokenIds'"]
    )
