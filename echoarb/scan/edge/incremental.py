"""Binary results recomputed only where a tick changed them (the scanner's hot path).

:func:`~echoarb.scan.edge.binary.evaluate_binary` rebuilds every direction of a pair on
every tick: six depth walks, six Opportunity objects and six signatures for a pair on three
venues, although a tick changes one venue's quote. This module gives the same results from
per-direction state:

- Each quote of the pair is prepared once per new tick (:class:`Quote`): its fee model, the
  all-in unit cost of the first level of each ladder, and the time-independent half of
  ``tradable``.
- A direction (YES on A, NO on B) keeps the *static* part of its result: everything that
  depends only on the two ladders walked, their fee models and ``min_edge``.
- It is looked at again only when one of its two quotes is a new object. The first units
  settle the common case at once (the books do not cross there: "no opportunity"); else
  the result is kept when the new ladders have the very same levels within what the last
  walk read (``walk_reach``/``same_levels``); else the direction is walked again.
- The time-dependent fields (``executable`` through quote age, ``quote_age_ms``,
  ``event_ts``) are recomputed for every direction on every evaluation: a few integer
  comparisons.
- Change detection compares integer values (``IntWalk.eq``, see
  :meth:`~echoarb.scan.edge.changes.ChangeDetector.changed_result`); the Decimal fields
  (``Parts``) and an :class:`~echoarb.model.Opportunity` are built only for a result that
  is emitted (or shown as the pair's best).

The static part comes from the integer walk (``echoarb.scan.edge.intwalk``: the same steps
and values, and the Decimals written the way the Decimal walk writes them) or, where that
declines, from the Decimal walk itself, and is assembled the way ``evaluate_binary``
assembles it, so the results are identical, Decimal for Decimal;
``tests/scan/test_incremental.py`` checks that against the reference scanner on random books.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from decimal import Decimal
from typing import NamedTuple

from echoarb.model import ZERO, Ladder, Opportunity, Side, Tick
from echoarb.scan.edge.changes import ChangeDetector
from echoarb.scan.edge.fees import FeeModel, FeePolicy, fee_model
from echoarb.scan.edge.intwalk import First, IntWalk, Model, first_units, int_model, limit, walk_models
from echoarb.scan.edge.values import make_opportunity
from echoarb.scan.edge.walk import Parts, PricedLadder, opportunity_parts, same_levels, walk_reach

_NO_FILLS = ((None, ZERO), (None, ZERO))  # the fills of a walk that took nothing


class Quote:
    """One quote of the pair, prepared for the directions it is a leg of."""

    __slots__ = (
        "_exponent",
        "_policy",
        "_rate",
        "ints",
        "model",
        "no_first",
        "open",
        "tick",
        "venue",
        "yes_first",
    )

    def __init__(self, tick: Tick, exponent: int, policy: FeePolicy) -> None:
        self._set_model(tick, exponent, policy)
        self.update(tick, exponent, policy)

    def _set_model(self, tick: Tick, exponent: int, policy: FeePolicy) -> None:
        # fee_model's cache hashes Decimals on every call; the same rate object needs none.
        self.model = fee_model(tick.venue, tick.fee_rate, exponent, policy)
        self.ints: Model | None = int_model(self.model)  # integer form (None: off that path)
        self._rate, self._exponent, self._policy = tick.fee_rate, exponent, policy

    def update(self, tick: Tick, exponent: int, policy: FeePolicy) -> None:
        if tick.fee_rate is not self._rate or exponent != self._exponent or policy is not self._policy:
            self._set_model(tick, exponent, policy)
        self.tick = tick
        self.venue: str = tick.venue
        self.yes_first: First
        self.no_first: First
        self.yes_first, self.no_first = first_units(tick.yes_asks, tick.no_asks, self.ints)
        self.open: bool = (  # ``tradable`` but for the quote's age
            tick.real_money
            and tick.venue != "manifold"  # play money, whatever the producer says
            and tick.status == "open"
            and tick.in_sync
        )


class Direction:
    """One direction's result, as values (what change detection needs) and, built only on
    demand, as the reference Opportunity (what is emitted or shown)."""

    __slots__ = (
        "_int",
        "_summary",
        "_template",
        "eq",
        "key",
        "min_edge",
        "no_levels",
        "no_model",
        "pair_id",
        "profit",
        "profitable",
        "reach_no",
        "reach_yes",
        "seen",
        "sized",
        "tick_a",
        "tick_b",
        "yes_levels",
        "yes_model",
    )

    def __init__(self, pair_id: str, venue_a: str, venue_b: str) -> None:
        self.pair_id = pair_id
        self.key = f"{pair_id}|binary|{venue_a}:yes,{venue_b}:no"  # Opportunity.key
        self.tick_a: Tick | None = None  # the quotes of the last evaluation (YES leg, NO leg)
        self.tick_b: Tick | None = None
        self.yes_levels: Ladder | None = None  # the ladders the result stands for
        self.no_levels: Ladder | None = None
        self.yes_model: FeeModel | None = None
        self.no_model: FeeModel | None = None
        self.min_edge: Decimal | None = None
        self.reach_yes = self.reach_no = 1  # levels read per ladder (at least the best)
        self._template: Parts | None = None  # result on exactly these ladders (lazy)
        self._summary: tuple[str, str, str] | None = None  # of the template (lazy)
        self._int: IntWalk | None = None  # the integer walk, when it ran and found a size
        self.sized = False  # the result has a size (else: "no opportunity")
        self.eq: Hashable | None = None  # IntWalk.eq of a sized result (None: compare texts)
        self.profit: int | Decimal = 0  # net profit in 1e-12 (exact; Decimal off the integer path)
        self.profitable = False  # net_profit > 0
        # executable at the last scan that recorded this result in the detector (None: none
        # did); a result unchanged since, and as executable, is not looked up again
        self.seen: bool | None = None

    def refresh(self, qa: Quote, qb: Quote, min_edge: Decimal, top: int | None) -> bool:
        """Take the quotes' new ticks; keep the result if it cannot have changed, else
        recompute it. ``top`` is ``limit(min_edge)``. Returns whether a walk ran."""
        tick_a, tick_b = qa.tick, qb.tick
        yes, no = tick_a.yes_asks, tick_b.no_asks
        ma, mb = qa.model, qb.model
        self.tick_a, self.tick_b = tick_a, tick_b
        fa, fb = qa.yes_first, qb.no_first
        if fa is not None and fb is not None and top is not None and fa[1] + fb[1] >= top:
            # int_walk's first check, from the quotes' first units: the books do not cross
            # here, whatever else the ladders hold.
            self.yes_levels, self.no_levels = yes, no
            self.yes_model, self.no_model, self.min_edge = ma, mb, min_edge
            self.reach_yes, self.reach_no = fa[0] + 1, fb[0] + 1
            if self.sized or self._int is not None or self._template is not None:
                self._template = self._summary = None
                self._int = None
                self.sized = self.profitable = False
                self.eq = None
            return False
        old_yes, old_no = self.yes_levels, self.no_levels
        if (
            old_yes is not None
            and old_no is not None
            and min_edge == self.min_edge
            and (ma is self.yes_model or ma == self.yes_model)
            and (mb is self.no_model or mb == self.no_model)
            and same_levels(old_yes, yes, self.reach_yes)
            and same_levels(old_no, no, self.reach_no)
        ):
            self.yes_levels, self.no_levels = yes, no
            return False
        self.yes_levels, self.no_levels = yes, no
        self.yes_model, self.no_model, self.min_edge = ma, mb, min_edge
        self._template = self._summary = None
        ia, ib = qa.ints, qb.ints
        fast = None if ia is None or ib is None or top is None else walk_models(yes, ia, no, ib, top)
        reach: tuple[int, ...]
        if fast is not None:
            walked, reach = fast
            self._int = walked
            if walked is None:
                self.sized = self.profitable = False
                self.eq = None
            else:
                self.sized = True
                self.eq = walked.eq
                self.profit = walked.net_profit
                self.profitable = walked.net_profit > 0
        else:
            self._int = None
            template, reach = self._walk_decimal()  # reach: one per ladder
            self.sized = bool(template.size)
            self.eq = None
            self.profit = template.net_profit.scaleb(12)
            self.profitable = template.net_profit > 0
        self.reach_yes, self.reach_no = max(reach[0], 1), max(reach[1], 1)
        return True

    def template(self) -> Parts:
        """The reference result's time-independent fields on the current ladders."""
        template = self._template
        if template is None:
            tick_a, tick_b = self.tick_a, self.tick_b
            assert tick_a is not None and tick_b is not None
            walked = self._int
            if walked is not None:
                yes, no = tick_a.yes_asks, tick_b.no_asks
                template = walked.parts(tick_a.venue, yes[0].price, tick_b.venue, no[0].price)
            elif not self.sized:  # what every walk that took nothing gives
                template = opportunity_parts(self._legs(), ZERO, ZERO, ZERO, _NO_FILLS)
            else:
                template = self._walk_decimal()[0]
            self._template = template
        return template

    def summary_fields(self) -> tuple[str, str, str]:
        """``OpportunitySummary``'s size, net profit and net edge of the result."""
        summary = self._summary
        if summary is None:
            t = self.template()
            summary = self._summary = (str(t.size), str(t.net_profit), str(t.net_edge))
        return summary

    def _legs(self) -> tuple[tuple[Tick, Side, PricedLadder, str], ...]:
        tick_a, tick_b = self.tick_a, self.tick_b
        assert tick_a is not None and tick_b is not None
        assert self.yes_model is not None and self.no_model is not None
        return (
            (tick_a, "yes", PricedLadder(tick_a.yes_asks, self.yes_model), ""),
            (tick_b, "no", PricedLadder(tick_b.no_asks, self.no_model), ""),
        )

    def _walk_decimal(self) -> tuple[Parts, tuple[int, ...]]:
        legs = self._legs()
        assert self.min_edge is not None
        result, reach = walk_reach((legs[0][2], legs[1][2]), self.min_edge)
        fills = [(f.avg_price, f.size) for f in result.fills]
        template = self._template = opportunity_parts(legs, result.size, result.cost, result.fees, fills)
        return template, reach

    def opportunity(self, executable: bool, newest_ts: int) -> Opportunity:
        """The full result at this evaluation's time."""
        t = self.template()
        tick_a, tick_b = self.tick_a, self.tick_b
        assert tick_a is not None and tick_b is not None
        return make_opportunity(
            self.pair_id,
            "binary",
            t.legs,
            t.gross_edge,
            t.size,
            t.cost,
            t.fees,
            t.net_profit,
            t.net_edge,
            executable,
            max(0, newest_ts - tick_a.event_ts, newest_ts - tick_b.event_ts),  # quote_age_ms
            newest_ts,
        )


