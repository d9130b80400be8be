"""Matching: the labelled set's precision and recall, and the single checks that decide them."""

from __future__ import annotations

from echoarb.discover import extract
from echoarb.discover.match import candidates, score
from echoarb.discover.model import ListingEntry
from tests.discover import labelled


def _entry(venue: str, question: str, **kw: object) -> ListingEntry:
    values: dict[str, object] = {
        "venue": venue,
        "id": question[:20],
        "question": question,
        "resolve_ms": 10**12,
    }
    values.update(kw)
    return ListingEntry(**values)  # type: ignore[arg-type]


def test_labelled_set_precision_and_recall_at_the_default_score() -> None:
    result = labelled.evaluate(0.75)
    # Figures reported in the closing note of issue 14 (python -m tests.discover.labelled).
    assert result["precision"] >= 0.9 and result["recall"] >= 0.9, result
    assert result["wrong_invert"] == []  # every proposed true pair has the right orientation
    assert result["inverted_pairs"] == 4


def test_every_inverted_pair_is_found_inverted() -> None:
    found = {c.key: c for c in candidates(labelled.listing(), min_score=0.75)}
    for a, b, invert in labelled.PAIRS:
        if invert:
            assert found[(a, b)].invert, (a, b)


def test_look_alikes_stay_below_the_default_score() -> None:
    entries = {e.slug or e.id: e for e in labelled.listing()}
    k100 = entries["KXBTCD-26JUN30-T100000"]
    for slug, why in [
        ("btc-above-120k-jun-30", "numbers differ"),
        ("btc-above-100k-dec-31", "dates differ"),
    ]:
        cand = score(k100, entries[slug])
        assert cand.score < 0.5 and any(why in r for r in cand.against), (slug, cand.against)
    hike = score(entries["KXFEDDECISION-26MAR-HIKE"], entries["fed-cut-march-2026"])
    assert hike.score < 0.5 and any("different events asked" in r for r in hike.against)
    eth = score(entries["KXETHD-26DEC31-T5000"], entries["eth-reach-5000-2026"])
    assert eth.score < 0.75 and any("first reached by a deadline" in r for r in eth.against)
    rec = score(entries["KXRECSSNBER-26"], entries["us-recession-2026"])
    assert rec.score < 0.75 and any("resolution sources differ" in r for r in rec.against)
    whitmer = score(entries["KXDEMNOM-28-GNEW"], entries["whitmer-dem-nominee-2028"])
    assert whitmer.score < 0.5 and any("names differ" in r for r in whitmer.against)


def test_neg_risk_augmented_is_refused_whatever_the_similarity() -> None:
    entries = {e.slug or e.id: e for e in labelled.listing()}
    cand = score(entries["KXDEMNOM-28-GNEW"], entries["newsom-dem-nominee-2028"])
    assert cand.refused is not None and "negRisk-augmented" in cand.refused
    assert cand.score >= 0.75  # shown with its score, so a person sees why it is not offered
    found = candidates(labelled.listing(), min_score=0.75)
    shown = [c for c in found if c.refused]
    assert [c.b.slug for c in shown] == ["newsom-dem-nominee-2028"]
    assert labelled.evaluate(0.75)["refused"] == [shown[0].key]


def test_inversion_by_direction_negation_and_opposite_side() -> None:
    above = _entry("kalshi", "Will Bitcoin be above $90,000 on June 30, 2026?")
    below = _entry("polymarket", "Will Bitcoin be below $90,000 on June 30, 2026?")
    assert score(above, below).invert
    yes = _entry("kalshi", "Will Tesla deliver 2 million vehicles in 2026?")
    no = _entry("polymarket", "Will Tesla not deliver 2 million vehicles in 2026?")
    assert score(yes, no).invert
    dem = _entry("kalshi", "Will a Democrat win the 2028 presidential election?")
    rep = _entry("polymarket", "Will the Republicans win the 2028 presidential election?")
    cand = score(dem, rep)
    assert cand.invert and any("two-way contest" in r for r in cand.against)
    # two flips cancel: "not below" is "above"
    not_below = _entry("polymarket", "Will Bitcoin not be below $90,000 on June 30, 2026?")
    assert not score(above, not_below).invert


def test_resolution_times_far_apart_count_against() -> None:
    a = _entry("kalshi", "Will the US enter a recession in 2026?", resolve_ms=1_800_000_000_000)
    b = _entry(
        "polymarket",
        "Will the US enter a recession in 2026?",
        resolve_ms=1_800_000_000_000 + 200 * 86_400_000,
    )
    cand = score(a, b)
    assert cand.score <= 0.7 and any("200 days apart" in r for r in cand.against)


def test_extraction_normalises_numbers_dates_and_aliases() -> None:
    f = extract.features("Will BTC be above $100k on Jun 30, 2026 per the Fed?")
    assert f.numbers == {(extract.to_number("100000").normalize(), "")}  # type: ignore[union-attr]
    assert f.dates == {(2026, 6, 30)} and "bitcoin" in f.entities and "federal reserve" in f.entities
    assert f.direction == "above" and not f.negated
    g = extract.features("Will CPI be 3.5% or lower in Q3 2026? Will it may rain")
    assert g.numbers == {(extract.to_number("3.5"), "%")} and g.dates == {(2026, 9, None)}
    assert g.direction == "below"
    assert extract.features("25 basis points").numbers == {(extract.to_number("25"), "bps")}
    assert extract.sources("per CF Benchmarks, see https://www.bls.gov/cpi") == {"cf benchmarks", "bls.gov"}


def test_one_to_one_keeps_the_best_rung_of_a_ladder() -> None:
    found = candidates(labelled.listing(), min_score=0.0)
    seen: dict[tuple[str, str], set[str]] = {}
    for cand in found:
        pair = (cand.a.venue, cand.b.venue)
        keys = seen.setdefault(pair, set())
        assert cand.a.key not in keys and cand.b.key not in keys
        keys.update((cand.a.key, cand.b.key))
