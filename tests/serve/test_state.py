"""Pure logic of the server state: opportunity keys, filters, snapshots and pair views."""

from __future__ import annotations

from decimal import Decimal

import pytest
from multidict import MultiDict

from echoarb.serve.state import FilterError, SpreadFilter, SpreadState
from echoarb.wire.records import spread_record_to_json
from tests.serve.helpers import spread_record


def event(**kw: object) -> dict[str, object]:
    return spread_record_to_json(spread_record(**kw))  # type: ignore[arg-type]


def test_latest_event_per_key_replaces_older_and_keeps_history() -> None:
    state = SpreadState({"fed-rate-march"})
    state.apply_event(event(yes_price="0.40", event_ts=1000))
    state.apply_event(event(yes_price="0.45", event_ts=2000))
    state.apply_event(event(yes="polymarket", no="kalshi", yes_price="0.30", event_ts=2500))
    rows = state.snapshot(SpreadFilter())
    assert [r["key"] for r in rows] == [
        "fed-rate-march|binary|polymarket:yes,kalshi:no",  # best net edge first
        "fed-rate-march|binary|kalshi:yes,polymarket:no",
    ]
    assert rows[1]["legs"][0]["best_price"] == "0.45"
    history = state.pair("fed-rate-march", 3000, 30_000)["history"]
    assert [ts for ts, _ in history["fed-rate-march|binary|kalshi:yes,polymarket:no"]] == [1000, 2000]


def test_filters_parse_and_match() -> None:
    flt = SpreadFilter.from_query(
        MultiDict([("pair", "a,b"), ("pair", "c"), ("executable", "true"), ("min_edge", "0.01")])
    )
    assert flt.pairs == {"a", "b", "c"} and flt.executable is True and flt.min_edge == Decimal("0.01")
    good = event(pair_id="a", yes_price="0.40", no_price="0.50")
    assert flt.matches(good)
    assert not flt.matches(event(pair_id="z"))
    assert not flt.matches(event(pair_id="a", executable=False))
    assert not flt.matches(event(pair_id="a", yes_price="0.49", no_price="0.50"))  # edge below 1%
    for bad in ({"executable": "maybe"}, {"min_edge": "lots"}, {"min_edge": "NaN"}):
        with pytest.raises(FilterError):
            SpreadFilter.from_query(MultiDict(bad))


def test_pair_view_quotes_staleness_and_unknown_pair() -> None:
    state = SpreadState({"fed-rate-march"})
    assert state.knows_pair("fed-rate-march") and not state.knows_pair("nope")
    tick = {
        "pair_id": "fed-rate-march",
        "venue": "kalshi",
        "outcome": "",
        "yes_asks": [{"price_micros": 410000, "size_micros": 5000000}],
        "no_asks": [],
        "event_ts": 1_000,
        "recv_ts": 1_010,
        "fee_rate_micros": 70000,
        "status": "open",
        "in_sync": True,
        "real_money": True,
        "seq": 1,
    }
    state.apply_tick(tick)
    state.apply_tick({**tick, "event_ts": 500, "yes_asks": []})  # older: ignored
    view = state.pair("fed-rate-march", 40_000, 30_000)
    assert view["quotes"][0]["best_yes_ask"] == "0.41"
    assert view["quotes"][0]["age_ms"] == 39_000 and view["stale"] is True
    assert view["last_event"] is None


def test_days_to_resolution_and_annualised_return_rank_a_quick_small_edge_first() -> None:
    day = 86_400_000
    now = 1_790_000_000_000
    # fed: 10% on the outlay (cost 90 + fees 0 on 100 contracts, profit 10), 240 days away;
    # btc: about 1% (cost 98.5 + fees 0.5, profit 1), tomorrow.
    state = SpreadState(resolution_ms={"fed-rate-march": now + 240 * day, "btc-100k-june": now + day})
    slow = state.apply_event(event(yes_price="0.40", no_price="0.50", fees="0", event_ts=now)).event
    quick = state.apply_event(
        event(pair_id="btc-100k-june", yes_price="0.485", no_price="0.50", fees="0.5", event_ts=now)
    ).event
    assert slow["days_to_resolution"] == 240.0 and slow["resolution_ts"] == now + 240 * day
    assert slow["annualised_return"] == format(Decimal(10) / Decimal(90) * 365 / 240, ".4f")
    assert quick["days_to_resolution"] == 1.0 and Decimal(quick["annualised_return"]) > Decimal("3.6")
    by_edge = [r["pair_id"] for r in state.snapshot(SpreadFilter())]
    by_return = [
        r["pair_id"] for r in state.snapshot(SpreadFilter.from_query(MultiDict(sort="annualised_return")))
    ]
    assert by_edge == ["fed-rate-march", "btc-100k-june"] and by_return == ["btc-100k-june", "fed-rate-march"]
    # A pair without a known resolution carries no figure and sorts last.
    unknown = state.apply_event(event(pair_id="other", event_ts=now)).event
    assert "days_to_resolution" not in unknown
    assert state.snapshot(SpreadFilter(sort="annualised_return"))[-1]["pair_id"] == "other"
    with pytest.raises(FilterError):
        SpreadFilter.from_query(MultiDict(sort="fastest"))
