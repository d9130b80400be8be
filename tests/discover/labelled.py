# ruff: noqa: E501 - a data table: one market per statement reads better than wrapped
"""A labelled matching set of our own: true pairs, inverted pairs, and look-alikes that must not match.

Every market is written here in its venue's listing shape (a Kalshi ``/markets`` entry, a
Gamma market, a Manifold lite market) and goes through the same parsers as a live listing.
The questions are our own wording of the kinds of market each venue lists; the look-alikes
copy a true pair's template and change one thing: the threshold, the date, the name, the
action, the kind of resolution (a touch by a deadline vs a reading at a date) or the
resolution source. ``PAIRS`` names the right answers (with ``invert``); every other
proposal is a false positive.

``python -m tests.discover.labelled [--min-score S]`` prints precision and recall.
"""

from __future__ import annotations

import argparse
import json
import zlib
from typing import Any

from echoarb.discover import kalshi, manifold, polymarket
from echoarb.discover.match import Candidate, candidates
from echoarb.discover.model import ListingEntry

_TOKEN = iter(range(10**70, 10**70 + 10_000))


def k(
    ticker: str,
    title: str,
    close: str,
    *,
    strike: tuple[str, float] | None = None,
    rules: str = "",
    sub: str = "",
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ticker": ticker,
        "event_ticker": ticker.rsplit("-", 1)[0],
        "market_type": "binary",
        "title": title,
        "yes_sub_title": sub,
        "open_time": "2026-01-05T15:00:00Z",
        "close_time": close,
        "expected_expiration_time": close,
        "status": "active",
        "rules_primary": rules,
        "volume_fp": "1000.00",
        "price_level_structure": "linear_cent",
    }
    if strike is not None:
        kind, value = strike
        body["strike_type"] = kind
        body["floor_strike" if kind != "less" else "cap_strike"] = value
    return body


def p(
    slug: str,
    question: str,
    end: str,
    *,
    rules: str = "",
    source: str = "",
    neg_risk: bool = False,
    augmented: bool = False,
    fee: tuple[float, int] | None = (0.04, 1),
) -> dict[str, Any]:
    yes, no = next(_TOKEN), next(_TOKEN)
    body: dict[str, Any] = {
        "id": str(yes % 10**7),
        "conditionId": "0x" + format(yes, "064x")[-64:],
        "question": question,
        "slug": slug,
        "startDate": "2026-01-05T15:00:00Z",
        "endDate": end,
        "description": rules,
        "resolutionSource": source,
        "outcomes": '["Yes", "No"]',
        "clobTokenIds": json.dumps([str(yes), str(no)]),
        "active": True,
        "closed": False,
        "acceptingOrders": True,
        "negRisk": neg_risk,
        "feesEnabled": fee is not None,
        "volumeNum": 1000,
        "events": [{"slug": slug + "-event", "negRisk": neg_risk, "negRiskAugmented": augmented}],
    }
    if fee is not None:
        body["feeSchedule"] = {"rate": fee[0], "exponent": fee[1], "takerOnly": True}
    return body


def m(slug: str, question: str, close_ms: int) -> dict[str, Any]:
    return {
        "id": "M" + format(zlib.crc32(slug.encode()), "08x"),
        "slug": slug,
        "question": question,
        "closeTime": close_ms,
        "createdTime": 1767625200000,
        "outcomeType": "BINARY",
        "mechanism": "cpmm-1",
        "probability": 0.5,
        "totalLiquidity": 500,
        "volume": 100,
        "isResolved": False,
        "token": "MANA",
    }


JUN30 = "2026-06-30T20:00:00Z"
DEC31 = "2026-12-31T23:00:00Z"
BTC_RULES_K = (
    "Resolves Yes if the CF Benchmarks Bitcoin Real-Time Index (BRTI) is above the strike at 4pm ET."
)
BTC_RULES_P = "Resolves Yes if the CF Benchmarks BRTI print at 4pm ET on the date is above the strike."
REC_K = "Resolves Yes if the NBER Business Cycle Dating Committee announces a peak in 2026."
REC_P_NBER = "This market resolves Yes if the NBER declares that a recession began in 2026."
REC_P_BEA = "Resolves Yes if the BEA reports two consecutive quarters of negative real GDP growth in 2026."

