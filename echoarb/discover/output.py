"""Candidates as ``config/market_pairs.json`` entries, and the merge that never changes a pair.

``pair_json`` turns a candidate into the pairs-file format (docs/edge.md) with the fee
parameters read from the listing: Kalshi ``fee_rate`` = 0.07 x the series' ``fee_multiplier``
for the quadratic fee types (0 when the multiplier is 0: a fee waiver); Polymarket
``fee_rate`` and ``fee_exponent`` from the market's ``feeSchedule`` (0 when ``feesEnabled`` is
false). When the listing does not give a Polymarket rate, the category rate of the venue's
published table is inferred from ``feeType`` and the candidate says so; when nothing is
known the key is left out and the candidate says that too (the scanner then assumes 0).

``merge`` adds accepted pairs to a pairs file after a timestamped backup; an id already
there, or an instrument another pair already uses, is refused with its reason, so an
existing pair is never changed behind anyone's back. Accepted pairs' rules texts are kept
in ``DATA_DIR/discover/accepted.json`` as the baseline ``--check`` compares against.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from echoarb.discover.match import Candidate
from echoarb.discover.model import ListingEntry
from echoarb.pairs import MAX_FEE_EXPONENT, PairsConfigError, parse_pairs

KALSHI_TAKER_RATE = Decimal("0.07")
_KALSHI_QUADRATIC = {"quadratic", "quadratic_with_maker_fees"}
# Polymarket's published taker rates by category (docs/edge.md, mid-2026), by feeType prefix.
_POLY_CATEGORY = {
    "crypto": "0.07",
    "sports": "0.03",
    "politics": "0.04",
    "finance": "0.04",
    "tech": "0.04",
    "mentions": "0.04",
    "economics": "0.05",
    "culture": "0.05",
    "weather": "0.05",
    "other": "0.05",
    "geopolitics": "0",
}


def pair_id(cand: Candidate) -> str:
    def part(entry: ListingEntry) -> str:
        text = entry.id if entry.venue == "kalshi" else entry.slug or entry.id
        return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]

    return f"{part(cand.a)}--{part(cand.b)}"


def venue_ref(entry: ListingEntry, invert: bool, notes: list[str]) -> dict[str, Any]:
    if entry.venue == "kalshi":
        ref: dict[str, Any] = {"ticker": entry.id}
        rate = kalshi_fee_rate(entry)
        if rate is None:
            notes.append(
                f"kalshi fee type {entry.fees.get('fee_type', 'unknown')!r}: fee_rate left to the default"
            )
        else:
            ref["fee_rate"] = rate
    elif entry.venue == "polymarket":
        yes, no = entry.outcomes[0], entry.outcomes[1]
        ref = {"token_id": yes.instrument, "no_token_id": no.instrument}
        rate = entry.fees.get("fee_rate")
        if rate is None and entry.fees.get("fee_type"):
            category = entry.fees["fee_type"].split("_", 1)[0].lower()
            rate = _POLY_CATEGORY.get(category)
            if rate is not None:
                notes.append(f"polymarket fee_rate {rate} inferred from feeType {entry.fees['fee_type']!r}")
        if rate is None:
            notes.append("polymarket fee rate unknown: set fee_rate by hand (the scanner assumes 0)")
        else:
            ref["fee_rate"] = rate
        exponent = _whole(entry.fees.get("fee_exponent"))
        if exponent is not None and exponent != 1:
            if 1 <= exponent <= MAX_FEE_EXPONENT:
                ref["fee_exponent"] = exponent
            else:
                notes.append(f"polymarket fee exponent {exponent} is outside 1..{MAX_FEE_EXPONENT}: left out")
    else:
        ref = {"slug": entry.slug}
    if invert:
        ref["invert"] = True
    return ref


def kalshi_fee_rate(entry: ListingEntry) -> str | None:
    fee_type = entry.fees.get("fee_type")
    if fee_type is None:
        return None
    try:
        multiplier = Decimal(entry.fees.get("fee_multiplier", "1"))
    except InvalidOperation:
        return None
    if multiplier == 0:
        return "0"
    if fee_type not in _KALSHI_QUADRATIC:
        return None
    return format((KALSHI_TAKER_RATE * multiplier).normalize(), "f")


def pair_json(cand: Candidate) -> tuple[dict[str, Any], list[str]]:
    """The pairs-file entry and the notes about its fee parameters."""
    notes: list[str] = []
    description = cand.a.question
    if cand.invert:
        description += f" ({cand.b.venue} lists the opposite side: inverted)"
    out: dict[str, Any] = {"id": pair_id(cand), "description": description}
    out[cand.a.venue] = venue_ref(cand.a, False, notes)
    out[cand.b.venue] = venue_ref(cand.b, cand.invert, notes)
    return out, notes


def suggestions(cands: list[Candidate]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A valid pairs file of the candidates, and the evidence of each (same ids, same order)."""
    pairs, evidence, seen = [], [], set()
    for cand in cands:
        if cand.refused:
            continue
        entry, notes = pair_json(cand)
        if entry["id"] in seen:
            continue
        seen.add(entry["id"])
        pairs.append(entry)
        evidence.append(
            {
                "id": entry["id"],
                "score": cand.score,
                "invert": cand.invert,
                "for": cand.for_,
                "against": cand.against + notes,
                "markets": [_market_summary(cand.a), _market_summary(cand.b)],
            }
        )
    body = {"pairs": pairs}
    if pairs:
        parse_pairs(body)  # what we write must load; a bug here is ours, not the user's
    return body, evidence


