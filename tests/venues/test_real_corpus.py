"""Every real captured frame in ``tests/venues/real/`` has a pinned, deliberate outcome.

The expected lines are what the frame must produce (see ``real/corpus.py``): quotes with
their best levels, event time (``recv`` = the receive-time fallback) and status, errors,
resync requests, desync reasons, or a named "ignored" kind. A frame producing nothing at all
fails, so "accepted but produced nothing" cannot happen silently.
"""
# ruff: noqa: E501

from __future__ import annotations

import json
from pathlib import Path

import pytest

from echoarb.ingest.frames import FrameHandler
from echoarb.pairs import parse_pairs
from tests.venues.live_helpers import metric
from tests.venues.real.corpus import RECV, describe, load, replay

KALSHI: dict[str, list[str]] = {
    "docs-2026-02-snapshot": [
        "quote FED-23DEC-T3.00 yes=0.4400x146.00/2 no=0.7800x333.00/2 ts=recv open",
        "receive-time fallback x1",
    ],
    "docs-2026-02-delta-unknown-level": [
        "quote FED-23DEC-T3.00 yes=0.4400x146.00/2 no=0.7800x333.00/2 ts=1669149841000 open out-of-sync",
        "resync FED-23DEC-T3.00",
        "desync unknown_level",
    ],
    "docs-2026-02-ticker": ["ignored ticker"],
    "docs-2026-02-ticker-v2": ["ignored ticker_v2"],
    "docs-2026-02-trade": ["ignored trade"],
    "docs-2026-02-lifecycle-created": [
        "quote INXD-23SEP14-B4487 yes=- no=- ts=recv closed out-of-sync close=1694721600000",
        "receive-time fallback x1",
    ],
    "docs-2026-02-event-lifecycle": ["ignored event_lifecycle"],
    "docs-2026-snapshot-fp-only": [
        "quote FED-23DEC-T3.00 yes=0.4400x146.00/2 no=0.7800x333.00/2 ts=recv open",
        "receive-time fallback x1",
    ],
    "docs-2026-delta-ts-ms-unknown-level": [
        "quote FED-23DEC-T3.00 yes=0.4400x146.00/2 no=0.7800x333.00/2 ts=1669149841000 open out-of-sync",
        "resync FED-23DEC-T3.00",
        "desync unknown_level",
    ],
    "docs-2026-mve-lifecycle-created": [
        "quote KXMVE-TEST-EVENT-M1 yes=- no=- ts=recv closed out-of-sync close=1774022400000",
        "receive-time fallback x1",
    ],
    "docs-2026-event-lifecycle-exchange-index": ["ignored event_lifecycle"],
    "nautilus-snapshot": [
        "quote KXBTC-25MAR15-B100000 yes=0.4400x17.00/2 no=0.5800x13.00/2 ts=recv open",
        "receive-time fallback x1",
    ],
    "nautilus-delta-iso-ts": [
        "quote KXBTC-25MAR15-B100000 yes=0.4400x17.00/2 no=0.5800x63.00/2 ts=1740853613361 open"
    ],
    "nautilus-trade-fp": ["ignored trade"],
    "nautilus-rest-markets": [
        "quote KXBTC-25MAR15-B100000 yes=0.4400x17.00/2 no=0.5800x63.00/2 ts=recv closed close=1742083199000",
        "receive-time fallback x1",
    ],
    "nautilus-rest-orderbook": ["ignored rest orderbook"],
    # No order book seen for this market: its ticker is the top-of-book signal of public-only mode.
    "ssmd-ticker-production": [
        "quote KXRANKLISTGOOGLESEARCH-2 yes=0.1200x1/1 no=0.8900x1/1 ts=1732579880000 open out-of-sync"
    ],
    "ssmd-trade-legacy-and-fp": ["ignored trade"],
    "ssmd-lifecycle-activated": [
        "quote KXBTCD-26JAN2310-T105000 yes=- no=- ts=recv closed out-of-sync close=1737558000000",
        "receive-time fallback x1",
    ],
    "ssmd-lifecycle-created-minimal": [
        "quote KXBTCD-26JAN2310-T105000 yes=- no=- ts=recv closed out-of-sync close=1737558000000",
        "receive-time fallback x1",
    ],
    "ssmd-event-lifecycle": ["ignored event_lifecycle"],
    "ssmd-delta-without-snapshot": ["resync KXBTCD-26FEB14-T100000", "desync no_snapshot"],
    "ssmd-subscribed": ["ignored subscribed"],
    "ssmd-subscribed-no-msg": ["ignored subscribed"],
    "ssmd-ok": ["ignored ok"],
    "ssmd-error-already-subscribed": ["error kalshi error: venue replied code 6: Already subscribed"],
    "ssmd-unsubscribed": ["ignored unsubscribed"],
    "issue-13-delta-ts-ms-only": ["resync KXGOLD15M-26AUG102130-30", "desync no_snapshot"],
    "issue-13-close-date-updated": [
        "quote KXMLBWINS-NYM-25-T80 yes=- no=- ts=recv closed out-of-sync close=1759353839000",
        "receive-time fallback x1",
    ],
    # determined: not tradable, stamped at determination_ts; settled: at settled_ts.
    "fixture-lifecycle-determined": [
        "quote KXMLBGAME-25OCT01DETCLE- yes=- no=- ts=1759350638000 closed out-of-sync"
    ],
    "fixture-lifecycle-settled": [
        "quote KXMLBTOTAL-25OCT01DETCLE yes=- no=- ts=1759351985000 settled out-of-sync"
    ],
    "live-2026-lifecycle-determined": [
        "quote KXMLBSPREAD-26JUL191605W yes=- no=- ts=1784501722000 closed out-of-sync"
    ],
    "live-2026-lifecycle-settled": [
        "quote KXBNB15M-26JUL191830-30 yes=- no=- ts=1784500206000 settled out-of-sync"
    ],
    # deactivated (is_deactivated true): halted. Its envelope's sending_ts_ms (Oct 2026) is more
    # than a day after the corpus receive time, so it is not believed: the receive time is used.
    "docs-margin-lifecycle-deactivated": [
        "quote KXBTCPERP yes=- no=- ts=recv halted out-of-sync",
        "receive-time fallback x1",
    ],
}

