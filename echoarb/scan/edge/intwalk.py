"""The binary depth walk in integer millionths: the same decisions and values as ``walk``, cheaper.

Quotes arrive from Avro as integer millionths (``*_micros``), so prices, sizes and fee rates
are whole numbers of 1e-6. In those units every quantity of the walk is an exact integer:
unit costs in 1e-18 (``P * 1e12 + R * P * (1e6 - P)``), notionals and fees in 1e-12,
fill fees rounded up to the fee quantum by integer ceiling division. The Decimal walk is
exact too (each product and sum stays within Decimal's 28 digits, which
:func:`int_walk` checks and otherwise declines), so both take the same steps and reach the
same values.

:func:`int_walk` returns *values* (what a change signature compares), not Decimals: the
representation of the Decimals (``114.80`` or ``114.8``) is the Decimal walk's business, and
the incremental evaluation builds those (:meth:`IntWalk.parts`) only for results it emits.
It returns None, and the caller uses the Decimal walk, whenever the integer path cannot promise identical
results: a level, rate or ``min_edge`` not a whole number of millionths (or 1e-18), a fee
exponent other than 1, or a product too large for Decimal's 28 digits.
"""

from __future__ import annotations

from collections.abc import Hashable
from decimal import Decimal

from echoarb.model import ONE, Ladder, Level, Venue
from echoarb.scan.edge.fees import BASIS, CENT, FeeModel
from echoarb.scan.edge.values import make_leg
from echoarb.scan.edge.walk import PRICE_QUANTUM, Parts

_new_tuple = tuple.__new__
_MICROS: dict[Decimal, int | None] = {}
_CACHE_MAX = 50_000  # entries per cache (cleared when full)
_E6 = 1_000_000
_E12 = 10**12
_E18 = 10**18
_DIGITS = 10**28  # Decimal's default precision: products below this are exact there
_POW10 = [10**k for k in range(40)]
_RATIO_MAX = 10**26  # numerators of ratios that Decimal's division + quantize round exactly
_FILL_UNIT = {
    BASIS: (10**20, 1, -4),
    CENT: (10**22, 100, -2),
}  # quantum -> (divisor of 1e-24, to 1e-4, exponent)
_ORDER_UNIT = {BASIS: (10**8, -4), CENT: (10**10, -2)}  # precision -> (in 1e-12, exponent)


class Decline(Exception):
    """The integer path cannot promise the Decimal walk's result here."""


def micros(value: Decimal) -> int | None:
    """``value`` in whole millionths, None when it is not a whole number of them (cached)."""
    try:
        return _MICROS[value]
    except KeyError:
        pass
    except TypeError:  # signalling NaN
        return None
    result: int | None = None
    if value.is_finite():
        scaled = value.scaleb(6)
        if scaled == scaled.to_integral_value():
            result = int(scaled)
    if len(_MICROS) >= _CACHE_MAX:
        _MICROS.clear()
    _MICROS[value] = result
    return result


Model = tuple[int, int, int, int, int, int]
_MODELS: dict[int, tuple[FeeModel, Model | None]] = {}


def _model(model: FeeModel) -> Model:
    """(rate in 1e-6, fill divisor, fill unit in 1e-4, order precision in 1e-12 or 0, fill
    quantum exponent, order precision exponent); cached by identity (``fee_model`` caches)."""
    entry = _MODELS.get(id(model))
    if entry is not None and entry[0] is model:
        cached = entry[1]
    else:
        cached = None
        rate = micros(model.rate)
        fill = _FILL_UNIT.get(model.fill_quantum)
        order = (0, 0) if model.order_precision is None else _ORDER_UNIT.get(model.order_precision)
        if model.exponent == 1 and rate is not None and fill is not None and order is not None:
            cached = (rate, fill[0], fill[1], order[0], fill[2], order[1])
        if len(_MODELS) >= 10_000:
            _MODELS.clear()
        _MODELS[id(model)] = (model, cached)
    if cached is None:
        raise Decline
    return cached