KALSHI = [
    k("KXBTCD-26JUN30-T100000", "Will the price of Bitcoin be above $100,000 on Jun 30, 2026?", JUN30,
      strike=("greater", 100000), rules=BTC_RULES_K),
    k("KXBTCD-26JUN30-T110000", "Will the price of Bitcoin be above $110,000 on Jun 30, 2026?", JUN30,
      strike=("greater", 110000), rules=BTC_RULES_K),
    k("KXBTCD-26JUN30-B90000", "Will the price of Bitcoin be below $90,000 on Jun 30, 2026?", JUN30,
      strike=("less", 90000), rules=BTC_RULES_K),
    k("KXFEDDECISION-26MAR-CUT", "Will the Federal Reserve cut rates at the March 2026 meeting?",
      "2026-03-18T18:00:00Z", rules="Resolves Yes if the FOMC lowers the federal funds target range."),
    k("KXFEDDECISION-26MAR-HIKE", "Will the Federal Reserve hike rates at the March 2026 meeting?",
      "2026-03-18T18:00:00Z", rules="Resolves Yes if the FOMC raises the federal funds target range."),
    k("KXCPIYOY-26JUL-T3.5", "Will CPI inflation be above 3.5% for the year ending July 2026?",
      "2026-08-12T12:30:00Z", strike=("greater", 3.5), rules="Per the BLS CPI-U release."),
    k("KXCPIYOY-26JUN-T3.5", "Will CPI inflation be above 3.5% for the year ending June 2026?",
      "2026-07-14T12:30:00Z", strike=("greater", 3.5), rules="Per the BLS CPI-U release."),
    k("PRES-2028-D", "Will a Democrat win the 2028 US presidential election?", "2028-11-07T12:00:00Z",
      rules="Resolves per the certified Electoral College result (Associated Press call)."),
    k("KXDEMNOM-28-GNEW", "Will Gavin Newsom be the 2028 Democratic presidential nominee?",
      "2028-08-30T12:00:00Z", rules="Per the official Democratic Party nomination."),
    k("KXDEMNOM-28-JSHA", "Will Josh Shapiro be the 2028 Democratic presidential nominee?",
      "2028-08-30T12:00:00Z", rules="Per the official Democratic Party nomination."),
    k("KXRECSSNBER-26", "Will the US enter a recession in 2026?", "2027-06-30T12:00:00Z", rules=REC_K),
    k("KXHIGHNY-26JUL04-T85", "Will the high temperature in NYC be above 85° on Jul 4, 2026?",
      "2026-07-05T04:00:00Z", strike=("greater", 85), rules="Per the NWS Central Park climate report."),
    k("KXSB-27-KC", "Will the Kansas City Chiefs win Super Bowl LXI?", "2027-02-14T23:00:00Z",
      rules="Per the NFL official result."),
    k("KXTSLADEL-26-T2M", "Will Tesla deliver at least 2 million vehicles in 2026?", "2027-01-03T15:00:00Z",
      rules="Per Tesla's Q4 2026 production and deliveries report."),
    k("KXETHD-26DEC31-T5000", "Will the price of Ethereum be above $5,000 on Dec 31, 2026?", DEC31,
      strike=("greater", 5000), rules="Per the CF Benchmarks Ether Real-Time Index."),
    k("KXSTARSHIP-26", "Will SpaceX's Starship reach orbit in 2026?", DEC31, rules="Per SpaceX."),
    k("KXGDP-26Q2-T2", "Will US real GDP growth be above 2% in Q2 2026?", "2026-07-30T12:30:00Z",
      strike=("greater", 2), rules="Per the BEA advance estimate."),
]  # fmt: skip