POLYMARKET: dict[str, list[str]] = {
    "docs-2026-02-book": [
        "quote 658186196575688134743418 yes=0.52x25/3 no=0.50x15/3 ts=recv open",
        "receive-time fallback x1",
    ],
    "docs-2026-02-price-change-no-books": [
        "resync 713210456792522125946263",
        "resync 521143195012459155160551",
        "desync no_snapshot",
        "desync no_snapshot",
    ],
    "docs-2026-02-tick-size-change": ["ignored tick_size_change"],
    "docs-2026-02-last-trade-price": ["ignored last_trade_price"],
    "nautilus-2024-book": [
        "quote 483310433366128838909387 yes=0.514x20230.87/10 no=0.489x1304.72/10 ts=1728799418260 open"
    ],
    "nautilus-2024-flat-price-change": [
        "quote 483310433366128838909387 yes=0.514x21574.08/10 no=0.489x1304.72/10 ts=1723967931411 open"
    ],
    "nautilus-2024-last-trade-price": ["ignored last_trade_price"],
    "nautilus-2025-tick-size-change": ["ignored tick_size_change"],
    "nautilus-price-changes-without-book": [
        "resync 521143195012459155160551",
        "desync no_snapshot",
        "ignored awaiting_snapshot",
        "ignored awaiting_snapshot",
    ],
    "nautilus-book": [
        "quote 713210456792522125946263 yes=0.51x150.0/2 no=0.50x200.0/2 ts=1703875200000 open"
    ],
    "nautilus-price-change-best-ask-disagrees": [
        "quote 713210456792522125946263 yes=0.51x150.0/2 no=0.49x150.0/3 ts=1703875201000 open out-of-sync",
        "resync 713210456792522125946263",
        "desync best_mismatch",
    ],
    "nautilus-tick-size-change": ["ignored tick_size_change"],
    "nautilus-rest-book": [
        "quote 12345678901234567890 yes=0.51x120.00/3 no=0.50x150.00/3 ts=1703875200000 open"
    ],
    "nautilus-2026-08-book-captured": [
        "quote 350977769852917329387037 yes=0.08x228198.28/10 no=0.93x182528.55/7 ts=1786604072222 open"
    ],
    "nautilus-mixed-known-unknown-array": [
        "resync 101",
        "desync no_snapshot",
        "ignored unknown",
        "ignored last_trade_price",
    ],
    "nautilus-gamma-market-past-end-date-open": [
        "ignored rest market",
        "ignored rest market",
        "receive-time fallback x1",
    ],
    "nautilus-2026-09-burst-0-book": [
        "quote 766705671309177238164905 yes=0.397x100.09/10 no=0.7x5000/10 ts=recv open",
        "receive-time fallback x1",
    ],
    "nautilus-2026-09-burst-1-bid-0.301": [
        "quote 766705671309177238164905 yes=0.397x100.09/10 no=0.699x1000/10 ts=recv open",
        "resync 541795640096427233533553",
        "desync no_snapshot",
        "receive-time fallback x1",
    ],
    "nautilus-2026-09-burst-2-bid-0.311": [
        "quote 766705671309177238164905 yes=0.397x100.09/10 no=0.689x2000/10 ts=recv open",
        "ignored awaiting_snapshot",
        "receive-time fallback x1",
    ],
    "nautilus-2026-09-burst-3-ask-0.399-removed": [
        "quote 766705671309177238164905 yes=0.397x100.09/10 no=0.689x2000/10 ts=recv open",
        "ignored awaiting_snapshot",
        "receive-time fallback x1",
    ],
    "nautilus-2026-09-burst-4-ask-0.39": [
        "quote 766705671309177238164905 yes=0.39x4765/10 no=0.689x2000/10 ts=recv open",
        "ignored awaiting_snapshot",
        "receive-time fallback x1",
    ],
    "nautilus-2026-09-burst-5-ask-0.44": [
        "quote 766705671309177238164905 yes=0.39x4765/10 no=0.689x2000/10 ts=recv open",
        "ignored awaiting_snapshot",
        "receive-time fallback x1",
    ],
    "rs-clob-best-bid-ask": ["ignored best_bid_ask"],
    "rs-clob-new-market": ["ignored new_market"],
    "nautilus-new-market-with-tick": ["ignored new_market"],
    "nautilus-market-resolved": [
        "quote 760430737566536782263739 yes=- no=- ts=1766790415550 settled out-of-sync",
        "quote 316909342633857276642020 yes=- no=- ts=1766790415550 settled out-of-sync",
    ],
    "docs-keepalive-pong": ["ignored keepalive"],
}

