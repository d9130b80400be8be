"""Pairs-file output, the merge that never changes an existing pair, and the terminal review."""

from __future__ import annotations

import io
import json
from pathlib import Path

from echoarb.discover import output, review
from echoarb.discover.match import candidates, score
from echoarb.pairs import load_pairs
from tests.discover import labelled

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "market_pairs.json"


def _found() -> list:  # type: ignore[type-arg]
    return candidates(labelled.listing(), min_score=0.75)


def _by(found: list, slug: str):  # type: ignore[no-untyped-def, type-arg]
    return next(c for c in found if slug in (c.a.slug, c.b.slug))


def test_suggestions_are_a_valid_pairs_file_with_fees_and_invert(tmp_path: Path) -> None:
    found = _found()
    written, sidecar = output.write_suggestions(tmp_path / "pairs.suggested.json", found)
    config = load_pairs(tmp_path / "pairs.suggested.json")
    assert written == len(config.pairs) == len([c for c in found if not c.refused]) == 15
    pairs = {p.id: p for p in config.pairs}
    btc = pairs["kxbtcd-26jun30-t100000--btc-above-100k-jun-30"]
    refs = {r.venue: r for r in btc.venues}
    assert str(refs["polymarket"].fee_rate) == "0.07" and refs["polymarket"].no_instrument
    assert refs["kalshi"].fee_rate is None  # the labelled Kalshi bodies carry no series fee type
    inverted = pairs["kxbtcd-26jun30-b90000--btc-above-90k-jun-30"]
    assert {r.venue: r.invert for r in inverted.venues} == {"kalshi": False, "polymarket": True}
    gdp = {r.venue: r for r in pairs["kxgdp-26q2-t2--us-gdp-q2-above-2"].venues}
    assert gdp["polymarket"].fee_exponent == 2  # from the market's feeSchedule
    evidence = json.loads(sidecar.read_text())["candidates"]
    assert [e["id"] for e in evidence] == [p.id for p in config.pairs]
    first = evidence[0]
    assert first["for"] and "markets" in first and first["markets"][0]["rules"] is not None
    no_fee = {c["id"]: c for c in evidence}["kxgdp-26q2-t2--us-gdp-q2-above-2"]
    assert any("kalshi fee type" in r for r in no_fee["against"])


def test_kalshi_fee_rate_follows_the_series_fee_type() -> None:
    entry = labelled.listing()[0]
    import dataclasses

    assert output.kalshi_fee_rate(dataclasses.replace(entry, fees={"fee_type": "quadratic"})) == "0.07"
    half = dataclasses.replace(entry, fees={"fee_type": "quadratic", "fee_multiplier": "0.5"})
    assert output.kalshi_fee_rate(half) == "0.035"
    waived = dataclasses.replace(entry, fees={"fee_type": "quadratic", "fee_multiplier": "0"})
    assert output.kalshi_fee_rate(waived) == "0"
    assert output.kalshi_fee_rate(dataclasses.replace(entry, fees={"fee_type": "flat"})) is None


def test_merge_backs_up_adds_and_never_changes_an_existing_pair(tmp_path: Path) -> None:
    path = tmp_path / "market_pairs.json"
    path.write_text(EXAMPLE.read_text())
    before = json.loads(path.read_text())["pairs"]
    found = _found()
    fed = _by(found, "fed-cut-march-2026")
    cpi = _by(found, "us-cpi-above-3-5-july")
    result = output.merge(path, [fed, cpi], now=0)
    assert result.added == [output.pair_id(fed), output.pair_id(cpi)] and result.refused == []
    assert result.backup is not None and json.loads(result.backup.read_text())["pairs"] == before
    after = json.loads(path.read_text())["pairs"]
    assert after[: len(before)] == before and len(after) == len(before) + 2
    load_pairs(path)  # still valid

    # Again: the same id is refused; so is a candidate on an instrument a configured pair uses
    # (the example's btc-100k-june holds KXBTCD-26JUN30-T100000).
    again = output.merge(path, [fed], now=1)
    assert again.added == [] and "already configured" in again.refused[0] and again.backup is None
    btc = next(c for c in found if c.a.id == "KXBTCD-26JUN30-T100000" and c.b.venue == "polymarket")
    refused = output.merge(path, [btc], now=2)
    assert refused.added == [] and "configured pair 'btc-100k-june'" in refused.refused[0]
    assert json.loads(path.read_text())["pairs"] == after


def test_review_reads_answers_shows_evidence_and_rules_side_by_side() -> None:
    found = _found()[:3]
    out = io.StringIO()
    accepted = review.review(found, io.StringIO("y\nmaybe\nn\n"), out, width=100)
    assert accepted == [found[0]]
    text = out.getvalue()
    assert text.count("accept this pair?") == 4 and "please answer y, n, s or q" in text
    assert "rules, side by side:" in text and " | " in text and "for:" in text
    # End of input stops the review with what was accepted so far.
    assert review.review(found, io.StringIO(""), io.StringIO()) == []
    assert review.review(found, io.StringIO("y\nq\n"), io.StringIO()) == [found[0]]


def test_a_refused_candidate_is_shown_but_never_offered() -> None:
    entries = {e.slug or e.id: e for e in labelled.listing()}
    refused = score(entries["KXDEMNOM-28-GNEW"], entries["newsom-dem-nominee-2028"])
    out = io.StringIO()
    assert review.review([refused], io.StringIO("y\n"), out) == []
    assert "REFUSED" in out.getvalue() and "accept this pair?" not in out.getvalue()
    body, _ = output.suggestions([refused])
    assert body == {"pairs": []}