def write_suggestions(path: Path, cands: list[Candidate]) -> tuple[int, Path]:
    body, evidence = suggestions(cands)
    _write_json(path, body)
    sidecar = path.with_name(path.name.removesuffix(".json") + ".evidence.json")
    _write_json(sidecar, {"candidates": evidence})
    return len(body["pairs"]), sidecar


@dataclass(slots=True)
class MergeResult:
    added: list[str]
    refused: list[str]  # one reason per refused pair
    backup: Path | None


def configured_instruments(raw: dict[str, Any]) -> dict[str, str]:
    """venue:instrument -> the id of the pair that uses it."""
    out: dict[str, str] = {}
    for pair in raw.get("pairs", []):
        if not isinstance(pair, dict):
            continue
        holders = [pair, *[o for o in pair.get("outcomes", []) if isinstance(o, dict)]]
        for holder in holders:
            for venue, key in (("kalshi", "ticker"), ("polymarket", "token_id"), ("manifold", "slug")):
                spec = holder.get(venue)
                if isinstance(spec, dict) and isinstance(spec.get(key), str):
                    out[f"{venue}:{spec[key]}"] = str(pair.get("id"))
                    if venue == "polymarket" and isinstance(spec.get("no_token_id"), str):
                        out[f"polymarket:{spec['no_token_id']}"] = str(pair.get("id"))
    return out


def instruments_of(entry: ListingEntry) -> list[str]:
    if entry.venue == "polymarket":
        return [f"polymarket:{o.instrument}" for o in entry.outcomes[:2]]
    if entry.venue == "manifold":
        return [f"manifold:{entry.slug}"]
    return [f"kalshi:{entry.id}"]


def read_pairs_file(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"pairs": []}
    except (OSError, json.JSONDecodeError) as exc:
        raise PairsConfigError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("pairs"), list):
        raise PairsConfigError(f'{path}: expected an object {{"pairs": [...]}}')
    return raw


def merge(path: Path, accepted: list[Candidate], *, now: float | None = None) -> MergeResult:
    raw = read_pairs_file(path)
    if raw["pairs"]:
        try:
            parse_pairs(raw)
        except PairsConfigError as exc:
            raise PairsConfigError(f"{path}: fix the file before merging into it: {exc}") from None
    ids = {str(p.get("id")) for p in raw["pairs"] if isinstance(p, dict)}
    used = configured_instruments(raw)
    added, refused = [], []
    new_pairs = []
    for cand in accepted:
        entry, _ = pair_json(cand)
        clash = next((used[i] for i in instruments_of(cand.a) + instruments_of(cand.b) if i in used), None)
        if entry["id"] in ids:
            refused.append(f"{entry['id']}: a pair with this id is already configured (left unchanged)")
        elif clash is not None:
            refused.append(f"{entry['id']}: uses an instrument of configured pair {clash!r} (left unchanged)")
        else:
            new_pairs.append(entry)
            added.append(entry["id"])
            ids.add(entry["id"])
            for key in instruments_of(cand.a) + instruments_of(cand.b):
                used[key] = entry["id"]
    backup = None
    if new_pairs:
        merged = {**raw, "pairs": [*raw["pairs"], *new_pairs]}
        parse_pairs(merged)
        if path.exists():
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now))
            backup = path.with_name(f"{path.name}.bak-{stamp}")
            shutil.copy2(path, backup)
        _write_json(path, merged)
    return MergeResult(added, refused, backup)


def rules_fingerprint(entry: ListingEntry) -> str:
    text = " ".join(f"{entry.rules}\n{entry.resolution_source}".split())
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def record_accepted(path: Path, accepted: list[Candidate]) -> None:
    """Keep the accepted pairs' rules (and close times) as the baseline of ``--check``."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        raw = {}
    for cand in accepted:
        pid = pair_id(cand)
        raw[pid] = {
            entry.venue: {
                "id": entry.id,
                "rules_sha": rules_fingerprint(entry),
                "rules": entry.rules,
                "close_ms": entry.close_ms,
                "resolve_ms": entry.resolve_ms,
            }
            for entry in (cand.a, cand.b)
        }
    _write_json(path, raw)


def _market_summary(entry: ListingEntry) -> dict[str, Any]:
    return {
        "venue": entry.venue,
        "id": entry.id,
        "slug": entry.slug,
        "question": entry.question,
        "close_ms": entry.close_ms,
        "resolve_ms": entry.resolve_ms,
        "rules": entry.rules,
        "resolution_source": entry.resolution_source,
        "fees": entry.fees,
        "url": entry.url,
    }


def _whole(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return int(number) if number.is_finite() and number == number.to_integral_value() else None


def _write_json(path: Path, body: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