MANIFOLD: dict[str, list[str]] = {
    "docs-markets-list-binary-resolved": [
        "quote EvIhzcJXwhL0HavaszD7 yes=0.895818x100/1 no=0.104182x100/1 ts=recv settled",
        "receive-time fallback x1",
    ],
    "docs-market-free-response-answers": [
        "quote lEoqtnDgJzft6apSKzYK#1 yes=0.667497x100/1 no=0.332503x100/1 ts=recv settled close=1655265001448",
        "quote lEoqtnDgJzft6apSKzYK#2 yes=0.008922x100/1 no=0.991078x100/1 ts=recv settled close=1655265001448",
        "quote lEoqtnDgJzft6apSKzYK#3 yes=0.008967x100/1 no=0.991033x100/1 ts=recv settled close=1655265001448",
        "quote lEoqtnDgJzft6apSKzYK#4 yes=0.092115x100/1 no=0.907885x100/1 ts=recv settled close=1655265001448",
        "receive-time fallback x1",
    ],
    "docs-prob-binary": [
        "quote 9t61v9e7x4 yes=0.620000x100/1 no=0.380000x100/1 ts=recv open",
        "receive-time fallback x1",
    ],
    "docs-prob-multiple-choice": [
        "quote ZNlNdzz690#PI806hsqn2 yes=0.670157x100/1 no=0.329843x100/1 ts=recv open",
        "quote ZNlNdzz690#tO5sp2SAlA yes=0.329843x100/1 no=0.670157x100/1 ts=recv open",
        "receive-time fallback x1",
    ],
    "docs-market-probs": [
        "quote 9t61v9e7x4 yes=0.620000x100/1 no=0.380000x100/1 ts=recv open",
        "quote ZNlNdzz690#answer1 yes=0.670000x100/1 no=0.330000x100/1 ts=recv open",
        "quote ZNlNdzz690#answer2 yes=0.330000x100/1 no=0.670000x100/1 ts=recv open",
        "receive-time fallback x2",
    ],
    "docs-contract-binary-resolved-lastUpdatedTime": [
        "quote will-tesla-stock-reach-2 yes=0.000000x100/1 no=1.000000x100/1 ts=1741622283813 settled"
    ],
    "docs-bets-limit-and-normal": [
        "quote Tz5dA01GkK5QKiQfZeDL yes=0.573075x100/1 no=0.426925x100/1 ts=1659482775970 open"
    ],
    "docs-multi-bet-answer-bets": [
        "quote tQudZcEtlp#Ncus9Qtty2 yes=0.272115x100/1 no=0.727885x100/1 ts=1755718208333 open",
        "quote tQudZcEtlp#CAqyQ8AOSn yes=0.272115x100/1 no=0.727885x100/1 ts=1755718208333 open",
        "quote tQudZcEtlp#Pc86OAUEsn yes=0.272115x100/1 no=0.727885x100/1 ts=1755718208333 open",
    ],
    "docs-ws-ack": ["ignored ack"],
    "composed-new-bet-normal": [
        "quote Tz5dA01GkK5QKiQfZeDL yes=0.573075x100/1 no=0.426925x100/1 ts=1659482757271 open"
    ],
    "composed-new-bet-limit-partially-filled": [
        "quote Tz5dA01GkK5QKiQfZeDL yes=0.573075x100/1 no=0.426925x100/1 ts=1659482775970 open"
    ],
    "composed-orders-limit-bet": ["ignored topic orders"],
    "composed-global-new-bet": ["ignored topic global"],
    "composed-new-bet-answer-bets": [
        "quote tQudZcEtlp#Ncus9Qtty2 yes=0.272115x100/1 no=0.727885x100/1 ts=1755718208333 open",
        "quote tQudZcEtlp#CAqyQ8AOSn yes=0.272115x100/1 no=0.727885x100/1 ts=1755718208333 open",
        "quote tQudZcEtlp#Pc86OAUEsn yes=0.272115x100/1 no=0.727885x100/1 ts=1755718208333 open",
    ],
    "composed-contract-update-no-probability": ["ignored contract update without probability"],
    "composed-contract-update-prob": [
        "quote will-tesla-stock-reach-2 yes=0.000000x100/1 no=1.000000x100/1 ts=1741622283813 settled"
    ],
    "composed-user-metrics": ["ignored topic user-metrics"],
    "docs-2024-market-free-response": [
        "quote lEoqtnDgJzft6apSKzYK#1 yes=0.667497x100/1 no=0.332503x100/1 ts=recv settled close=1655265001448",
        "quote lEoqtnDgJzft6apSKzYK#2 yes=0.008922x100/1 no=0.991078x100/1 ts=recv settled close=1655265001448",
        "quote lEoqtnDgJzft6apSKzYK#3 yes=0.008967x100/1 no=0.991033x100/1 ts=recv settled close=1655265001448",
        "quote lEoqtnDgJzft6apSKzYK#4 yes=0.092115x100/1 no=0.907885x100/1 ts=recv settled close=1655265001448",
        "receive-time fallback x1",
    ],
    "docs-2024-markets-list": [
        "quote EvIhzcJXwhL0HavaszD7 yes=0.895818x100/1 no=0.104182x100/1 ts=recv settled",
        "receive-time fallback x1",
    ],
    "docs-2024-market-probs": [
        "quote 9t61v9e7x4 yes=0.620000x100/1 no=0.380000x100/1 ts=recv open",
        "quote ZNlNdzz690#answer1 yes=0.670000x100/1 no=0.330000x100/1 ts=recv open",
        "quote ZNlNdzz690#answer2 yes=0.330000x100/1 no=0.670000x100/1 ts=recv open",
        "receive-time fallback x2",
    ],
    "docs-2024-prob-binary-known-contract": [
        "quote EvIhzcJXwhL0HavaszD7 yes=0.620000x100/1 no=0.380000x100/1 ts=recv settled",
        "receive-time fallback x1",
    ],
}

