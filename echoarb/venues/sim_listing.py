"""What the venue simulators list for discovery: the markets of the pairs they simulate.

``echoarb discover`` pointed at ``echoarb simulate --market`` (or ``echoarb up --simulate``)
must find the simulated pairs again, so every venue leg of a configured pair is listed with
the same question (the pair's description; negated for an inverted leg, which discovery
reads as inverted wording and answers with ``invert``), rules text saying the same and the
same expected resolution. The resolution is a pure function of (seed, pair, UTC day), 2 to 240
days out, so simulators in separate processes agree and the annualised returns of the
board differ per pair. A categorical pair lists one market per outcome; on Polymarket its
outcomes form one negRisk event, as the venue lists them.

Only the metadata lives here: each simulator answers its venue's listing endpoints with
these markets in the venue's documented shapes (``kalshi/simulator.py`` and the others).
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from echoarb.pairs import PairsConfig

DAY_S = 86_400


@dataclass(frozen=True, slots=True)
class SimMarket:
    pair_id: str
    venue: str
    instrument: str  # Kalshi ticker, Polymarket YES token id, Manifold slug
    no_instrument: str  # Polymarket NO token id (derived from the YES one when the config has none)
    question: str
    rules: str
    open_s: int
    resolve_s: int
    event: str  # the Kalshi event ticker / the Polymarket event slug
    neg_risk: bool  # Polymarket: one outcome of a categorical pair's event
    fee_rate: Decimal | None
    fee_exponent: int


def iso(epoch_s: int) -> str:
    """Gamma's (and Kalshi's) REST time format: ISO-8601 UTC with a ``Z``."""
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def resolve_s(seed: int, pair_id: str, now_s: float) -> int:
    """The pair's expected resolution: 18:00 UTC, 2-240 days after the current UTC day began."""
    digest = hashlib.blake2b(f"{seed}|{pair_id}|resolve".encode(), digest_size=8).digest()
    days = 2 + int.from_bytes(digest, "big") % 239
    return int(now_s) // DAY_S * DAY_S + days * DAY_S + 18 * 3600


def no_token(yes: str) -> str:
    """A stable 77-digit NO token id for a Polymarket leg configured with its YES token only."""
    return str(int(hashlib.sha256(f"{yes}|no".encode()).hexdigest(), 16))[:77]


def _topic(pair_id: str, description: str) -> str:
    text = re.sub(r"\s*\([^)]*\)", "", description).strip().rstrip(".?")
    return text or pair_id.replace("-", " ")


def _kalshi_event(ticker: str) -> str:
    return ticker.rsplit("-", 1)[0] if ticker.count("-") >= 2 else ticker


def sim_markets(
    pairs: PairsConfig, venue: str, *, seed: int = 7, now_s: float | None = None
) -> list[SimMarket]:
    """Every leg of ``venue`` in the pairs config, as that simulator lists it."""
    now = time.time() if now_s is None else now_s
    out: list[SimMarket] = []
    seen: set[str] = set()
    for pair in pairs.pairs:
        topic = _topic(pair.id, pair.description)
        resolves = resolve_s(seed, pair.id, now)
        categorical = bool(pair.outcomes)
        for outcome, ref in pair.refs():
            if ref.venue != venue or ref.instrument in seen:
                continue
            seen.add(ref.instrument)
            subject = f"{outcome}: {topic}" if outcome else topic
            question = f"{subject}: will it not happen?" if ref.invert else f"{subject}?"
            happens = "does not happen" if ref.invert else "happens"
            rules = (
                f"This market resolves to Yes if {subject} {happens} by the resolution date, and to "
                f"No otherwise. Resolution source: the EchoArb simulator (simulated pair {pair.id})."
            )
            event = _kalshi_event(ref.instrument) if venue == "kalshi" else pair.id
            out.append(
                SimMarket(
                    pair_id=pair.id,
                    venue=venue,
                    instrument=ref.instrument,
                    no_instrument=ref.no_instrument or no_token(ref.instrument),
                    question=question,
                    rules=rules,
                    open_s=int(now) // DAY_S * DAY_S - 30 * DAY_S,
                    resolve_s=resolves,
                    event=event,
                    neg_risk=categorical and venue == "polymarket",
                    fee_rate=ref.fee_rate,
                    fee_exponent=ref.fee_exponent,
                )
            )
    return out
