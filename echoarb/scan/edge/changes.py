"""Emit a result only when it differs from the last one emitted for its key (docs/edge.md).

Every key starts as "no opportunity". All results with size 0 are that same state, so a
book that is merely moving without ever crossing produces no events, and an opportunity
that disappears produces exactly one. ``event_ts`` and ``quote_age_ms`` change on every
tick and are not part of the comparison.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from echoarb.model import Opportunity

NONE_SIGNATURE = ""
"""Signature of the "no opportunity" state (size 0); such keys are not stored."""


def _d(value: Decimal | None) -> str:
    """Value-based text of a decimal, so 120 and 120.0 compare equal."""
    if value is None:
        return "-"
    return str(value.normalize()) if value else "0"


def signature(opp: Opportunity) -> str:
    """Compact text of everything that makes a result different, except event time and age."""
    if not opp.size:
        return NONE_SIGNATURE
    legs = ";".join(
        f"{leg.venue}:{leg.side}:{leg.outcome}:{_d(leg.best_price)}:{_d(leg.avg_price)}:{_d(leg.size)}"
        for leg in opp.legs
    )
    return "|".join(
        (
            _d(opp.size),
            _d(opp.cost),
            _d(opp.fees),
            _d(opp.net_profit),
            _d(opp.net_edge),
            _d(opp.gross_edge),
            "x" if opp.executable else "-",
            legs,
        )
    )


class ChangeDetector:
    """Remembers the last emitted signature per ``Opportunity.key``; serialisable for a changelog table."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: dict[str, str] = {}

    def changed(self, opp: Opportunity) -> bool:
        """Record ``opp`` and say whether it must be emitted."""
        key = opp.key
        sig = signature(opp)
        if self._last.get(key, NONE_SIGNATURE) == sig:
            return False
        if sig == NONE_SIGNATURE:
            del self._last[key]
        else:
            self._last[key] = sig
        return True

    def changes(self, results: Iterable[Opportunity]) -> list[Opportunity]:
        """The results that must be emitted, in the order given."""
        return [opp for opp in results if self.changed(opp)]

    def snapshot(self) -> dict[str, str]:
        """Key -> signature of every key not in the "no opportunity" state."""
        return dict(self._last)

    def restore(self, state: Mapping[str, str]) -> None:
        """Replace the state with a :meth:`snapshot` (e.g. after a rebalance)."""
        self._last = {k: v for k, v in state.items() if v != NONE_SIGNATURE}

    def __len__(self) -> int:
        return len(self._last)
