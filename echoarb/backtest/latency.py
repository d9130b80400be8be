"""Order latency per venue: a constant or a seeded distribution, the same for every run.

The latency of an order is the event time between the signal (or the previous leg's result)
and the order meeting the venue's book. A spec is a comma-separated list of items, each
``[VENUE=]DIST`` (an item without a venue sets the default for every venue)::

    150ms                      every venue, 150 ms
    kalshi=150ms,polymarket=300ms
    normal:150ms:40ms          mean 150 ms, standard deviation 40 ms (cut at 0)
    kalshi=uniform:100ms:250ms,polymarket=0.3s

A duration is a number with ``ms`` or ``s`` (a bare number is milliseconds). Draws are
seeded by (seed, order key, venue) rather than taken from one running generator, so an
order's latency does not depend on which other orders were simulated before it: the same
recording, spec and seed give the same fills whatever is filtered out.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from echoarb.model import VENUES

DistKind = Literal["const", "normal", "uniform"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$")


class LatencyError(ValueError):
    """A latency spec that cannot be read; the message says which part and why."""


def parse_duration(text: str) -> float:
    """``150ms``, ``0.3s`` or ``150`` (ms) to milliseconds."""
    match = _DURATION.match(text)
    if match is None:
        raise LatencyError(f"{text!r} is not a duration (e.g. 150ms or 0.3s)")
    value = float(match.group(1))
    return value * 1000 if match.group(2) == "s" else value


def _ms(value: float) -> str:
    return f"{value:g}ms"


@dataclass(frozen=True, slots=True)
class Dist:
    """One latency distribution in milliseconds: ``const`` a, ``normal`` (a, b), ``uniform`` [a, b]."""

    kind: DistKind
    a: float
    b: float = 0.0

    def sample(self, rng: random.Random) -> int:
        """One draw, whole milliseconds, never negative."""
        if self.kind == "const":
            value = self.a
        elif self.kind == "normal":
            value = rng.gauss(self.a, self.b)
        else:
            value = rng.uniform(self.a, self.b)
        return max(0, round(value))

    def describe(self) -> str:
        if self.kind == "const":
            return _ms(self.a)
        return f"{self.kind}:{_ms(self.a)}:{_ms(self.b)}"

    @classmethod
    def parse(cls, text: str) -> Dist:
        parts = text.strip().split(":")
        if len(parts) == 1:
            return cls("const", parse_duration(parts[0]))
        kind = parts[0].strip()
        if kind not in ("normal", "uniform") or len(parts) != 3:
            raise LatencyError(f"{text!r}: expected a duration, normal:MEAN:SD or uniform:LOW:HIGH")
        a, b = parse_duration(parts[1]), parse_duration(parts[2])
        if kind == "uniform" and b < a:
            raise LatencyError(f"{text!r}: uniform needs LOW <= HIGH")
        return cls("normal" if kind == "normal" else "uniform", a, b)


@dataclass(frozen=True, slots=True)
class LatencyModel:
    """The latency of every venue (``default`` for venues not listed) and the seed of the draws."""

    default: Dist = Dist("const", 0.0)
    venues: Mapping[str, Dist] = field(default_factory=dict)
    seed: int = 0

    def dist(self, venue: str) -> Dist:
        return self.venues.get(venue, self.default)

    def draw(self, venue: str, order_key: str) -> int:
        """The latency (ms) of the order ``order_key`` sent to ``venue``: the same on every run."""
        dist = self.dist(venue)
        if dist.kind == "const":
            return max(0, round(dist.a))
        return dist.sample(random.Random(f"{self.seed}|{order_key}|{venue}"))

    def describe(self) -> str:
        items = [f"{venue}={dist.describe()}" for venue, dist in sorted(self.venues.items())]
        if not items or self.default != Dist("const", 0.0):
            items.insert(0, self.default.describe())
        return ",".join(items)

    @classmethod
    def constant(cls, ms: float) -> LatencyModel:
        return cls(Dist("const", ms))

    @classmethod
    def parse(cls, spec: str, seed: int = 0) -> LatencyModel:
        """Read a spec (module docstring); raises :class:`LatencyError` naming the bad item."""
        default = Dist("const", 0.0)
        venues: dict[str, Dist] = {}
        items = [item.strip() for item in spec.split(",")]
        if not any(items):
            raise LatencyError("empty latency spec")
        for item in items:
            if not item:
                raise LatencyError(f"{spec!r}: empty item")
            venue, eq, dist = item.partition("=")
            if not eq:
                default = Dist.parse(item)
                continue
            venue = venue.strip()
            if venue not in VENUES:
                raise LatencyError(f"{item!r}: unknown venue {venue!r} (one of {', '.join(VENUES)})")
            venues[venue] = Dist.parse(dist)
        return cls(default, venues, seed)
