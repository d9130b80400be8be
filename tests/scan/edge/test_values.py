"""The hot path's constructors build the very values the dataclasses' own ``__init__`` builds."""

from __future__ import annotations

import pickle
from dataclasses import fields
from decimal import Decimal as D

import pytest

from echoarb.construct import positional
from echoarb.model import Leg, Opportunity
from echoarb.scan.edge.values import make_leg, make_opportunity
from echoarb.scan.state import OpportunitySummary


def _same(built: object, expected: object) -> None:
    assert built == expected
    assert repr(built) == repr(expected)
    assert hash(built) == hash(expected)
    assert type(built) is type(expected)
    assert pickle.loads(pickle.dumps(built)) == expected
    for f in fields(expected):  # type: ignore[arg-type]
        assert getattr(built, f.name) is getattr(expected, f.name)


def test_constructors_build_the_dataclass_values() -> None:
    values = ("kalshi", "yes", D("0.48"), D("0.486667"), D(120), "")
    leg = Leg(*values)  # type: ignore[arg-type]
    _same(make_leg(*values), leg)  # type: ignore[arg-type]
    args = (
        "p",
        "binary",
        (leg,),
        D("0.05"),
        D(120),
        D("114.80"),
        D("3.2957"),
        D("1.9"),
        D("0.01"),
        True,
        3,
        9,
    )
    _same(make_opportunity(*args), Opportunity(*args))  # type: ignore[arg-type]
    summary = ("k", "120", "1.9", "0.01", False, 7)
    _same(positional(OpportunitySummary)(*summary), OpportunitySummary(*summary))
    with pytest.raises(AttributeError):
        make_leg("kalshi", "yes", None, None, D(0), "").size = D(1)  # type: ignore[misc]
