"""Run-time guards of the serve view: live prices that say a configured pair is wrong.

A pair matched the wrong way round shows it in its prices: venue A's YES trades where
venue B's NO does (mid_A + mid_B near 1) while the two mids are far apart, so the scanner
sees a huge, persistent "edge". A pair of two different contracts shows mids that stay far
apart without that symmetry. Either is suspected only when it holds on ``window``
consecutive observations of fresh quotes (one noisy tick is not evidence) and cleared only
after as many observations without it, so a pair does not flap. A suspected pair's
opportunities are shown not executable, with the reason; the server logs the change and
the metrics expose it (``echoarb_pair_suspect``).

A leg whose market is settled or closed ends the pair's executability at once (Polymarket
``market_resolved``, Kalshi lifecycle settlement and close): the view does not wait for the
worker's next event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

log = logging.getLogger("echoarb.serve")

MICROS = Decimal(1_000_000)
ENDED = ("settled", "closed")


@dataclass(slots=True)
class _Track:
    hits: int = 0
    misses: int = 0
    reason: str | None = None  # set while suspected
    last_seen: str = ""


def mid(record: dict[str, Any]) -> Decimal | None:
    """Mid of a tick in the pair's orientation from its best YES and NO asks (or one of them)."""
    yes = Decimal(record["yes_asks"][0]["price_micros"]) / MICROS if record["yes_asks"] else None
    no = Decimal(record["no_asks"][0]["price_micros"]) / MICROS if record["no_asks"] else None
    if yes is not None and no is not None:
        return (yes + 1 - no) / 2
    if yes is not None:
        return yes
    return None if no is None else 1 - no


class PairGuard:
    def __init__(
        self,
        *,
        window: int = 20,
        gap: Decimal = Decimal("0.3"),
        sum_tolerance: Decimal = Decimal("0.1"),
        wrong_gap: Decimal = Decimal("0.5"),
        max_skew_ms: int = 30_000,
    ) -> None:
        self.window = window
        self.gap = gap
        self.sum_tolerance = sum_tolerance
        self.wrong_gap = wrong_gap
        self.max_skew_ms = max_skew_ms
        self.tracks: dict[str, _Track] = {}
        self.suspicions = 0  # transitions into suspicion, for the metrics

    def suspect(self, pair_id: str) -> str | None:
        track = self.tracks.get(pair_id)
        return None if track is None else track.reason

    def observe(self, pair_id: str, quotes: dict[tuple[str, str], dict[str, Any]]) -> None:
        """One observation after a tick of ``pair_id`` (its latest quote per venue and outcome)."""
        # Real-money binary legs only: a thin play-money market far off is no evidence.
        legs = [q for (_, outcome), q in sorted(quotes.items()) if not outcome and q["real_money"]]
        observed, finding = False, None
        for i, a in enumerate(legs):
            for b in legs[i + 1 :]:
                if abs(a["event_ts"] - b["event_ts"]) > self.max_skew_ms:
                    continue  # one side is old: no evidence either way
                ma, mb = mid(a), mid(b)
                if ma is None or mb is None:
                    continue
                observed = True
                finding = finding or self._finding(a["venue"], ma, b["venue"], mb)
        if not observed:
            return
        track = self.tracks.setdefault(pair_id, _Track())
        if finding is not None:
            track.hits, track.misses, track.last_seen = track.hits + 1, 0, finding
            if track.reason is None and track.hits >= self.window:
                track.reason = finding
                self.suspicions += 1
                log.warning("pair %s: %s: its opportunities are marked not executable", pair_id, finding)
        else:
            track.misses, track.hits = track.misses + 1, 0
            if track.reason is not None and track.misses >= self.window:
                log.warning("pair %s: prices agree again: executable as computed", pair_id)
                track.reason = None

    def _finding(self, va: str, ma: Decimal, vb: str, mb: Decimal) -> str | None:
        apart = abs(ma - mb)
        prices = f"{va} YES {ma:.2f} vs {vb} YES {mb:.2f}"
        if apart >= self.gap and abs(ma + mb - 1) <= self.sum_tolerance:
            return f"prices look inverted ({prices}, sum {ma + mb:.2f}): check invert"
        if apart >= self.wrong_gap:
            return f"prices disagree by {apart:.2f} ({prices}): a wrong match?"
        return None


def ended_leg(quotes: dict[tuple[str, str], dict[str, Any]], venues: set[str]) -> str | None:
    """``"kalshi market settled"`` when the latest quote of a leg on ``venues`` says trading is over."""
    for (venue, outcome), record in sorted(quotes.items()):
        if venue in venues and record["status"] in ENDED:
            return f"{venue}{' ' + outcome if outcome else ''} market {record['status']}"
    return None
