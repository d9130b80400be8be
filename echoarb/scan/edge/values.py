"""The scanner's constructors of its frozen result values (legs, opportunities).

Built by :func:`echoarb.construct.positional` (slots written directly, the same objects
as the dataclasses' ``__init__`` builds: ``tests/scan/edge/test_values.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from echoarb.construct import positional
from echoarb.model import Leg, Opportunity, Side, SpreadKind, Venue

make_leg: Callable[[Venue, Side, Decimal | None, Decimal | None, Decimal, str], Leg] = positional(Leg)
make_opportunity: Callable[
    [
        str,
        SpreadKind,
        tuple[Leg, ...],
        Decimal | None,
        Decimal,
        Decimal,
        Decimal,
        Decimal,
        Decimal,
        bool,
        int,
        int,
    ],
    Opportunity,
] = positional(Opportunity)
