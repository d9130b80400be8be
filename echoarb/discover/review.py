"""The terminal review: each candidate with its evidence, then a person's yes or no.

Shown per candidate: both markets (venue, id, question, close and expected resolution, volume,
fees), the reasons for and against, and the two rules texts side by side, so the differences
that decide whether two contracts are the same are read together rather than in two browser
tabs. Answers come from any text stream (stdin in the CLI, a string in tests): ``y`` accept,
``n`` reject, ``s`` skip the rest, ``q`` quit; end of input is a quit. Nothing is written
here: the caller merges the accepted ones.
"""

from __future__ import annotations

import shutil
import textwrap
import time
from collections.abc import Callable
from typing import TextIO

from echoarb.discover.match import Candidate
from echoarb.discover.model import ListingEntry
from echoarb.discover.output import pair_json

RULE_LINES = 14  # per side; the rest is counted, and the full text is in the evidence file


def when(ms: int | None) -> str:
    return "unknown" if ms is None else time.strftime("%Y-%m-%d %H:%MZ", time.gmtime(ms / 1000))


def describe_market(entry: ListingEntry) -> list[str]:
    ident = entry.id if entry.venue == "kalshi" else entry.slug or entry.id
    lines = [f"{entry.venue:<10} {ident}", f"           {entry.question}"]
    if entry.subtitle and entry.subtitle not in entry.question:
        lines.append(f"           ({entry.subtitle})")
    facts = [f"close {when(entry.close_ms)}", f"resolves {when(entry.resolve_ms)}"]
    if entry.volume is not None:
        facts.append(f"volume {entry.volume:,.0f}")
    if entry.fees:
        facts.append("fees " + ", ".join(f"{k}={v}" for k, v in sorted(entry.fees.items())))
    lines.append("           " + "; ".join(facts))
    if entry.url:
        lines.append(f"           {entry.url}")
    return lines


def side_by_side(
    left_title: str, left: str, right_title: str, right: str, width: int | None = None
) -> list[str]:
    total = width or shutil.get_terminal_size((120, 24)).columns
    col = max(30, (total - 5) // 2)
    wrap_l = _wrap(left or "(no rules text)", col)
    wrap_r = _wrap(right or "(no rules text)", col)
    rows = max(len(wrap_l), len(wrap_r))
    shown = min(rows, RULE_LINES)
    out = [f"  {left_title:<{col}} | {right_title}", f"  {'-' * col}-+-{'-' * col}"]
    for i in range(shown):
        a = wrap_l[i] if i < len(wrap_l) else ""
        b = wrap_r[i] if i < len(wrap_r) else ""
        out.append(f"  {a:<{col}} | {b}")
    if rows > shown:
        out.append(f"  ... {rows - shown} more lines (full text in the evidence file)")
    return out


def render(cand: Candidate, index: int, total: int, width: int | None = None) -> str:
    _, notes = pair_json(cand)
    invert = f"yes: {cand.b.venue}'s YES is the pair's NO" if cand.invert else "no"
    lines = [f"[{index}/{total}] score {cand.score:.2f}   invert: {invert}"]
    lines += describe_market(cand.a) + describe_market(cand.b)
    lines += ["  for:"] + [f"    + {r}" for r in cand.for_]
    lines += ["  against:"] + [f"    - {r}" for r in cand.against + notes] if cand.against or notes else []
    if cand.refused:
        lines.append(f"  REFUSED: {cand.refused}")
    lines.append("  rules, side by side:")
    lines += side_by_side(
        cand.a.venue,
        _rules(cand.a),
        cand.b.venue,
        _rules(cand.b),
        width,
    )
    return "\n".join(lines)


def review(
    cands: list[Candidate],
    answers: TextIO,
    out: TextIO,
    *,
    width: int | None = None,
    ask: Callable[[str], None] | None = None,
) -> list[Candidate]:
    """The accepted candidates, in order; refused candidates are shown and never asked."""
    accepted: list[Candidate] = []
    total = len(cands)
    for index, cand in enumerate(cands, start=1):
        out.write(render(cand, index, total, width) + "\n")
        if cand.refused:
            out.write("  (refused: not offered)\n\n")
            continue
        while True:
            prompt = "accept this pair? [y]es / [n]o / [s]kip the rest / [q]uit: "
            out.write(prompt)
            out.flush()
            if ask is not None:
                ask(prompt)
            line = answers.readline()
            if not line:
                out.write("\n(end of input: stopping)\n")
                return accepted
            answer = line.strip().lower()[:1]
            if answer in ("y", "n", "s", "q"):
                break
            out.write("  please answer y, n, s or q\n")
        if answer == "y":
            accepted.append(cand)
            out.write("  accepted\n\n")
        elif answer == "n":
            out.write("  rejected\n\n")
        else:
            break
    return accepted


def _rules(entry: ListingEntry) -> str:
    parts = [entry.rules.strip()]
    if entry.resolution_source and entry.resolution_source not in entry.rules:
        parts.append(f"Resolution source: {entry.resolution_source}")
    return "\n".join(p for p in parts if p)


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines.extend(textwrap.wrap(paragraph, width) or [""])
    return lines
