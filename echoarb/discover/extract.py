"""What a question says, beyond its words: numbers with units, dates, names, direction, negation.

Fuzzy text similarity alone pairs look-alikes: "Bitcoin above $100,000 on June 30" and
"Bitcoin above $120,000 on June 30" differ by one token. The matcher therefore compares
what this module pulls out of each question: thresholds ("4.75%", "100k", "$1.2 billion",
"25 bps" all normalised to a value and a unit), dates (a month with or without day and
year, a quarter, a bare year), named entities (capitalised runs, with common aliases folded:
BTC = Bitcoin, Fed = Federal Reserve, GOP = Republican), the direction of a threshold
(above / below) and a negation ("not", "fail to"). Plain regular expressions: the questions
are short, templated English, and every rule here is visible and testable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

MONTHS = {
    name: index
    for index, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
# "jun" -> "june", "sept" -> "september": the form fuzzy scores and the blocking index compare.
_FULL = {index: max((n for n, i in MONTHS.items() if i == index), key=len) for index in range(1, 13)}
_MONTH_NAME = {name: _FULL[index] for name, index in MONTHS.items()}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_DATE = re.compile(
    rf"\b(?P<month>{_MONTH})\.?(?:\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?)?(?:,?\s+(?P<year>(?:19|20)\d\d))?\b"
    rf"|\b(?P<q>q[1-4])\s+(?P<qyear>(?:19|20)\d\d)\b"
    rf"|\b(?P<iso>(?:19|20)\d\d-\d\d-\d\d)\b"
    rf"|\b(?P<bare>(?:19|20)\d\d)\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"(?P<cur>[$€£])?\s?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"\s?(?P<unit>%|percent|bps|basis points?|k\b|m\b|mm\b|b\b|bn\b|thousand|million|billion|trillion|"
    r"°\s?[fc]?|degrees?|points?|seats?|votes?)?",
    re.IGNORECASE,
)
_SCALE = {
    "k": 10**3,
    "thousand": 10**3,
    "m": 10**6,
    "mm": 10**6,
    "million": 10**6,
    "b": 10**9,
    "bn": 10**9,
    "billion": 10**9,
    "trillion": 10**12,
}
_ABOVE = re.compile(
    r"\b(above|over|exceed(?:s|ed)?|more than|greater than|higher than|at least|or more|or higher|or above|"
    r"reach(?:es)?|hit|surpass(?:es)?|rise above|up)\b",
    re.IGNORECASE,
)
_BELOW = re.compile(
    r"\b(below|under|less than|lower than|fewer than|at most|or less|or lower|or below|fall below|"
    r"drop below|down)\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(r"\b(not|never|fail(?:s)? to|won't|doesn't|isn't|no longer)\b", re.IGNORECASE)
# Folded to one spelling before comparing entities (lower case).
ALIASES = {
    "btc": "bitcoin",
    "eth": "ethereum",
    "sol": "solana",
    "fed": "federal reserve",
    "the fed": "federal reserve",
    "fomc": "federal reserve",
    "us": "united states",
    "u.s.": "united states",
    "usa": "united states",
    "u.s": "united states",
    "gop": "republican",
    "republicans": "republican",
    "democrats": "democratic",
    "democrat": "democratic",
    "dem": "democratic",
    "dems": "democratic",
    "uk": "united kingdom",
    "nyc": "new york city",
}
# Pairs of entities that name the two sides of one two-way contest: one market's YES is the
# other's NO when everything else agrees (the pair is then inverted).
OPPOSITES = {frozenset({"democratic", "republican"})}
_STOP_CAPS = {
    "will", "the", "a", "an", "in", "on", "by", "at", "of", "for", "to", "and", "or", "is", "be", "yes", "no",
    "what", "which", "who", "how", "when", "does", "do", "before", "after", "than", "between", "this", "that",
}  # fmt: skip
_ENTITY = re.compile(r"(?:[A-Z][\w.'&-]*)(?:\s+(?:[A-Z][\w.'&-]*|of|de|la|van|von))*")
SOURCES = (
    "cf benchmarks", "brti", "chainlink", "binance", "coinbase", "kraken", "coingecko", "coinmarketcap",
    "bureau of labor statistics", "bls", "bea", "bureau of economic analysis", "nber", "federal reserve",
    "fomc", "associated press", "ap", "nws", "noaa", "national weather service", "espn", "nfl", "nba", "mlb",
    "fifa", "uefa", "cme", "s&p", "nasdaq", "nyse", "treasury", "census", "cdc", "who", "fec",
    "decision desk", "official", "consensus",
)  # fmt: skip
_SOURCE = re.compile(r"\b(" + "|".join(re.escape(s) for s in SOURCES) + r")\b", re.IGNORECASE)
_DOMAIN = re.compile(r"https?://(?:www\.)?([\w.-]+)", re.IGNORECASE)


# What the question asks to happen: two questions alike but for the action are different
# contracts ("cut" vs "hike": not complements, the Fed may hold).
ACTIONS = {
    "cut": "cut", "cuts": "cut", "lower": "cut", "lowers": "cut", "reduce": "cut",
    "hike": "hike", "hikes": "hike", "raise": "hike", "raises": "hike", "increase": "hike",
    "hold": "hold", "pause": "hold",
    "win": "win", "wins": "win", "lose": "lose", "loses": "lose",
    "resign": "leave", "leave": "leave", "remain": "stay", "stay": "stay",
}  # fmt: skip
# "reach $5,000 by December 31" resolves the first time the level trades; "above $5,000 on
# December 31" resolves on one reading at one time: a different contract.
_TOUCH = re.compile(
    r"\b(reach(?:es)?|hit(?:s)?|touch(?:es)?|dip(?:s)? to|by (?:the end of )?(?:" + _MONTH + r"))\b", re.I
)
_AT = re.compile(r"\b(on (?:" + _MONTH + r")|at (?:the )?close|close (?:above|below|at))\b", re.I)


@dataclass(frozen=True, slots=True)
class Features:
    text: str  # normalised for fuzzy scoring
    numbers: frozenset[tuple[Decimal, str]]
    dates: frozenset[tuple[int | None, int | None, int | None]]  # (year, month, day), parts may be None
    entities: frozenset[str]
    direction: str | None  # "above" | "below" | None
    negated: bool
    actions: frozenset[str] = frozenset()
    timing: str | None = None  # "touch" (first time by a deadline) | "at" (a reading at a time) | None


def features(question: str) -> Features:
    dates: set[tuple[int | None, int | None, int | None]] = set()
    spans: list[tuple[int, int]] = []
    for m in _DATE.finditer(question):
        spans.append(m.span())
        if m.group("month"):
            if not (m.group("day") or m.group("year")) and m.group("month").islower():
                continue  # "may" the verb, not May the month
            year = int(m.group("year")) if m.group("year") else None
            day = int(m.group("day")) if m.group("day") else None
            dates.add((year, MONTHS[m.group("month").lower()], day))
        elif m.group("q"):
            quarter = int(m.group("q")[1])
            dates.add((int(m.group("qyear")), 3 * quarter, None))
        elif m.group("iso"):
            y, mo, d = (int(p) for p in m.group("iso").split("-"))
            dates.add((y, mo, d))
        else:
            dates.add((int(m.group("bare")), None, None))
    rest = _blank(question, spans)
    numbers = set()
    for m in _NUMBER.finditer(rest):
        value = to_number(m.group("num"))
        if value is None:
            continue
        unit = (m.group("unit") or "").lower().replace(" ", "")
        if unit in _SCALE:
            value, unit = value * _SCALE[unit], ""
        elif unit in ("percent",):
            unit = "%"
        elif unit.startswith("basispoint"):
            unit = "bps"
        elif unit.startswith("°") or unit.startswith("degree"):
            unit = "°"
        elif unit.rstrip("s") in ("point", "seat", "vote"):
            unit = unit.rstrip("s")
        numbers.add((value.normalize(), unit))
    direction = None
    above, below = bool(_ABOVE.search(question)), bool(_BELOW.search(question))
    if above != below:
        direction = "above" if above else "below"
    return Features(
        text=normalise(question),
        numbers=frozenset(numbers),
        dates=frozenset(dates),
        entities=frozenset(entities(question)),
        direction=direction,
        negated=bool(_NEGATION.search(question)),
        actions=frozenset(ACTIONS[w] for w in re.findall(r"[a-z]+", question.lower()) if w in ACTIONS),
        timing=_timing(question),
    )


def _timing(question: str) -> str | None:
    touch, at = bool(_TOUCH.search(question)), bool(_AT.search(question))
    if touch == at:
        return None
    return "touch" if touch else "at"


@lru_cache(maxsize=1 << 16)
def normalise(text: str) -> str:
    """Lower case, "100k" -> "100000", punctuation dropped: the form fuzzy scores compare."""
    text = re.sub(r"(\d),(\d{3})", r"\1\2", text)
    text = re.sub(r"(\d),(\d{3})", r"\1\2", text)

    def scale(m: re.Match[str]) -> str:
        value = to_number(m.group(1))
        return m.group(0) if value is None else format((value * _SCALE[m.group(2).lower()]).normalize(), "f")

    text = re.sub(r"(\d+(?:\.\d+)?)\s?(k|m|bn|b)\b", scale, text, flags=re.IGNORECASE)
    text = text.lower().replace("$", " ").replace("%", " percent ")
    words = re.findall(r"[a-z0-9]+(?:\.[0-9]+)?", text)
    return " ".join(ALIASES.get(w, _MONTH_NAME.get(w, w)) for w in words)


def entities(text: str) -> set[str]:
    found = set()
    for m in _ENTITY.finditer(text):
        words = m.group(0).split()
        while words and words[0].lower() in _STOP_CAPS:
            words.pop(0)
        while words and words[-1].lower() in _STOP_CAPS | {"of", "de", "la", "van", "von"}:
            words.pop()
        if not words:
            continue
        name = " ".join(words).strip(".'?,").lower()
        if len(name) < 2 or name in MONTHS or re.fullmatch(r"[q]?\d.*", name):
            continue
        found.add(ALIASES.get(name, name))
    return found


@lru_cache(maxsize=1 << 16)
def sources(text: str) -> frozenset[str]:
    """Named resolution sources and URL domains in a rules / resolution-source text."""
    domains = {d.lower() for d in _DOMAIN.findall(text)}
    words = re.sub(r"https?://\S+", " ", text)
    found = {ALIASES.get(m.group(1).lower(), m.group(1).lower()) for m in _SOURCE.finditer(words)} | domains
    return frozenset(found - {"official", "consensus"})


def to_number(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)