class Scan(NamedTuple):
    """What :meth:`IncrementalBinary.scan` found, for the scanner's windows and views."""

    changed: list[Opportunity]  # results to emit, in evaluate_binary's order
    last: Direction | None  # the direction of changed[-1]
    last_executable: bool
    top: Direction | None  # the first of the sized results with the highest net profit
    top_executable: bool
    newest_ts: int


_NOTHING = Scan([], None, False, None, False, 0)


class IncrementalBinary:
    """The binary directions of one pair. Derived state: rebuilt from the quotes at any time."""

    __slots__ = ("_detector", "_directions", "_executable", "_order", "_quotes", "pair_id", "walks")

    def __init__(self, pair_id: str) -> None:
        self.pair_id = pair_id
        self._quotes: dict[str, Quote] = {}  # quote key -> its quote
        self._directions: dict[tuple[str, str], Direction] = {}  # (YES, NO) quote keys -> direction
        # every direction in evaluate_binary's order, with the quotes of its legs
        self._order: list[tuple[Direction, Quote, Quote]] = []
        self.walks = 0  # directions walked (the others kept their result or did not cross)
        # the state objects the directions' ``seen`` refer to, and the detector's generation
        self._detector: tuple[ChangeDetector, int] | None = None
        self._executable: set[str] | None = None

    def scan(
        self,
        quotes: Mapping[str, Tick],
        detector: ChangeDetector,
        executable_keys: set[str],
        *,
        min_edge: Decimal,
        max_quote_age_ms: int,
        fee_exponents: Mapping[str, int] | None = None,
        fee_policy: FeePolicy,
    ) -> Scan:
        """Evaluate every direction as ``evaluate_binary`` would, in its order, record each
        result in ``detector`` (``ChangeDetector.changes``) and keep ``executable_keys``
        (the keys of the executable results).

        The other arguments mean what they mean for ``evaluate_binary`` (fees from each
        quote's ``fee_rate``).
        """
        if len(quotes) < 2:
            return _NOTHING
        prepared = self._quotes
        rebuild = len(quotes) != len(prepared)
        newest_ts = -(2**63)
        for key, tick in quotes.items():
            q = prepared.get(key)
            if q is None:
                q = prepared[key] = Quote(tick, fee_exponents.get(key, 1) if fee_exponents else 1, fee_policy)
                rebuild = True
            elif q.tick is not tick:
                q.update(tick, fee_exponents.get(key, 1) if fee_exponents else 1, fee_policy)
            if tick.event_ts > newest_ts:
                newest_ts = tick.event_ts
        if rebuild:
            self._rebuild(quotes)
        known = self._detector
        if known is None or known[0] is not detector or known[1] != detector.generation:
            self._forget()
            self._detector = (detector, detector.generation)
        if executable_keys is not self._executable:
            self._forget()
            self._executable = executable_keys
        oldest = newest_ts - max_quote_age_ms  # a leg older than this is not tradable
        top_limit = limit(min_edge)
        changed: list[Opportunity] = []
        last: Direction | None = None
        last_executable = False
        top: Direction | None = None
        top_executable = False
        top_profit: int | Decimal = 0
        for d, qa, qb in self._order:
            tick_a, tick_b = qa.tick, qb.tick
            seen = d.seen
            if d.tick_a is not tick_a or d.tick_b is not tick_b or d.min_edge is not min_edge:
                if d.refresh(qa, qb, min_edge, top_limit):
                    self.walks += 1
                seen = None
            executable = (
                d.profitable
                and qa.open
                and qb.open
                and tick_a.event_ts >= oldest
                and tick_b.event_ts >= oldest
            )
            if seen is not executable:  # else: the result is what the detector holds
                key = d.key
                if d.sized:
                    if detector.changed_result(key, d.eq, executable, d):
                        changed.append(d.opportunity(executable, newest_ts))
                        last, last_executable = d, executable
                elif detector.cleared(key):
                    changed.append(d.opportunity(executable, newest_ts))
                    last, last_executable = d, executable
                if executable:
                    executable_keys.add(key)
                else:
                    executable_keys.discard(key)
                d.seen = executable
            if d.sized:
                profit = d.profit
                if top is None or profit > top_profit:
                    top, top_executable, top_profit = d, executable, profit
        return Scan(changed, last, last_executable, top, top_executable, newest_ts)

    def _forget(self) -> None:
        """The pair's state objects changed: look every result up again."""
        for d, _, _ in self._order:
            d.seen = None

    def _rebuild(self, quotes: Mapping[str, Tick]) -> None:
        """The directions of the quotes' venues (a venue's first quote, or a restore)."""
        prepared = self._quotes
        for key in [k for k in prepared if k not in quotes]:
            del prepared[key]
        directions = self._directions
        order = []
        keys = sorted(quotes)
        for a in keys:
            for b in keys:
                if a != b:
                    qa, qb = prepared[a], prepared[b]
                    d = directions.get((a, b))
                    if d is None:
                        d = directions[(a, b)] = Direction(self.pair_id, qa.venue, qb.venue)
                    order.append((d, qa, qb))
        self._order = order