_LIMIT: list[tuple[Decimal, int | None]] = [(Decimal(0), 10**18)]


def _limit(min_edge: Decimal) -> int:
    """``1 - min_edge`` in 1e-18 (the last one asked is remembered: it is always the same)."""
    last = _LIMIT[0]
    if last[0] is not min_edge:
        scaled = (ONE - min_edge).scaleb(18)
        exact = scaled.is_finite() and scaled == scaled.to_integral_value()
        last = _LIMIT[0] = (min_edge, int(scaled) if exact else None)
    if last[1] is None:
        raise Decline
    return last[1]


def _next(levels: Ladder, j: int) -> int:
    """First level at or after ``j`` with a positive size (as ``walk._next_level``)."""
    n = len(levels)
    while j < n and levels[j].size <= 0:
        j += 1
    return j


def _fill_fee(qty: int, p: int, model: Model) -> int:
    """One fill's fee in 1e-4, rounded up to the model's quantum (as ``FeeModel.fill_fee``)."""
    rate, divisor, to_basis = model[0], model[1], model[2]
    if not rate or not qty:
        return 0
    raw = rate * qty * p * (_E6 - p)  # 1e-24
    if abs(raw) >= _DIGITS:
        raise Decline
    return -(-raw // divisor) * to_basis


def _leg_fees(notional: int, en: int, fills: int, ef: int, model: Model) -> tuple[int, int]:
    """The order's fees in 1e-12 and their exponent (as ``FeeModel.leg_fees``)."""
    total = fills * 10**8
    precision = model[3]
    if not precision:
        return total, ef
    outlay = -(-(notional + total) // precision) * precision
    return outlay - notional, min(model[5], en)


def _exp(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):
        raise Decline
    return exponent


def _dec(value: int, scale: int, exponent: int) -> Decimal:
    """The Decimal of ``value`` x 10**-scale written with ``exponent`` (as the Decimal walk has it)."""
    shift = exponent + scale
    if shift >= 0:
        coefficient, rest = divmod(value, _POW10[shift] if shift < 40 else 10**shift)
        if rest:
            raise Decline
        return Decimal(coefficient).scaleb(exponent)
    return Decimal(value * (_POW10[-shift] if shift > -40 else 10**-shift)).scaleb(exponent)


class IntWalk:
    """An integer walk's result: its values, and on demand the Decimal walk's totals."""

    __slots__ = ("_exact", "eq", "net_profit")

    def __init__(self, eq: Hashable | None, exact: tuple[int, ...], net_profit: int) -> None:
        self.eq = eq
        self._exact = exact
        self.net_profit = net_profit  # 1e-12

    def totals(self) -> tuple[Decimal, Decimal, Decimal, tuple[tuple[Decimal, Decimal], ...]]:
        """``walk``'s (size, cost, fees, per leg (average price, size)), Decimal for Decimal:
        the values, written with the exponents the Decimal walk's arithmetic gives them."""
        size, es, na, ena, nb, enb, fa, efa, fb, efb = self._exact
        size_d = _dec(size, 6, es)
        cost = _dec(na + nb, 12, min(0, ena, enb))
        fees = _dec(fa + fb, 12, min(0, efa, efb))
        eq = self.eq
        if isinstance(eq, tuple):  # the averages are already rounded there (see _eq)
            avg_a, avg_b = Decimal(eq[5]).scaleb(-6), Decimal(eq[6]).scaleb(-6)
        else:
            avg_a, avg_b = _ratio_d(na, size), _ratio_d(nb, size)
        return size_d, cost, fees, ((avg_a, size_d), (avg_b, size_d))

    def parts(self, venue_a: Venue, best_a: Decimal, venue_b: Venue, best_b: Decimal) -> Parts:
        """``opportunity_parts`` of this walk: YES on ``venue_a``, NO on ``venue_b``, whose
        ladders start at ``best_a`` and ``best_b`` (each ladder's first level's price)."""
        size, es, na, ena, nb, enb, fa, efa, fb, efb = self._exact  # as in totals()
        size_d = _dec(size, 6, es)
        cost = _dec(na + nb, 12, min(0, ena, enb))
        fees = _dec(fa + fb, 12, min(0, efa, efb))
        eq = self.eq
        if isinstance(eq, tuple):
            avg_a, avg_b = Decimal(eq[5]).scaleb(-6), Decimal(eq[6]).scaleb(-6)
        else:
            avg_a, avg_b = _ratio_d(na, size), _ratio_d(nb, size)
        net_profit = size_d - cost - fees
        legs = (
            make_leg(venue_a, "yes", best_a, avg_a, size_d, ""),
            make_leg(venue_b, "no", best_b, avg_b, size_d, ""),
        )
        return _new_tuple(  # Parts(...) without NamedTuple's Python-level __new__
            Parts,
            (
                legs,
                ONE - best_a - best_b,
                size_d,
                cost,
                fees,
                net_profit,
                (net_profit / size_d).quantize(PRICE_QUANTUM),
            ),
        )


def _ratio_d(num: int, den: int) -> Decimal:
    return (Decimal(num) / Decimal(den)).quantize(ONE).scaleb(-6)


def _ratio(num: int, den: int) -> int:
    """``num / den`` (``den`` > 0) rounded half-even to an integer, as ``_ratio_d`` rounds it
    when ``|num|`` < ``_RATIO_MAX``: Decimal's quotient is then the exact one to 28 digits,
    too close to land on or cross a half between integers, which the exact one is at least
    ``1 / (2 den)`` away from (or exactly on)."""
    q, r = divmod(num, den)
    twice = 2 * r
    if twice > den or (twice == den and q & 1):
        q += 1
    return q


def _eq(size: int, cost: int, fees: int, best_a: int, best_b: int, na: int, nb: int) -> Hashable | None:
    """The values a binary signature shows, as integers: equal exactly when the signatures
    are equal (``_d`` writes each value one way). Net profit and gross edge follow from the
    others; net edge and average prices are the quotients rounded as the Decimal walk does.
    None when a ratio is too large for ``_ratio``."""
    net = size * _E6 - cost - fees  # 1e-12
    if not (-_RATIO_MAX < net < _RATIO_MAX and na < _RATIO_MAX and nb < _RATIO_MAX):
        return None
    return (size, cost, fees, best_a, best_b, _ratio(na, size), _ratio(nb, size), _ratio(net, size))


def int_walk(
    yes: Ladder, yes_model: FeeModel, no: Ladder, no_model: FeeModel, min_edge: Decimal
) -> tuple[IntWalk | None, tuple[int, int]] | None:
    """The walk of ``walk_reach`` over (``yes``, ``no``) in integers; None: use the Decimal walk.

    Returns (None for "no opportunity" (size 0), or the walk; the reach of ``walk_reach``).
    A walk's ``eq`` are ``(size, cost, fees, best yes, best no, avg yes, avg no, net edge)``,
    size in 1e-6, money in 1e-12, prices and edges in 1e-6: everything a change signature
    shows, so equal values mean an equal signature and different ones a different signature.
    """
    try:
        return _walk(yes, _model(yes_model), no, _model(no_model), _limit(min_edge))
    except Decline:
        return None


def int_model(model: FeeModel) -> Model | None:
    """The integer form of ``model`` that :func:`walk_models` takes; None: off the integer path."""
    try:
        return _model(model)
    except Decline:
        return None


def walk_models(
    yes: Ladder, yes_model: Model, no: Ladder, no_model: Model, top: int
) -> tuple[IntWalk | None, tuple[int, int]] | None:
    """:func:`int_walk` on models already in integer form (:func:`int_model`) and
    ``top`` = :func:`limit` of ``min_edge``: the scanner prepares those once per quote."""
    try:
        return _walk(yes, yes_model, no, no_model, top)
    except Decline:
        return None


First = tuple[int, int] | None
"""(index, unit cost in 1e-18) of the first level a walk takes on a ladder (None: none, or
the integer path declines)."""


def first_units(yes: Ladder, no: Ladder, model: Model | None) -> tuple[First, First]:
    """:func:`first_unit` of both ladders of a quote, on its model in integer form."""
    if model is None:
        return None, None
    rate = model[0]
    out: list[First] = []
    for levels in (yes, no):
        first = None
        n = len(levels)
        j = 0
        while j < n and levels[j].size <= 0:
            j += 1
        if j < n:
            level = levels[j]
            cached = _LEVELS.get(id(level))
            try:
                if cached is None or cached[0] is not level:
                    cached = _level(levels, j)
                p = cached[1]
                fee = rate * p * (_E6 - p)
                if fee < _DIGITS:
                    first = (j, p * _E12 + fee)
            except Decline:
                pass
        out.append(first)
    return out[0], out[1]


_LEVELS: dict[int, tuple[Level, int, int, int, int]] = {}


def _level(levels: Ladder, j: int) -> tuple[Level, int, int, int, int]:
    """(level, price and size in 1e-6, their Decimal exponents); prices strictly inside (0, 1).

    Cached by identity (the entry holds the level, so its id cannot be reused): the wire
    hands out one Level object per distinct (price, size).
    """
    level = levels[j]
    cached = _LEVELS.get(id(level))
    if cached is not None and cached[0] is level:
        return cached
    p = micros(level.price)
    q = micros(level.size)
    if p is None or q is None or not 0 < p < _E6:
        raise Decline
    cached = (level, p, q, _exp(level.price), _exp(level.size))
    if len(_LEVELS) >= _CACHE_MAX:
        _LEVELS.clear()
    _LEVELS[id(level)] = cached
    return cached


def limit(min_edge: Decimal) -> int | None:
    """``1 - min_edge`` in 1e-18, None when not a whole number of them."""
    try:
        return _limit(min_edge)
    except Decline:
        return None


def _walk(
    yes: Ladder, ma: Model, no: Ladder, mb: Model, limit: int
) -> tuple[IntWalk | None, tuple[int, int]]:
    # The hot loop of the scanner: _next, _level, _fill_fee and the unit cost (price plus
    # rate * p * (1 - p), in 1e-18) are written out inline, with the same arithmetic and
    # the same checks.
    levels = _LEVELS
    na, nb = len(yes), len(no)
    ja = _next(yes, 0)
    if ja >= na:
        return None, (na + 1, 0)
    jb = _next(no, 0)
    if jb >= nb:
        return None, (ja + 1, nb + 1)
    rate_a, div_a, basis_a, _, fexp_a, _ = ma
    rate_b, div_b, basis_b, _, fexp_b, _ = mb
    level = yes[ja]
    cached = levels.get(id(level))
    if cached is None or cached[0] is not level:
        cached = _level(yes, ja)
    _, pa, left_a, epa, el_a = cached
    level = no[jb]
    cached = levels.get(id(level))
    if cached is None or cached[0] is not level:
        cached = _level(no, jb)
    _, pb, left_b, epb, el_b = cached
    fee = rate_a * pa * (_E6 - pa)
    if fee >= _DIGITS:
        raise Decline
    ua = pa * _E12 + fee
    fee = rate_b * pb * (_E6 - pb)
    if fee >= _DIGITS:
        raise Decline
    ub = pb * _E12 + fee
    if ua + ub >= limit:
        return None, (ja + 1, jb + 1)

    # Values, and beside each the exponent the Decimal walk's result would have (its sums
    # take the smaller exponent, products the sum, quantize the quantum's; ZERO has 0).
    taken_a = taken_b = notional_a = notional_b = fees_a = fees_b = size = 0
    et_a = et_b = en_a = en_b = ef_a = ef_b = es = 0
    exhausted = False
    while not exhausted and ua + ub < limit:
        if left_a <= left_b:  # min() keeps the first of equals
            q, eq = left_a, el_a
        else:
            q, eq = left_b, el_b
        size += q
        left_a -= q
        left_b -= q
        taken_a += q
        taken_b += q
        if eq < el_a:
            el_a = eq
        if eq < el_b:
            el_b = eq
        if eq < 0:  # es and et_* start at 0 (ZERO's exponent)
            if eq < es:
                es = eq
            if eq < et_a:
                et_a = eq
            if eq < et_b:
                et_b = eq
        if left_a <= 0:
            notional_a += taken_a * pa
            e = et_a + epa
            if e < en_a:
                en_a = e
            if rate_a:  # _fill_fee (taken_a > 0, prices inside (0, 1): raw > 0)
                raw = rate_a * taken_a * pa * (_E6 - pa)
                if raw >= _DIGITS:
                    raise Decline
                fees_a += -(-raw // div_a) * basis_a
                if fexp_a < ef_a:
                    ef_a = fexp_a
            taken_a = et_a = 0
            ja += 1
            while ja < na and yes[ja].size <= 0:
                ja += 1
            if ja >= na:
                exhausted = True
            else:
                level = yes[ja]
                cached = levels.get(id(level))
                if cached is None or cached[0] is not level:
                    cached = _level(yes, ja)
                _, pa, left_a, epa, el_a = cached
                fee = rate_a * pa * (_E6 - pa)
                if fee >= _DIGITS:
                    raise Decline
                ua = pa * _E12 + fee
        if left_b <= 0:
            notional_b += taken_b * pb
            e = et_b + epb
            if e < en_b:
                en_b = e
            if rate_b:
                raw = rate_b * taken_b * pb * (_E6 - pb)
                if raw >= _DIGITS:
                    raise Decline
                fees_b += -(-raw // div_b) * basis_b
                if fexp_b < ef_b:
                    ef_b = fexp_b
            taken_b = et_b = 0
            jb += 1
            while jb < nb and no[jb].size <= 0:
                jb += 1
            if jb >= nb:
                exhausted = True
            else:
                level = no[jb]
                cached = levels.get(id(level))
                if cached is None or cached[0] is not level:
                    cached = _level(no, jb)
                _, pb, left_b, epb, el_b = cached
                fee = rate_b * pb * (_E6 - pb)
                if fee >= _DIGITS:
                    raise Decline
                ub = pb * _E12 + fee
    if taken_a:
        notional_a += taken_a * pa
        en_a = min(en_a, et_a + epa)
        if rate_a:
            fees_a += _fill_fee(taken_a, pa, ma)
            ef_a = min(ef_a, fexp_a)
    if taken_b:
        notional_b += taken_b * pb
        en_b = min(en_b, et_b + epb)
        if rate_b:
            fees_b += _fill_fee(taken_b, pb, mb)
            ef_b = min(ef_b, fexp_b)
    leg_a, eleg_a = _leg_fees(notional_a, en_a, fees_a, ef_a, ma)
    leg_b, eleg_b = _leg_fees(notional_b, en_b, fees_b, ef_b, mb)
    fees = leg_a + leg_b
    cost = notional_a + notional_b
    if not size or size >= _DIGITS or cost >= _DIGITS:
        raise Decline
    # What the signature shows, as integers (see _eq), and what the Decimals are written from.
    level = yes[0]
    cached = levels.get(id(level))
    best_a = (cached if cached is not None and cached[0] is level else _level(yes, 0))[1]
    level = no[0]
    cached = levels.get(id(level))
    best_b = (cached if cached is not None and cached[0] is level else _level(no, 0))[1]
    key = _eq(size, cost, fees, best_a, best_b, notional_a, notional_b)
    exact = (size, es, notional_a, en_a, notional_b, en_b, leg_a, eleg_a, leg_b, eleg_b)
    return IntWalk(key, exact, size * _E6 - cost - fees), (ja + 1, jb + 1)
