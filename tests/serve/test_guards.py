"""Run-time guards of the serve view: a suspect pair by its live prices, a leg that ended."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import pytest

from echoarb.serve.guards import PairGuard, mid
from echoarb.serve.state import SpreadFilter, SpreadState
from echoarb.wire.records import spread_record_to_json
from tests.serve.helpers import spread_record


def tick(
    venue: str, yes: str, no: str, ts: int, status: str = "open", pair: str = "fed-rate-march"
) -> dict[str, Any]:
    def level(price: str) -> list[dict[str, int]]:
        return [{"price_micros": int(Decimal(price) * 1_000_000), "size_micros": 10_000_000}]

    return {
        "pair_id": pair,
        "venue": venue,
        "outcome": "",
        "yes_asks": level(yes),
        "no_asks": level(no),
        "event_ts": ts,
        "recv_ts": ts,
        "fee_rate_micros": 0,
        "status": status,
        "in_sync": True,
        "real_money": True,
        "seq": 1,
    }


def test_mid_from_either_side() -> None:
    assert mid(tick("kalshi", "0.42", "0.60", 0)) == Decimal("0.41")
    assert mid({**tick("kalshi", "0.42", "0.60", 0), "no_asks": []}) == Decimal("0.42")


def test_inverted_prices_make_a_pair_suspect_after_the_window_and_clear_after_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    state = SpreadState({"fed-rate-march"}, guard=PairGuard(window=3))
    state.apply_event(spread_record_to_json(spread_record(yes_price="0.20", no_price="0.22", event_ts=0)))
    caplog.set_level(logging.WARNING, logger="echoarb.serve")
    # kalshi YES ~0.80, polymarket YES ~0.21: sum ~1.01, 0.59 apart: the wording is inverted.
    state.apply_tick(tick("kalshi", "0.81", "0.21", 0))  # one venue: no observation yet
    state.apply_tick(tick("polymarket", "0.22", "0.80", 0))
    state.apply_tick(tick("kalshi", "0.81", "0.21", 1))
    assert state.guard.suspect("fed-rate-march") is None  # 2 observations of the 3 needed
    assert state.snapshot(SpreadFilter())[0]["executable"] is True
    state.apply_tick(tick("polymarket", "0.22", "0.80", 1))
    reason = state.guard.suspect("fed-rate-march")
    assert reason is not None and "inverted" in reason and state.guard.suspicions == 1
    assert "marked not executable" in caplog.text
    (row,) = state.snapshot(SpreadFilter())
    assert row["executable"] is False and row["not_executable_reason"] == reason  # at once
    later = state.apply_event(
        spread_record_to_json(spread_record(yes_price="0.20", no_price="0.22", event_ts=4))
    )
    assert later.event["executable"] is False and '"executable":false' in later.text
    # Agreeing prices for a whole window clear it.
    for t in range(5, 8):
        state.apply_tick(tick("kalshi", "0.51", "0.50", t))
        state.apply_tick(tick("polymarket", "0.50", "0.51", t))
    assert state.guard.suspect("fed-rate-march") is None
    fresh = state.apply_event(
        spread_record_to_json(spread_record(yes_price="0.40", no_price="0.50", event_ts=9))
    )
    assert fresh.event["executable"] is True and "not_executable_reason" not in fresh.event


def test_far_apart_without_symmetry_is_a_wrong_match_and_old_quotes_are_no_evidence() -> None:
    guard = PairGuard(window=1)
    quotes = {
        ("kalshi", ""): tick("kalshi", "0.91", "0.10", 0),
        ("polymarket", ""): tick("polymarket", "0.31", "0.70", 0),
    }
    guard.observe("p", quotes)
    assert "wrong match" in (guard.suspect("p") or "")
    stale = {
        ("kalshi", ""): tick("kalshi", "0.91", "0.10", 0),
        ("polymarket", ""): tick("polymarket", "0.31", "0.70", 60_000),
    }
    other = PairGuard(window=1)
    other.observe("p", stale)
    assert other.suspect("p") is None


def test_a_settled_leg_ends_executability_at_once() -> None:
    state = SpreadState({"fed-rate-march"})
    state.apply_event(spread_record_to_json(spread_record(event_ts=0)))
    state.apply_tick(tick("kalshi", "0.40", "0.59", 1))
    assert state.snapshot(SpreadFilter())[0]["executable"] is True
    state.apply_tick(tick("polymarket", "0.50", "0.49", 2, status="settled"))
    (row,) = state.snapshot(SpreadFilter())
    assert row["executable"] is False and row["not_executable_reason"] == "polymarket market settled"
