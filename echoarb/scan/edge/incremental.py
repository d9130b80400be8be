"""Binary results recomputed only where a tick changed them (the scanner's hot path).

:func:`~echoarb.scan.edge.binary.evaluate_binary` rebuilds every direction of a pair on
every tick: six depth walks, six Opportunity objects and six signatures for a pair on three
venues, although a tick changes one venue's quote. This module gives the same results from
per-direction state:

- A direction (YES on A, NO on B) keeps the *static* part of its result: everything that
  depends only on the two ladders walked, their fee models and ``min_edge`` (size, cost,
  fees, profit, edges, legs), and its two change signatures (executable or not).
- It is walked again only when one of its two quotes is a new object whose ladder differs
  within the levels the last walk read (``walk_reach``/``same_levels``): a tick that moves a
  level the walk never reached, or another venue's tick, reuses it.
- The time-dependent fields (``executable`` through quote age, ``quote_age_ms``,
  ``event_ts``) are recomputed for every direction on every evaluation: a few integer
  comparisons.
- An :class:`~echoarb.model.Opportunity` is built only for a result that is emitted.

The static part comes from the integer walk (``echoarb.scan.edge.intwalk``: the same steps
and values, and the Decimals written the way the Decimal walk writes them) or, where that
declines, from the Decimal walk itself, and is assembled by the functions
``evaluate_binary`` uses (``opportunity_parts``, ``signatures``), so the results are
identical, Decimal for Decimal; ``tests/scan/test_incremental.py`` checks that against the
reference scanner on random books.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from echoarb.model import Opportunity, Side, Tick
from echoarb.scan.edge.changes import NONE_SIGNATURE, ChangeDetector, signatures
from echoarb.scan.edge.fees import FeeModel, FeePolicy, fee_model
from echoarb.scan.edge.intwalk import IntWalk, first_unit, int_walk, limit
from echoarb.scan.edge.walk import Parts, PricedLadder, opportunity_parts, same_levels, tradable, walk_reach

First = tuple[int, int] | None
"""(index, unit cost in 1e-18) of a ladder's first level (``first_unit``)."""