POLYMARKET = [
    p("btc-above-100k-jun-30", "Will Bitcoin be above $100k on June 30, 2026?", JUN30, rules=BTC_RULES_P,
      fee=(0.07, 1)),
    p("btc-above-120k-jun-30", "Will Bitcoin be above $120k on June 30, 2026?", JUN30, rules=BTC_RULES_P,
      fee=(0.07, 1)),
    p("btc-above-100k-dec-31", "Will Bitcoin be above $100k on December 31, 2026?", DEC31, rules=BTC_RULES_P,
      fee=(0.07, 1)),
    p("btc-above-90k-jun-30", "Will Bitcoin be above $90k on June 30, 2026?", JUN30, rules=BTC_RULES_P,
      fee=(0.07, 1)),
    p("fed-cut-march-2026", "Will the Fed cut interest rates in March 2026?", "2026-03-18T18:00:00Z",
      rules="Resolves Yes if the FOMC announces a cut to the federal funds target range.", fee=(0.04, 1)),
    p("fed-cut-june-2026", "Will the Fed cut interest rates in June 2026?", "2026-06-17T18:00:00Z",
      rules="Resolves Yes if the FOMC announces a cut to the federal funds target range."),
    p("us-cpi-above-3-5-july", "Will US annual CPI inflation be above 3.5% in July 2026?",
      "2026-08-12T12:30:00Z", rules="Per the BLS CPI release.", fee=(0.05, 1)),
    p("us-cpi-above-3-july", "Will US annual CPI inflation be above 3.0% in July 2026?",
      "2026-08-12T12:30:00Z", rules="Per the BLS CPI release.", fee=(0.05, 1)),
    p("republican-wins-2028", "Will a Republican win the 2028 US presidential election?",
      "2028-11-07T12:00:00Z", rules="Resolves per the Associated Press call of the Electoral College."),
    p("newsom-dem-nominee-2028", "Will Gavin Newsom win the 2028 Democratic presidential nomination?",
      "2028-08-30T12:00:00Z", neg_risk=True, augmented=True, rules="Per official Democratic Party sources."),
    p("whitmer-dem-nominee-2028", "Will Gretchen Whitmer win the 2028 Democratic presidential nomination?",
      "2028-08-30T12:00:00Z", neg_risk=True, rules="Per official Democratic Party sources."),
    p("shapiro-dem-nominee-2028", "Will Josh Shapiro win the 2028 Democratic presidential nomination?",
      "2028-08-30T12:00:00Z", neg_risk=True, rules="Per official Democratic Party sources."),
    p("us-recession-2026", "Will the US enter a recession in 2026?", "2027-01-31T12:00:00Z", rules=REC_P_BEA),
    p("nyc-high-85-july-4", "Will the highest temperature in New York City be 85°F or higher on July 4, 2026?",
      "2026-07-05T04:00:00Z", rules="Per the NWS daily climate report for Central Park.", fee=(0.05, 1)),
    p("nyc-high-90-july-4", "Will the highest temperature in New York City be 90°F or higher on July 4, 2026?",
      "2026-07-05T04:00:00Z", rules="Per the NWS daily climate report for Central Park.", fee=(0.05, 1)),
    p("chiefs-super-bowl-2027", "Will the Chiefs win Super Bowl 2027?", "2027-02-14T23:00:00Z",
      rules="Per the NFL.", fee=(0.03, 1)),
    p("eagles-super-bowl-2027", "Will the Eagles win Super Bowl 2027?", "2027-02-14T23:00:00Z",
      rules="Per the NFL.", fee=(0.03, 1)),
    p("tesla-not-2m-2026", "Will Tesla not deliver 2 million vehicles in 2026?", "2027-01-03T15:00:00Z",
      rules="Per Tesla's Q4 2026 production and deliveries report."),
    p("eth-reach-5000-2026", "Will Ethereum reach $5,000 by December 31, 2026?", DEC31,
      rules="Resolves Yes if any Binance 1-minute candle for ETH/USDT has a high at or above $5,000.",
      fee=(0.07, 1)),
    p("taylor-swift-album-2026", "Will Taylor Swift announce a new album in 2026?", DEC31, fee=None),
    p("us-gdp-q2-above-2", "Will US GDP growth be above 2% in Q2 2026?", "2026-07-30T12:30:00Z",
      rules="Per the BEA advance estimate of real GDP.", fee=(0.05, 2)),
]  # fmt: skip

MANIFOLD = [
    m("will-bitcoin-be-above-100000-on-jun", "Will Bitcoin be above $100,000 on June 30, 2026?", 1782849600000),
    m("will-a-democrat-win-the-2028-us-pre", "Will a Democrat win the 2028 US presidential election?",
      1857211200000),
    m("will-the-us-enter-a-recession-in-20", "Will the US enter a recession in 2026?", 1798675200000),
    m("will-bitcoin-be-above-150000-on-jun", "Will Bitcoin be above $150,000 on June 30, 2026?", 1782849600000),
]  # fmt: skip


def _pm(slug: str) -> str:
    return "polymarket:" + str(next(b["conditionId"] for b in POLYMARKET if b["slug"] == slug))


def _mf(slug: str) -> str:
    return "manifold:" + str(next(b["id"] for b in MANIFOLD if b["slug"] == slug))


