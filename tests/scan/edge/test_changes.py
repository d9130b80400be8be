"""Change detection: emit on change (including disappearance), never on repeats."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal as D

from echoarb.model import Leg, Opportunity
from echoarb.scan.edge.changes import ChangeDetector, signature
from echoarb.scan.edge.walk import Parts


def opp(
    size: str = "120", executable: bool = True, gross: str = "0.05", ts: int = 1, age: int = 0
) -> Opportunity:
    s = D(size)
    some = bool(s)
    return Opportunity(
        pair_id="p",
        kind="binary",
        legs=(
            Leg("kalshi", "yes", D("0.48"), D("0.486667") if some else None, s),
            Leg("polymarket", "no", D("0.47"), D("0.47") if some else None, s),
        ),
        gross_edge=D(gross),
        size=s,
        cost=D("114.80") if some else D(0),
        fees=D("3.2957") if some else D(0),
        net_profit=D("1.9043") if some else D(0),
        net_edge=D("0.015869") if some else D(0),
        executable=executable and some,
        quote_age_ms=age,
        event_ts=ts,
    )


def test_first_nothing_is_not_emitted() -> None:
    d = ChangeDetector()
    assert d.changes([opp("0", gross="-0.02")]) == []
    assert d.snapshot() == {}


def test_emit_rules() -> None:
    d = ChangeDetector()
    first = opp()
    assert d.changes([first]) == [first]
    assert d.changes([opp(ts=99, age=500)]) == []  # only time and age moved
    assert d.changes([opp(size="120.0")]) == []  # same value, other spelling
    not_exec = opp(executable=False)
    assert d.changes([not_exec]) == [not_exec]
    moved = opp(executable=False, gross="0.06")
    assert d.changes([moved]) == [moved]
    gone = opp("0", gross="-0.01")
    assert d.changes([gone]) == [gone]  # disappearance is emitted once...
    assert d.changes([opp("0", gross="-0.03")]) == []  # ...and not again while it stays gone
    assert d.changes([first]) == [first]


def test_leg_changes_are_changes() -> None:
    d = ChangeDetector()
    first = opp()
    d.changes([first])
    legs = (replace(first.legs[0], best_price=D("0.49")), first.legs[1])
    other = replace(first, legs=legs)
    assert d.changes([other]) == [other]


def test_keys_are_independent() -> None:
    d = ChangeDetector()
    a = opp()
    b = replace(a, pair_id="q")
    assert d.changes([a, b]) == [a, b]
    assert len(d) == 2
    q_gone = replace(opp("0"), pair_id="q")
    assert d.changes([a, q_gone]) == [q_gone]  # p unchanged, q gone
    assert len(d) == 1


def test_snapshot_restore_round_trip() -> None:
    d = ChangeDetector()
    d.changes([opp(), replace(opp(), pair_id="q")])
    d.changes([replace(opp("0"), pair_id="q")])
    state = json.loads(json.dumps(d.snapshot()))
    assert list(state) == [opp().key]
    assert state[opp().key] == signature(opp())

    e = ChangeDetector()
    e.restore(state)
    assert e.changes([opp(ts=5)]) == []
    assert e.changes([replace(opp("0"), pair_id="q")]) == []
    gone = opp("0")
    assert e.changes([gone]) == [gone]
    assert e.snapshot() == {}


class _Result:
    """A result known by values, as the fast path hands it to ``changed_result``."""

    def __init__(self, o: Opportunity) -> None:
        self.o = o
        self.reads = 0

    def template(self) -> Parts:
        self.reads += 1
        o = self.o
        return Parts(o.legs, o.gross_edge, o.size, o.cost, o.fees, o.net_profit, o.net_edge)


def test_results_recorded_by_values_read_as_their_signature() -> None:
    d = ChangeDetector()
    first = _Result(opp())
    assert d.changed_result(first.o.key, ("v", 1), True, first)
    assert d.last(first.o.key) == signature(opp())  # the text, written on read
    again = _Result(opp(ts=9))
    assert not d.changed_result(again.o.key, ("v", 1), True, again)
    assert again.reads == 0  # equal values: nothing built
    assert d.changed_result(again.o.key, ("v", 1), False, _Result(opp(executable=False)))
    assert d.snapshot() == {opp().key: signature(opp(executable=False))}
    assert not d.cleared("other")
    assert d.cleared(opp().key)
    assert d.snapshot() == {}


def test_a_restored_text_is_compared_as_text() -> None:
    """States in the table hold texts: a result known by values is compared with the text
    (and kept by values from then on); a result without values is always compared as text."""
    d = ChangeDetector()
    d.restore({opp().key: signature(opp())})
    same = _Result(opp(size="120.0"))
    assert not d.changed_result(same.o.key, ("v", 1), True, same)
    assert same.reads == 1
    assert not d.changed_result(same.o.key, ("v", 1), True, same)
    assert same.reads == 1
    assert not d.changed_result(same.o.key, None, True, _Result(opp()))  # no values: by text
    moved = _Result(opp(gross="0.06"))
    assert d.changed_result(moved.o.key, None, True, moved)
    assert d.snapshot() == {opp().key: signature(opp(gross="0.06"))}
    assert not d.changed_result(moved.o.key, ("w", 2), True, _Result(opp(gross="0.06")))
    assert d.changes([opp(gross="0.06", ts=3)]) == []  # the reference's call reads the same state