class Direction:
    """One direction's result, as values (what change detection needs) and, built only on
    demand, as the reference Opportunity (what is emitted or shown)."""

    __slots__ = (
        "_int",
        "_recorded",
        "_sigs",
        "_template",
        "key",
        "min_edge",
        "no_levels",
        "no_model",
        "pair_id",
        "profitable",
        "reach",
        "tick_a",
        "tick_b",
        "values",
        "yes_levels",
        "yes_model",
    )

    def __init__(
        self,
        pair_id: str,
        tick_a: Tick,
        tick_b: Tick,
        yes_model: FeeModel,
        no_model: FeeModel,
        min_edge: Decimal,
        firsts: tuple[First, First] | None = None,
    ) -> None:
        self.pair_id = pair_id
        self.key = f"{pair_id}|binary|{tick_a.venue}:yes,{tick_b.venue}:no"  # Opportunity.key
        self.tick_a = tick_a  # the quotes of the last evaluation (YES leg, NO leg)
        self.tick_b = tick_b
        self.yes_levels = tick_a.yes_asks  # the ladders walked
        self.no_levels = tick_b.no_asks
        self.yes_model = yes_model
        self.no_model = no_model
        self.min_edge = min_edge
        self._template: Parts | None = None  # result on exactly these ladders (lazy)
        self._int: IntWalk | None = None  # the integer walk, when it ran and found a size
        self._sigs: tuple[str, str] | None = None
        self._recorded: tuple[object, bool, str] | None = None  # (values, executable, signature)
        self.values: object = None  # int_walk values, or the signature text (Decimal path)
        self.reach: tuple[int, int] = (1, 1)  # levels read per ladder (at least the best)
        self.profitable = False  # net_profit > 0
        self._compute(firsts)

    def _compute(self, firsts: tuple[First, First] | None) -> None:
        if firsts is not None:
            fa, fb = firsts
            top = limit(self.min_edge)
            if fa is not None and fb is not None and top is not None and fa[1] + fb[1] >= top:
                # int_walk's first check, from the quotes' first units (computed once per
                # quote, not per direction): the books do not cross here.
                self._int = None
                self.values = None
                self.profitable = False
                self.reach = (fa[0] + 1, fb[0] + 1)
                return
        fast = int_walk(self.yes_levels, self.yes_model, self.no_levels, self.no_model, self.min_edge)
        self._int = None
        reach: tuple[int, ...]
        if fast is not None:
            walked, reach = fast
            self._int = walked
            self.values = None if walked is None else walked.values
            self.profitable = walked is not None and walked.net_profit > 0
        else:
            template, reach = self._walk_decimal()  # reach: one per ladder
            self.values = None if not template.size else signatures(template)[1]
            self.profitable = template.net_profit > 0
        self.reach = (max(reach[0], 1), max(reach[1], 1))  # (yes, no)

    def template(self) -> Parts:
        """The reference result's time-independent fields on the current ladders."""
        template = self._template
        if template is None:
            if self._int is None:
                template = self._walk_decimal()[0]
            else:
                template = self._template = opportunity_parts(self._legs(), *self._int.totals())
        return template

    def _legs(self) -> tuple[tuple[Tick, Side, PricedLadder, str], ...]:
        return (
            (self.tick_a, "yes", PricedLadder(self.yes_levels, self.yes_model), ""),
            (self.tick_b, "no", PricedLadder(self.no_levels, self.no_model), ""),
        )

    def _walk_decimal(self) -> tuple[Parts, tuple[int, ...]]:
        legs = self._legs()
        result, reach = walk_reach((legs[0][2], legs[1][2]), self.min_edge)
        fills = [(f.avg_price, f.size) for f in result.fills]
        template = self._template = opportunity_parts(legs, result.size, result.cost, result.fees, fills)
        return template, reach

    def reuse(
        self,
        tick_a: Tick,
        tick_b: Tick,
        yes_model: FeeModel,
        no_model: FeeModel,
        min_edge: Decimal,
        firsts: tuple[First, First] | None = None,
    ) -> bool:
        """Take new quotes; keep the result if it cannot have changed, else recompute it.

        Returns whether the walk was run again.
        """
        same = (
            min_edge == self.min_edge
            and (yes_model is self.yes_model or yes_model == self.yes_model)
            and (no_model is self.no_model or no_model == self.no_model)
            and tick_a.venue == self.tick_a.venue
            and tick_b.venue == self.tick_b.venue
        )
        new_yes, new_no = tick_a.yes_asks, tick_b.no_asks
        exact = same and same_levels(self.yes_levels, new_yes, self.reach[0])
        exact = exact and same_levels(self.no_levels, new_no, self.reach[1])
        self.tick_a, self.tick_b = tick_a, tick_b
        self.yes_levels, self.no_levels = new_yes, new_no
        if exact:
            return False
        self.yes_model, self.no_model, self.min_edge = yes_model, no_model, min_edge
        self._template = None
        self._sigs = None
        self._compute(firsts)
        return True

    def signature(self, executable: bool) -> str:
        if self.values is None:
            return NONE_SIGNATURE
        sigs = self._sigs
        if sigs is None:
            sigs = self._sigs = signatures(self.template())
        return sigs[0] if executable else sigs[1]

    def changed(self, detector: ChangeDetector, executable: bool) -> bool:
        """Record this evaluation in ``detector``; whether the result must be emitted."""
        recorded = self._recorded
        if (
            recorded is not None
            and recorded[1] == executable
            and recorded[0] == self.values
            and detector.last(self.key) == recorded[2]
        ):
            return False
        sig = self.signature(executable)
        self._recorded = (self.values, executable, sig)
        return detector.changed_signature(self.key, sig)

    def net_profit(self) -> Decimal | None:
        """The result's net profit when it has a size, else None."""
        if self.values is None:
            return None
        if isinstance(self.values, str):
            return self.template().net_profit
        assert self._int is not None
        return Decimal(self._int.net_profit).scaleb(-12)

    def opportunity(self, executable: bool, age: int, newest_ts: int) -> Opportunity:
        """The full result at this evaluation's time."""
        t = self.template()
        return Opportunity(
            pair_id=self.pair_id,
            kind="binary",
            legs=t.legs,
            gross_edge=t.gross_edge,
            size=t.size,
            cost=t.cost,
            fees=t.fees,
            net_profit=t.net_profit,
            net_edge=t.net_edge,
            executable=executable,
            quote_age_ms=age,
            event_ts=newest_ts,
        )


