"""Moving markets for the simulators (``echoarb simulate --market``, ``echoarb up --simulate``).

Each pair has a fair YES price that drifts slowly (two sine waves with periods and phases
drawn from the seed). Every venue quotes around it with a tight spread. Now and then one
real-money venue of a pair is dislocated for a few seconds (a slot of ``cross_every_s``
seconds holds at most one dislocation of ``cross_for_s`` seconds, 6-10 cents up or down):
that is when the books cross and opportunities appear.

Prices are a pure function of (seed, pair, venue, wall time), so simulators running in
separate processes agree without talking to each other.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from echoarb.pairs import PairsConfig

HALF_SPREAD = 1  # cents from mid to the best bid/ask
DEPTH = 3  # levels per side


def _unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from the parts."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True, slots=True)
class Instrument:
    pair_id: str
    venue: str
    complement: bool  # the instrument's YES is the pair's NO (invert, or a Polymarket NO token)


class MarketModel:
    def __init__(
        self, pairs: PairsConfig, *, seed: int = 7, cross_every_s: float = 15.0, cross_for_s: float = 5.0
    ) -> None:
        self.pairs = pairs  # what the simulators list for discovery (echoarb.venues.sim_listing)
        self.seed = seed
        self.cross_every_s = cross_every_s
        self.cross_for_s = min(cross_for_s, cross_every_s)
        self.instruments: dict[tuple[str, str], Instrument] = {}
        self.real_money: dict[str, list[str]] = {}
        for pair in pairs.pairs:
            refs = list(pair.venues) + [ref for outcome in pair.outcomes for ref in outcome.venues]
            for ref in refs:
                self.instruments[(ref.venue, ref.instrument)] = Instrument(pair.id, ref.venue, ref.invert)
                if ref.no_instrument:
                    self.instruments[(ref.venue, ref.no_instrument)] = Instrument(
                        pair.id, ref.venue, not ref.invert
                    )
            self.real_money[pair.id] = sorted({r.venue for r in refs if r.venue != "manifold"})

    def fair(self, pair_id: str, t: float) -> float:
        """The pair's fair YES price in cents at wall time ``t`` (seconds)."""
        p1 = 120 + 180 * _unit(self.seed, pair_id, "p1")
        p2 = 20 + 40 * _unit(self.seed, pair_id, "p2")
        base = 30 + 40 * _unit(self.seed, pair_id, "base")
        return (
            base
            + 12 * math.sin(2 * math.pi * (t / p1 + _unit(self.seed, pair_id, "f1")))
            + 2 * math.sin(2 * math.pi * (t / p2 + _unit(self.seed, pair_id, "f2")))
        )

    def dislocation(self, pair_id: str, venue: str, t: float) -> int:
        """Cents added to ``venue``'s price of the pair at ``t`` (0 outside a dislocation)."""
        slot = math.floor(t / self.cross_every_s)
        if _unit(self.seed, pair_id, slot, "happens") < 0.25:
            return 0  # a quiet slot
        venues = self.real_money.get(pair_id) or []
        if len(venues) < 2:
            return 0
        if venues[int(_unit(self.seed, pair_id, slot, "venue") * len(venues))] != venue:
            return 0
        start = slot * self.cross_every_s + _unit(self.seed, pair_id, slot, "start") * (
            self.cross_every_s - self.cross_for_s
        )
        if not start <= t < start + self.cross_for_s:
            return 0
        size = 6 + int(5 * _unit(self.seed, pair_id, slot, "size"))
        return size if _unit(self.seed, pair_id, slot, "sign") < 0.5 else -size

    def mid(self, venue: str, instrument: str, t: float) -> int | None:
        """The instrument's own YES mid in whole cents, within [3, 97]; None if not in the config."""
        found = self.instruments.get((venue, instrument))
        if found is None:
            return None
        cents = self.fair(found.pair_id, t) + self.dislocation(found.pair_id, venue, t)
        cents += 0.6 * math.sin(t / 3 + 10 * _unit(self.seed, found.pair_id, venue, "noise"))
        value = round(100 - cents if found.complement else cents)
        return max(DEPTH + HALF_SPREAD, min(100 - DEPTH - HALF_SPREAD, value))

    def book(self, venue: str, instrument: str, t: float) -> tuple[dict[int, int], dict[int, int]] | None:
        """Target (bids, asks) in cents -> size around the mid; sizes vary a little with time."""
        mid = self.mid(venue, instrument, t)
        if mid is None:
            return None
        bucket = int(t // 2)

        def size(side: str, level: int) -> int:
            return 50 + 10 * int(20 * _unit(self.seed, venue, instrument, side, level, bucket))

        bids = {mid - HALF_SPREAD - i: size("bid", i) for i in range(DEPTH)}
        asks = {mid + HALF_SPREAD + i: size("ask", i) for i in range(DEPTH)}
        return bids, asks
