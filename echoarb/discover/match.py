"""Score candidate pairs across venues, with the reasons for and against each.

Similarity is rapidfuzz's token scores on normalised questions (``extract.normalise``):
``token_sort_ratio`` (word order does not matter, every word counts) blended with
``token_set_ratio`` (one question may say more than the other). rapidfuzz is a C++
library with wheels for every platform, a few MB, and scores the ~10^8 comparisons of a
full Kalshi x Polymarket listing in seconds; an embedding model would be better at
paraphrases but costs hundreds of MB and a model download, and paraphrase is not where
matching fails: look-alikes are (same template, another threshold, date or name). Those
are caught by comparing what the questions *say* (``extract``): numbers, dates, names,
direction, negation; then close / resolution times, outcome structure and resolution
sources. Each check multiplies the score down when it disagrees and names itself in
``against``; agreement is named in ``for_``.

Inverted wording ("above" vs "below", "will X" vs "will X not", the Democratic market
against the Republican one) keeps the candidate and sets ``invert``: the second market's
YES is the pair's NO. Polymarket negRisk-augmented events (placeholder outcomes, YES asks
summing below 1 by construction) and placeholder outcomes are refused: such a candidate is
still listed with its score and the reason, so a person sees why it is not offered, but it
never reaches a pairs file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from echoarb.discover import extract
from echoarb.discover.model import VENUE_NAMES, ListingEntry

DAY_MS = 86_400_000
PREFILTER = 55.0  # token_set_ratio below this is never a candidate
PER_QUERY = 8  # best look-alikes kept per market before the full checks
BLOCK_MAX = 300  # blocking: markets of the other side fuzzy-scored per market, at most
RARE_WORDS = 5  # blocking: a market meets the other side's markets sharing one of its 5 rarest words
STOPWORDS = frozenset(
    [
        "will",
        "the",
        "be",
        "a",
        "an",
        "of",
        "in",
        "on",
        "by",
        "at",
        "to",
        "for",
        "and",
        "or",
        "than",
        "is",
        "are",
        "was",
        "yes",
        "no",
        "what",
        "which",
        "who",
        "how",
        "when",
        "does",
        "do",
        "before",
        "after",
        "end",
        "this",
        "that",
        "it",
        "its",
        "any",
    ]
)


@dataclass(slots=True)
class Candidate:
    a: ListingEntry  # the reference orientation (venue order: kalshi, polymarket, manifold)
    b: ListingEntry
    score: float
    invert: bool = False  # b's YES is the pair's NO
    for_: list[str] = field(default_factory=list)
    against: list[str] = field(default_factory=list)
    refused: str | None = None  # a reason no score overrides: shown with its score, never offered

    @property
    def key(self) -> tuple[str, str]:
        return (self.a.key, self.b.key)


def text_of(entry: ListingEntry) -> str:
    """The question, with the subtitle when it says more (Kalshi "$100,000 or above")."""
    sub = entry.subtitle.strip()
    if sub and sub.lower() not in entry.question.lower() and sub.lower() not in ("yes", "no"):
        return f"{entry.question} {sub}"
    return entry.question


def matchable(entry: ListingEntry) -> bool:
    """Binary and ranged markets pair; categorical ones (one market, many outcomes) do not."""
    return entry.kind != "categorical" and entry.status == "open"


def candidates(
    entries: Iterable[ListingEntry], *, min_score: float = 0.0, one_to_one: bool = True
) -> list[Candidate]:
    """Every scored candidate across venue pairs, best first.

    ``one_to_one``: a market is proposed in at most one pair per other venue (the best one),
    so a ladder of thresholds does not propose every rung against every rung.
    """
    by_venue: dict[str, list[ListingEntry]] = {v: [] for v in VENUE_NAMES}
    for entry in entries:
        if matchable(entry):
            by_venue[entry.venue].append(entry)
    feats = {e.key: extract.features(text_of(e)) for es in by_venue.values() for e in es}
    out: list[Candidate] = []
    for i, va in enumerate(VENUE_NAMES):
        for vb in VENUE_NAMES[i + 1 :]:
            left, right = by_venue[va], by_venue[vb]
            if not left or not right:
                continue
            found = [c for c in _venue_pair(left, right, feats) if c.score >= min_score]
            out.extend(_one_to_one(found) if one_to_one else found)
    out.sort(key=lambda c: (-c.score, c.key))
    return out


def _venue_pair(
    left: Sequence[ListingEntry], right: Sequence[ListingEntry], feats: dict[str, extract.Features]
) -> list[Candidate]:
    """Block on rare shared words, then fuzzy-score only the markets that share one.

    A full listing is tens of thousands of markets a side: scoring every pair (~4 us each)
    takes many minutes. Two questions about the same thing share at least one of their
    rarer words (a name, a number, a month), so each market is compared only with the other
    side's markets that contain one of its ``RARE_WORDS`` rarest words.
    """
    choices = [feats[e.key].text for e in right]
    postings: dict[str, list[int]] = {}
    for index, text in enumerate(choices):
        for word in set(text.split()) - STOPWORDS:
            postings.setdefault(word, []).append(index)
    found = []
    for a in left:
        words = [w for w in set(feats[a.key].text.split()) - STOPWORDS if w in postings]
        words.sort(key=lambda w: (len(postings[w]), w))
        block = _block([postings[w] for w in words[:RARE_WORDS]])
        if not block:
            continue
        hits = process.extract(
            feats[a.key].text,
            [choices[i] for i in block],
            scorer=fuzz.token_set_ratio,
            limit=PER_QUERY,
            score_cutoff=PREFILTER,
        )
        for _, _, position in hits:
            b = right[block[position]]
            found.append(score(a, b, feats[a.key], feats[b.key]))
    return found


def _block(lists: list[list[int]]) -> list[int]:
    """The other side's markets sharing the most of a question's rare words, at most ``BLOCK_MAX``.

    A ladder (a hundred Kalshi strikes of one day) shares every word but the number: the
    markets that share more of the rare words come first, so the right rung stays in.
    """
    union: Counter[int] = Counter()
    for items in lists:
        union.update(items)
    if len(union) <= BLOCK_MAX:
        return sorted(union)
    return sorted(i for i, _ in union.most_common(BLOCK_MAX))


def _one_to_one(found: list[Candidate]) -> list[Candidate]:
    used: set[str] = set()
    kept = []
    # A refused candidate never takes a market away from one that can be offered.
    for cand in sorted(found, key=lambda c: (c.refused is not None, -c.score, c.key)):
        if cand.a.key in used or cand.b.key in used:
            continue
        used.update((cand.a.key, cand.b.key))
        kept.append(cand)
    return kept


def score(
    a: ListingEntry, b: ListingEntry, fa: extract.Features | None = None, fb: extract.Features | None = None
) -> Candidate:
    fa = fa or extract.features(text_of(a))
    fb = fb or extract.features(text_of(b))
    sort_ratio = fuzz.token_sort_ratio(fa.text, fb.text) / 100
    set_ratio = fuzz.token_set_ratio(fa.text, fb.text) / 100
    similarity = 0.5 * sort_ratio + 0.5 * set_ratio
    cand = Candidate(a, b, similarity)
    cand.for_.append(
        f"question similarity {similarity:.2f} (token sort {sort_ratio:.2f}, token set {set_ratio:.2f})"
    )
    flips = 0
    flips += _numbers(cand, a, b, fa, fb)
    _dates(cand, fa, fb)
    flips += _entities(cand, fa, fb)
    flips += _direction(cand, a, b, fa, fb)
    _actions(cand, fa, fb)
    _times(cand, a, b)
    _structure(cand, a, b)
    _sources(cand, a, b)
    _venue_notes(cand, a, b)
    cand.invert = flips % 2 == 1
    cand.score = round(max(0.0, min(1.0, cand.score)), 3)
    return cand


def _numbers(
    cand: Candidate, a: ListingEntry, b: ListingEntry, fa: extract.Features, fb: extract.Features
) -> int:
    na, nb = set(fa.numbers), set(fb.numbers)
    for entry, numbers in ((a, na), (b, nb)):
        if entry.threshold is not None:  # the venue's own strike (Kalshi floor/cap)
            value = extract.to_number(entry.threshold)
            if value is not None:
                numbers.add((value.normalize(), ""))
    values_a = {v for v, _ in na}
    values_b = {v for v, _ in nb}
    if not na and not nb:
        return 0
    if not na or not nb:
        side = "first" if na else "second"
        cand.against.append(f"only the {side} market names a number: {_fmt(na or nb)}")
        cand.score *= 0.8
        return 0
    if values_a == values_b:
        cand.for_.append(f"numbers agree: {_fmt(na)}")
        cand.score += 0.05
    elif values_a & values_b:
        cand.against.append(f"numbers partly differ: {_fmt(na)} vs {_fmt(nb)}")
        cand.score *= 0.75
    else:
        cand.against.append(f"numbers differ: {_fmt(na)} vs {_fmt(nb)}")
        cand.score *= 0.35
    return 0


def _dates(cand: Candidate, fa: extract.Features, fb: extract.Features) -> None:
    if not fa.dates or not fb.dates:
        return
    if any(_same_date(x, y) for x in fa.dates for y in fb.dates):
        cand.for_.append(f"dates agree: {_fmt_dates(fa.dates)} / {_fmt_dates(fb.dates)}")
        return
    cand.against.append(f"dates differ: {_fmt_dates(fa.dates)} vs {_fmt_dates(fb.dates)}")
    cand.score *= 0.4


def _same_date(x: tuple[int | None, ...], y: tuple[int | None, ...]) -> bool:
    """Compatible when every part both sides give is equal ("June 30" fits "June 30, 2026")."""
    shared = [(p, q) for p, q in zip(x, y, strict=True) if p is not None and q is not None]
    return bool(shared) and all(p == q for p, q in shared)


def _entities(cand: Candidate, fa: extract.Features, fb: extract.Features) -> int:
    """Names one question gives and the other lacks; a Democratic/Republican swap inverts."""
    only_a = {e for e in fa.entities if not _supported(e, fb.text)}
    only_b = {e for e in fb.entities if not _supported(e, fa.text)}
    for left in list(only_a):
        for right in list(only_b):
            if frozenset({left, right}) in extract.OPPOSITES:
                only_a.discard(left)
                only_b.discard(right)
                cand.against.append(
                    f"opposite sides: {left!r} vs {right!r}: inverted (valid only for a two-way contest)"
                )
                if not only_a and not only_b:
                    return 1
                cand.score *= 0.5
                return 0
    if only_a and only_b:
        cand.against.append(f"names differ: {sorted(only_a)} vs {sorted(only_b)}")
        cand.score *= 0.45
    elif only_a or only_b:
        cand.against.append(f"named by one market only: {sorted(only_a or only_b)}")
        cand.score *= 0.9
    elif fa.entities or fb.entities:
        cand.for_.append(f"names agree: {sorted(fa.entities | fb.entities)}")
    return 0


def _supported(entity: str, text: str) -> bool:
    words = extract.normalise(entity).split()
    present = set(text.split())
    return bool(words) and all(w in present for w in words)


def _direction(
    cand: Candidate, a: ListingEntry, b: ListingEntry, fa: extract.Features, fb: extract.Features
) -> int:
    flips = 0
    da = a.direction if a.direction in ("above", "below") else fa.direction
    db = b.direction if b.direction in ("above", "below") else fb.direction
    if da and db and da != db:
        cand.against.append(
            f"opposite directions: {da} vs {db}: inverted (check the boundary: 'above' vs 'or below')"
        )
        flips += 1
    elif da and db:
        cand.for_.append(f"same direction: {da}")
    if fa.negated != fb.negated:
        which = "first" if fa.negated else "second"
        cand.against.append(f"the {which} question is negated: inverted")
        flips += 1
    return flips


def _actions(cand: Candidate, fa: extract.Features, fb: extract.Features) -> None:
    if fa.actions and fb.actions and not fa.actions & fb.actions:
        cand.against.append(f"different events asked: {sorted(fa.actions)} vs {sorted(fb.actions)}")
        cand.score *= 0.4
    if fa.timing and fb.timing and fa.timing != fb.timing:
        cand.against.append(
            "one resolves when the level is first reached by a deadline, the other on one reading at one time"
        )
        cand.score *= 0.5


def _times(cand: Candidate, a: ListingEntry, b: ListingEntry) -> None:
    ta, tb = a.resolve_ms or a.close_ms, b.resolve_ms or b.close_ms
    if ta is None or tb is None:
        cand.against.append("a resolution time is unknown: compare by hand")
        return
    days = abs(ta - tb) / DAY_MS
    if days <= 2:
        cand.for_.append(f"expected resolution within {days:.1f} days of each other")
    elif days <= 14:
        cand.against.append(
            f"expected resolutions {days:.0f} days apart: capital is tied up for the later one"
        )
        cand.score *= 0.95
    elif days <= 60:
        cand.against.append(f"expected resolutions {days:.0f} days apart")
        cand.score *= 0.75
    else:
        cand.against.append(f"expected resolutions {days:.0f} days apart: likely different contracts")
        cand.score *= 0.5


def _structure(cand: Candidate, a: ListingEntry, b: ListingEntry) -> None:
    for entry in (a, b):
        names = [o.name for o in entry.outcomes]
        yes_no = names[:2] == ["Yes", "No"]
        if entry.venue == "polymarket" and names and entry.kind != "categorical" and not yes_no:
            cand.against.append(f"{entry.venue} outcomes are {names[:2]}: its YES leg is {names[0]!r}")
    if a.kind == b.kind:
        cand.for_.append(f"same structure: {a.kind}")
    else:
        cand.for_.append(f"structures compatible: {a.kind} / {b.kind} (a threshold market is binary)")


def _sources(cand: Candidate, a: ListingEntry, b: ListingEntry) -> None:
    sa = extract.sources(f"{a.resolution_source}\n{a.rules}")
    sb = extract.sources(f"{b.resolution_source}\n{b.rules}")
    if not a.rules and not b.rules:
        cand.against.append("neither market publishes rules text here: read both venues' rules")
    elif not a.rules or not b.rules:
        missing = a if not a.rules else b
        cand.against.append(f"no rules text from {missing.venue}: read its rules before accepting")
    if sa and sb:
        if sa & sb:
            cand.for_.append(f"resolution sources agree: {sorted(sa & sb)}")
            cand.score += 0.03
        else:
            cand.against.append(f"resolution sources differ: {sorted(sa)} vs {sorted(sb)}")
            cand.score *= 0.6


def _venue_notes(cand: Candidate, a: ListingEntry, b: ListingEntry) -> None:
    for entry in (a, b):
        if entry.neg_risk_augmented:
            cand.refused = (
                f"{entry.venue} {entry.slug or entry.id} belongs to a negRisk-augmented event "
                f"({entry.event}): placeholder outcomes, YES asks sum below 1 by construction"
            )
        elif entry.placeholder:
            cand.refused = f"{entry.venue} {entry.slug or entry.id} is a placeholder ('Other') outcome"
        elif entry.neg_risk:
            event = f" ({entry.event})" if entry.event else ""
            cand.against.append(
                f"{entry.venue} market is one outcome of a negRisk event{event}: check the other outcomes"
            )
        if entry.play_money:
            cand.against.append(f"{entry.venue} is play money (MANA): a signal, never executable")


def _fmt(numbers: Iterable[tuple[object, str]]) -> str:
    return ", ".join(sorted(f"{format(v, 'f') if hasattr(v, 'is_finite') else v}{u}" for v, u in numbers))


def _fmt_dates(dates: Iterable[tuple[int | None, int | None, int | None]]) -> str:
    def one(d: tuple[int | None, int | None, int | None]) -> str:
        y, m, day = d
        return "-".join(str(p) if p is not None else "?" for p in (y, m, day)).rstrip("-?")

    return ", ".join(sorted(one(d) for d in dates))