#: One direction at one evaluation: (its result, executable, quote_age_ms).
Current = tuple[Direction, bool, int]


class IncrementalBinary:
    """The binary directions of one pair. Derived state: rebuilt from the quotes at any time."""

    __slots__ = ("_directions", "_firsts", "_models", "pair_id", "walks")

    def __init__(self, pair_id: str) -> None:
        self.pair_id = pair_id
        self._directions: dict[tuple[str, str], Direction] = {}
        # quote key -> (fee rate, exponents, policy, venue, its fee model): fee_model's cache
        # hashes Decimals on every call; the same rate object needs no lookup.
        self._models: dict[str, tuple[Decimal, object, FeePolicy, str, FeeModel]] = {}
        self._firsts: dict[str, tuple[Tick, FeeModel, tuple[First, First]]] = {}
        self.walks = 0  # directions walked again (the others kept their result)

    def evaluate(
        self,
        quotes: Mapping[str, Tick],
        *,
        min_edge: Decimal,
        max_quote_age_ms: int,
        fee_exponents: Mapping[str, int] | None = None,
        fee_policy: FeePolicy,
    ) -> tuple[list[Current], int]:
        """Every direction in ``evaluate_binary``'s order, and the newest event time.

        The arguments mean what they mean for ``evaluate_binary`` (fees from each quote's
        ``fee_rate``).
        """
        if len(quotes) < 2:
            return [], 0
        venues = sorted(quotes)
        newest_ts = max(t.event_ts for t in quotes.values())
        fresh = {v: tradable(t, newest_ts, max_quote_age_ms) for v, t in quotes.items()}
        directions = self._directions
        out: list[Current] = []
        for a in venues:
            tick_a = quotes[a]
            for b in venues:
                if a == b:
                    continue
                tick_b = quotes[b]
                d = directions.get((a, b))
                if d is None or d.tick_a is not tick_a or d.tick_b is not tick_b or d.min_edge != min_edge:
                    model_a = self._model(a, tick_a, fee_exponents, fee_policy)
                    model_b = self._model(b, tick_b, fee_exponents, fee_policy)
                    firsts = (self._first(a, tick_a, model_a)[0], self._first(b, tick_b, model_b)[1])
                    if d is None:
                        d = directions[(a, b)] = Direction(
                            self.pair_id, tick_a, tick_b, model_a, model_b, min_edge, firsts
                        )
                        self.walks += 1
                    elif d.reuse(tick_a, tick_b, model_a, model_b, min_edge, firsts):
                        self.walks += 1
                executable = d.profitable and fresh[a] and fresh[b]
                age = max(0, newest_ts - tick_a.event_ts, newest_ts - tick_b.event_ts)
                out.append((d, executable, age))
        return out, newest_ts

    def _first(self, key: str, tick: Tick, model: FeeModel) -> tuple[First, First]:
        """``first_unit`` of the quote's YES and NO ladders (once per quote and model)."""
        cached = self._firsts.get(key)
        if cached is not None and cached[0] is tick and cached[1] is model:
            return cached[2]
        firsts = (first_unit(tick.yes_asks, model), first_unit(tick.no_asks, model))
        self._firsts[key] = (tick, model, firsts)
        return firsts

    def _model(
        self, key: str, tick: Tick, fee_exponents: Mapping[str, int] | None, policy: FeePolicy
    ) -> FeeModel:
        """``fee_model`` of the quote under ``key`` (as ``evaluate_binary`` builds it)."""
        cached = self._models.get(key)
        if (
            cached is not None
            and cached[0] is tick.fee_rate
            and cached[1] is fee_exponents
            and cached[2] is policy
            and cached[3] == tick.venue
        ):
            return cached[4]
        exponent = fee_exponents.get(key, 1) if fee_exponents else 1
        model = fee_model(tick.venue, tick.fee_rate, exponent, policy)
        self._models[key] = (tick.fee_rate, fee_exponents, policy, tick.venue, model)
        return model