EXPECTED: dict[str, dict[str, list[str]]] = {"kalshi": KALSHI, "polymarket": POLYMARKET, "manifold": MANIFOLD}
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("venue", sorted(EXPECTED))
def test_every_real_frame_has_its_pinned_outcome(venue: str) -> None:
    got = {frame.id: describe(result) for frame, result in replay(venue)}
    assert got == EXPECTED[venue]


@pytest.mark.parametrize("venue", sorted(EXPECTED))
def test_the_corpus_is_large_sourced_and_never_silent(venue: str) -> None:
    frames = load(venue)
    assert len(frames) >= 20
    assert len({f.id for f in frames}) == len(frames)
    assert all(f.source and f.via in ("ws", "rest") for f in frames)
    assert [f.id for f, result in replay(venue) if result.silent] == []


def test_outcomes_without_ticks_are_counted_in_metrics() -> None:
    pairs = json.loads((ROOT / "config" / "market_pairs.json").read_text(encoding="utf-8"))
    handler = FrameHandler(parse_pairs(pairs))

    def value(name: str, **labels: str) -> float:
        return metric(name, **labels)

    before = (
        value("echoarb_frames_ignored_total", venue="kalshi", kind="ticker"),
        value("echoarb_book_desyncs_total", venue="kalshi", reason="unknown_level"),
        value("echoarb_event_time_fallbacks_total", venue="kalshi"),
    )
    for frame in load("kalshi"):
        if frame.session == "docs-2026-02":
            handler.handle("kalshi", frame.frame, RECV, source=frame.via, path=frame.path)
    after = (
        value("echoarb_frames_ignored_total", venue="kalshi", kind="ticker"),
        value("echoarb_book_desyncs_total", venue="kalshi", reason="unknown_level"),
        value("echoarb_event_time_fallbacks_total", venue="kalshi"),
    )
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 2]
    assert handler.ignored[("kalshi", "ticker")] == 1
    assert handler.desyncs[("kalshi", "unknown_level")] == 1
    assert handler.fallback_ts["kalshi"] == 2
