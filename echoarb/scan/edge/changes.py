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
from echoarb.scan.edge.walk import Parts

NONE_SIGNATURE = ""
"""Signature of the "no opportunity" state (size 0); such keys are not stored."""


def _d(value: Decimal | None) -> str:
    """Value-based text of a decimal, so 120 and 120.0 compare equal."""
    if value is None:
        return "-"
    return str(value.normalize()) if value else "0"


def signature(opp: Opportunity) -> str:
    """Compact text of everything that makes a result different, except event time and age."""
    return signatures(opp)[0 if opp.executable else 1]


def signatures(opp: Opportunity | Parts) -> tuple[str, str]:
    """:func:`signature` of ``opp`` as if executable, and as if not: ``executable`` is the one
    field that can change while the walk's result stays (a leg's quote ages out)."""
    if not opp.size:
        return NONE_SIGNATURE, NONE_SIGNATURE
    legs = ";".join(
        f"{leg.venue}:{leg.side}:{leg.outcome}:{_d(leg.best_price)}:{_d(leg.avg_price)}:{_d(leg.size)}"
        for leg in opp.legs
    )
    head = "|".join(
        (
            _d(opp.size),
            _d(opp.cost),
            _d(opp.fees),
            _d(opp.net_profit),
            _d(opp.net_edge),
            _d(opp.gross_edge),
        )
    )
    return f"{head}|x|{legs}", f"{head}|-|{legs}"


class ChangeDetector:
    """Remembers the last emitted signature per ``Opportunity.key``; serialisable for a changelog table."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: dict[str, str] = {}

    def changed(self, opp: Opportunity) -> bool:
        """Record ``opp`` and say whether it must be emitted."""
        return self.changed_signature(opp.key, signature(opp))

    def changed_signature(self, key: str, sig: str) -> bool:
        """:meth:`changed` for a result known by its key and :func:`signature` only."""
        if self._last.get(key, NONE_SIGNATURE) == sig:
            return False
        if sig == NONE_SIGNATURE:
            del self._last[key]
        else:
            self._last[key] = sig
        return True

    def last(self, key: str) -> str:
        """The signature last recorded for ``key`` (``NONE_SIGNATURE`` if none)."""
        return self._last.get(key, NONE_SIGNATURE)

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