# (first, second, invert): the second's YES is the pair's NO when invert.
PAIRS: list[tuple[str, str, bool]] = [
    ("kalshi:KXBTCD-26JUN30-T100000", _pm("btc-above-100k-jun-30"), False),
    ("kalshi:KXBTCD-26JUN30-T100000", _mf("will-bitcoin-be-above-100000-on-jun"), False),
    (_pm("btc-above-100k-jun-30"), _mf("will-bitcoin-be-above-100000-on-jun"), False),
    ("kalshi:KXBTCD-26JUN30-B90000", _pm("btc-above-90k-jun-30"), True),
    ("kalshi:KXFEDDECISION-26MAR-CUT", _pm("fed-cut-march-2026"), False),
    ("kalshi:KXCPIYOY-26JUL-T3.5", _pm("us-cpi-above-3-5-july"), False),
    ("kalshi:PRES-2028-D", _pm("republican-wins-2028"), True),
    ("kalshi:PRES-2028-D", _mf("will-a-democrat-win-the-2028-us-pre"), False),
    (_pm("republican-wins-2028"), _mf("will-a-democrat-win-the-2028-us-pre"), True),
    ("kalshi:KXDEMNOM-28-JSHA", _pm("shapiro-dem-nominee-2028"), False),
    ("kalshi:KXRECSSNBER-26", _mf("will-the-us-enter-a-recession-in-20"), False),
    ("kalshi:KXHIGHNY-26JUL04-T85", _pm("nyc-high-85-july-4"), False),
    ("kalshi:KXSB-27-KC", _pm("chiefs-super-bowl-2027"), False),
    ("kalshi:KXTSLADEL-26-T2M", _pm("tesla-not-2m-2026"), True),
    ("kalshi:KXGDP-26Q2-T2", _pm("us-gdp-q2-above-2"), False),
]
# Look-alikes named for the record (anything proposed outside PAIRS counts as a false positive):
# 110k/120k/150k and 3.0% thresholds, December vs June dates, hike vs cut, June vs July CPI,
# Newsom (negRisk-augmented: refused) and Whitmer vs Newsom, the BEA-rules recession vs NBER,
# 90F vs 85F, Eagles vs Chiefs, "reach by" vs "above on" for Ethereum.


def listing() -> list[ListingEntry]:
    entries = [kalshi.parse_market(b) for b in KALSHI]
    entries += [polymarket.parse_market(b) for b in POLYMARKET]
    for body in POLYMARKET:  # the event flags, as PolymarketListing applies them
        if body["events"][0]["negRiskAugmented"]:
            entry = next(e for e in entries if e.id == body["conditionId"])
            entries[entries.index(entry)] = _augmented(entry)
    entries += [manifold.parse_market(b) for b in MANIFOLD]
    return entries


def _augmented(entry: ListingEntry) -> ListingEntry:
    import dataclasses

    return dataclasses.replace(entry, neg_risk_augmented=True, event=entry.slug + "-event")


def evaluate(min_score: float) -> dict[str, Any]:
    found = candidates(listing(), min_score=min_score)
    truth = {(a, b): inv for a, b, inv in PAIRS}
    refused = [c.key for c in found if c.refused]
    proposed: dict[tuple[str, str], Candidate] = {c.key: c for c in found if not c.refused}
    tp = [key for key, c in proposed.items() if key in truth and c.invert == truth[key]]
    wrong_invert = [key for key, c in proposed.items() if key in truth and c.invert != truth[key]]
    fp = [key for key in proposed if key not in truth]
    fn = [key for key in truth if key not in proposed]
    precision = len(tp) / len(proposed) if proposed else 1.0
    recall = len(tp) / len(truth)
    return {
        "min_score": min_score,
        "markets": len(KALSHI) + len(POLYMARKET) + len(MANIFOLD),
        "true_pairs": len(truth),
        "inverted_pairs": sum(truth.values()),
        "proposed": len(proposed),
        "true_positives": len(tp),
        "wrong_invert": wrong_invert,
        "false_positives": fp,
        "missed": fn,
        "refused": refused,
        "precision": round(precision, 3),
        "recall": round(recall, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description="precision and recall of echoarb discover on the labelled set"
    )
    parser.add_argument("--min-score", type=float, action="append", default=None)
    args = parser.parse_args()
    for score in args.min_score or [0.5, 0.6, 0.7, 0.75, 0.8, 0.9]:
        result = evaluate(score)
        print(
            f"min_score {score:.2f}: proposed {result['proposed']:2d}, true {result['true_positives']:2d}"
            f"/{result['true_pairs']}, precision {result['precision']:.3f}, recall {result['recall']:.3f}"
            + (f", false positives {result['false_positives']}" if result["false_positives"] else "")
            + (f", missed {result['missed']}" if result["missed"] else "")
            + (f", wrong invert {result['wrong_invert']}" if result["wrong_invert"] else "")
            + (f", refused {len(result['refused'])}" if result["refused"] else "")
        )


if __name__ == "__main__":
    main()
