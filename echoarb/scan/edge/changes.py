"""Emit a result only when it differs from the last one emitted for its key (docs/edge.md).

Every key starts as "no opportunity". All results with size 0 are that same state, so a
book that is merely moving without ever crossing produces no events, and an opportunity
that disappears produces exactly one. ``event_ts`` and ``quote_age_ms`` change on every
tick and are not part of the comparison.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from decimal import Decimal
from typing import Protocol

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


class Result(Protocol):
    """A result with a size, as :meth:`ChangeDetector.changed_result` reads it."""

    def template(self) -> Parts: ...


class Recorded:
    """A result recorded by values; its signature text is written on first read only."""

    __slots__ = ("_text", "eq", "executable", "parts")

    def __init__(self, eq: Hashable | None, executable: bool, parts: Parts) -> None:
        self.eq = eq
        self.executable = executable
        self.parts = parts
        self._text: str | None = None

    def text(self) -> str:
        text = self._text
        if text is None:
            text = self._text = signatures(self.parts)[0 if self.executable else 1]
        return text


def _text(entry: str | Recorded) -> str:
    return entry if isinstance(entry, str) else entry.text()


class ChangeDetector:
    """Remembers the last emitted signature per ``Opportunity.key``; serialisable for a changelog table."""

    __slots__ = ("_last", "generation")

    def __init__(self) -> None:
        self._last: dict[str, str | Recorded] = {}
        self.generation = 0  # counts restores: what a caller remembers of the state is void

    def changed(self, opp: Opportunity) -> bool:
        """Record ``opp`` and say whether it must be emitted."""
        return self.changed_signature(opp.key, signature(opp))

    def changed_signature(self, key: str, sig: str) -> bool:
        """:meth:`changed` for a result known by its key and :func:`signature` only."""
        last = self._last.get(key)
        if (NONE_SIGNATURE if last is None else _text(last)) == sig:
            return False
        if sig == NONE_SIGNATURE:
            del self._last[key]
        else:
            self._last[key] = sig
        return True

    def cleared(self, key: str) -> bool:
        """:meth:`changed` for a result of size 0 ("no opportunity") under ``key``."""
        last = self._last
        if key in last:
            del last[key]
            return True
        return False

    def changed_result(self, key: str, eq: Hashable | None, executable: bool, result: Result) -> bool:
        """:meth:`changed` for a result with a size, known by values.

        ``eq`` must be equal for two results of ``key`` exactly when their signatures (as if
        executable) are equal, or None when the caller has no such values (then the texts
        are compared). ``result.template()`` is read only when something is recorded.
        """
        last = self._last.get(key)
        if last is None:
            self._last[key] = Recorded(eq, executable, result.template())
            return True
        if eq is not None and isinstance(last, Recorded) and last.eq is not None:
            if last.eq == eq and last.executable == executable:
                return False
            self._last[key] = Recorded(eq, executable, result.template())
            return True
        new = Recorded(eq, executable, result.template())
        self._last[key] = new  # the same text, or the new one: comparable by values from now on
        return _text(last) != new.text()

    def last(self, key: str) -> str:
        """The signature last recorded for ``key`` (``NONE_SIGNATURE`` if none)."""
        last = self._last.get(key)
        return NONE_SIGNATURE if last is None else _text(last)

    def changes(self, results: Iterable[Opportunity]) -> list[Opportunity]:
        """The results that must be emitted, in the order given."""
        return [opp for opp in results if self.changed(opp)]

    def snapshot(self) -> dict[str, str]:
        """Key -> signature of every key not in the "no opportunity" state."""
        return {key: _text(entry) for key, entry in self._last.items()}

    def restore(self, state: Mapping[str, str]) -> None:
        """Replace the state with a :meth:`snapshot` (e.g. after a rebalance)."""
        self._last = {k: v for k, v in state.items() if v != NONE_SIGNATURE}
        self.generation += 1

    def __len__(self) -> int:
        return len(self._last)
