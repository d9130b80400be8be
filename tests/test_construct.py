"""echoarb.construct.positional: the same values as the dataclass, or a refusal."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from decimal import Decimal as D

import pytest

from echoarb.construct import positional
from echoarb.model import Level, Tick


def test_a_positional_tick_is_the_tick_the_dataclass_builds() -> None:
    values = ("p", "kalshi", (Level(D("0.4"), D(10)),), (), 1, 2, D("0.07"), "", "open", True, False, 5)
    built, expected = positional(Tick)(*values), Tick(*values)  # type: ignore[arg-type]
    assert built == expected and repr(built) == repr(expected) and hash(built) == hash(expected)
    assert pickle.loads(pickle.dumps(built)) == expected
    with pytest.raises(AttributeError):
        built.seq = 6  # type: ignore[misc]


def test_it_refuses_what_it_cannot_build() -> None:
    @dataclass(frozen=True, slots=True)
    class Checked:
        x: int

        def __post_init__(self) -> None:
            raise ValueError

    @dataclass(slots=True)
    class Mutable:
        x: int

    for cls in (Checked, Mutable, int):
        with pytest.raises(TypeError):
            positional(cls)
