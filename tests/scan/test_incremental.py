"""The scanner's fast path (incremental evaluation, integer walk) against the reference, on random books.

The reference is the straightforward implementation: ``evaluate_binary`` re-walking every
direction with Decimals on every tick (``PartitionScanner(reference=True)``). The fast path
must give the same results Decimal for Decimal (``repr`` compares the way each value is
written, so ``114.80`` and ``114.8`` differ), the same emitted events and the same pair
state (what the table stores), on any books.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal as D

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from echoarb.model import Level, Tick, Venue
from echoarb.pairs import parse_pairs
from echoarb.scan.edge.changes import ChangeDetector, signatures
from echoarb.scan.edge.fees import FeePolicy, fee_model
from echoarb.scan.edge.incremental import IncrementalBinary
from echoarb.scan.edge.intwalk import _ratio, int_walk
from echoarb.scan.edge.walk import PricedLadder, walk_reach
from echoarb.scan.scanner import PartitionScanner, ScanParams
from echoarb.scan.state import encode_state
from echoarb.wire.records import tick_from_record, tick_to_record

VENUES: tuple[Venue, ...] = ("kalshi", "polymarket", "manifold")

# Prices on a coarse grid so that books cross often; written in several ways (0.5, 0.50,
# 0.500) and sometimes off the micro grid (the integer path must hand over to Decimals).
_cents = st.integers(1, 99)
price = st.one_of(
    _cents.map(lambda c: D(c) / 100),
    _cents.map(lambda c: D(f"{c / 100:.3f}")),
    st.integers(1, 999).map(lambda m: D(m) / 1000),
    st.just(D("0.4999999")),  # 7 decimals: not whole millionths
)
size = st.one_of(
    # Few values in several spellings: equal sizes on both legs, written differently, are
    # where min() (the first of equals) decides how the result is written.
    st.sampled_from(["10", "10.0", "1E+1", "20", "20.00", "2E+1", "30", "3E+1", "5", "5.0"]).map(D),
    st.integers(1, 400).map(D),
    st.integers(1, 400).map(lambda n: D(f"{n}.0")),
    st.integers(1, 40_000).map(lambda n: D(n) / 100),
    st.sampled_from([D(0), D("1E+2"), D("0.000001")]),
)
ladder = st.lists(st.builds(Level, price, size), max_size=4).map(
    lambda levels: tuple(sorted(levels, key=lambda lv: lv.price))
)
rate = st.sampled_from([D(0), D("0.04"), D("0.07"), D("0.0175"), D("0.25"), D("0.1234567")])


@st.composite
def ticks(draw: st.DrawFn) -> list[Tick]:
    out: list[Tick] = []
    ts = 1_000
    for seq in range(1, draw(st.integers(1, 25)) + 1):
        venue = draw(st.sampled_from(VENUES))
        if out and draw(st.integers(0, 5)) == 0:  # the same book again: reuse must hold
            prev = draw(st.sampled_from(out))
            venue = prev.venue
            yes, no = prev.yes_asks, prev.no_asks
        else:
            yes, no = draw(ladder), draw(ladder)
        ts += draw(st.sampled_from([0, 1, 500, 20_000, 40_000]))
        out.append(
            Tick(
                "p",
                venue,
                yes,
                no,
                ts - draw(st.sampled_from([0, 0, 31_000])),
                ts,
                draw(rate),
                status=draw(st.sampled_from(["open", "open", "open", "halted"])),
                in_sync=draw(st.booleans()) or draw(st.booleans()),
                real_money=venue != "manifold",
                seq=seq,
            )
        )
    return out


def _pairs(exponent: int) -> dict[str, object]:
    poly: dict[str, object] = {"token_id": "1", "no_token_id": "2"}
    if exponent != 1:
        poly["fee_exponent"] = exponent
    return {"pairs": [{"id": "p", "kalshi": {"ticker": "K"}, "polymarket": poly, "manifold": {"slug": "m"}}]}


def _run(sequence: list[Tick], params: ScanParams, exponent: int, reference: bool) -> list[str]:
    scanner = PartitionScanner(parse_pairs(_pairs(exponent)).by_id(), params, reference=reference)
    trace = []
    for tick in sequence:
        emitted = scanner.apply(tick)
        trace.append(repr(emitted))
        trace.append(json.dumps(scanner.states["p"].to_json(), sort_keys=True))
    return trace


POLICIES = [FeePolicy(), FeePolicy("per_fill_cent"), FeePolicy("order", D("0.0001"))]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sequence=ticks(),
    min_edge=st.sampled_from([D(0), D("0.01"), D("0.0000001"), D("1E-19")]),
    policy=st.sampled_from(POLICIES),
    exponent=st.sampled_from([1, 1, 2]),
    wire=st.booleans(),
)
def test_fast_path_equals_reference(
    sequence: list[Tick], min_edge: D, policy: FeePolicy, exponent: int, wire: bool
) -> None:
    if wire:  # as the worker sees them: through the Avro record (whole millionths)
        sequence = [tick_from_record(tick_to_record(t)) for t in sequence]
    params = ScanParams(min_edge=min_edge, fees=policy, max_quote_age_ms=30_000)
    assert _run(sequence, params, exponent, reference=False) == _run(
        sequence, params, exponent, reference=True
    )


@settings(max_examples=500, deadline=None)
@example(  # equal sizes written differently: min() takes the YES leg's, so size is 10.0
    yes=(Level(D("0.40"), D("10.0")),),
    no=(Level(D("0.50"), D("1E+1")),),
    rate_a=D("0.07"),
    rate_b=D("0.04"),
    venues=("kalshi", "polymarket"),
    policy=FeePolicy(),
    min_edge=D(0),
)
@example(  # the same on deeper levels, per-fill-cent fees, zero-rate leg
    yes=(Level(D("0.30"), D("2E+1")), Level(D("0.31"), D("5.0"))),
    no=(Level(D("0.40"), D("20.00")), Level(D("0.45"), D("5"))),
    rate_a=D("0.07"),
    rate_b=D(0),
    venues=("kalshi", "polymarket"),
    policy=FeePolicy("per_fill_cent"),
    min_edge=D(0),
)
@given(
    yes=ladder,
    no=ladder,
    rate_a=rate,
    rate_b=rate,
    venues=st.sampled_from([("kalshi", "polymarket"), ("polymarket", "kalshi"), ("kalshi", "manifold")]),
    policy=st.sampled_from(POLICIES),
    min_edge=st.sampled_from([D(0), D("0.02")]),
)
def test_integer_walk_is_the_decimal_walk(
    yes: tuple[Level, ...],
    no: tuple[Level, ...],
    rate_a: D,
    rate_b: D,
    venues: tuple[str, str],
    policy: FeePolicy,
    min_edge: D,
) -> None:
    ma, mb = fee_model(venues[0], rate_a, 1, policy), fee_model(venues[1], rate_b, 1, policy)
    expected, reach = walk_reach((PricedLadder(yes, ma), PricedLadder(no, mb)), min_edge)
    got = int_walk(yes, ma, no, mb, min_edge)
    if got is None:  # declined: off the micro grid, or too large for exact integers
        return
    walked, int_reach = got
    assert int_reach == reach
    if walked is None:
        assert not expected.size
    else:
        size, cost, fees, fills = walked.totals()
        assert repr((size, cost, fees)) == repr((expected.size, expected.cost, expected.fees))
        assert repr(fills) == repr(tuple((f.avg_price, f.size) for f in expected.fills))


def test_the_integer_path_runs_on_wire_ticks() -> None:
    """The property tests above would pass with a fast path that always declined."""
    k = Tick("p", "kalshi", (Level(D("0.48"), D(80)), Level(D("0.50"), D(200))), (), 1, 1, D("0.07"))
    p = Tick("p", "polymarket", (), (Level(D("0.47"), D(120)), Level(D("0.49"), D(500))), 1, 1, D("0.04"))
    k, p = (tick_from_record(tick_to_record(t)) for t in (k, p))
    got = int_walk(
        k.yes_asks, fee_model("kalshi", D("0.07")), p.no_asks, fee_model("polymarket", D("0.04")), D(0)
    )
    assert got is not None and got[0] is not None
    size, cost, fees, _ = got[0].totals()
    assert (size, cost, fees) == (D(120), D("114.80"), D("3.2957"))
    scanner = PartitionScanner(parse_pairs(_pairs(1)).by_id(), ScanParams())
    for tick in (k, p, replace(k, seq=2, recv_ts=2, event_ts=2)):
        scanner.apply(tick)
    assert scanner.incremental_walks == 2  # the second Kalshi tick has the same book: no walk


_small_ladder = st.lists(
    st.builds(
        Level,
        st.sampled_from([D("0.40"), D("0.4"), D("0.41"), D("0.45"), D("0.52")]),
        st.sampled_from([D(10), D("10.0"), D(20), D(7), D("1E+1")]),
    ),
    min_size=1,
    max_size=3,
).map(lambda levels: tuple(sorted(levels, key=lambda lv: lv.price)))


@settings(max_examples=400, deadline=None)
@given(
    books=st.lists(st.tuples(_small_ladder, _small_ladder), min_size=2, max_size=2),
    rate=st.sampled_from([D(0), D("0.07")]),
    policy=st.sampled_from(POLICIES),
)
def test_integer_values_are_equal_exactly_when_signatures_are(
    books: list[tuple[tuple[Level, ...], tuple[Level, ...]]], rate: D, policy: FeePolicy
) -> None:
    """Change detection compares ``IntWalk.eq`` instead of signature texts: equal values must
    mean an equal signature, and different values a different one (small books, so both happen)."""
    ma, mb = fee_model("kalshi", rate, 1, policy), fee_model("polymarket", D("0.04"), 1, policy)
    seen = []
    for yes, no in books:
        got = int_walk(yes, ma, no, mb, D(0))
        assert got is not None
        walked = got[0]
        if walked is None:
            return
        parts = walked.parts("kalshi", yes[0].price, "polymarket", no[0].price)
        seen.append((walked.eq, signatures(parts)))
    (eq1, sig1), (eq2, sig2) = seen
    assert eq1 is not None
    assert (eq1 == eq2) == (sig1 == sig2)


@settings(max_examples=500, deadline=None)
@given(
    num=st.one_of(st.integers(-(10**26) + 1, 10**26 - 1), st.integers(-(10**7), 10**7)),
    den=st.one_of(st.integers(1, 10**22), st.integers(1, 1000), st.sampled_from([2, 4, 8, 10**6, 2 * 10**6])),
)
def test_integer_ratio_rounds_as_decimal(num: int, den: int) -> None:
    expected = (D(num) / D(den)).quantize(D(1))
    assert _ratio(num, den) == int(expected)
    assert _ratio(den * 7 + den // 2, den) == int((D(den * 7 + den // 2) / D(den)).quantize(D(1)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sequence=ticks(),
    cut=st.integers(0, 25),
    writer_reference=st.booleans(),
    min_edge=st.sampled_from([D(0), D("0.01")]),
    wire=st.booleans(),
)
def test_a_restored_state_continues_as_the_reference(
    sequence: list[Tick], cut: int, writer_reference: bool, min_edge: D, wire: bool
) -> None:
    """A pair state written by either path (the table holds signature texts, as it always
    has), restored into the fast path, gives what the reference restored from it gives."""
    if wire:
        sequence = [tick_from_record(tick_to_record(t)) for t in sequence]
    params = ScanParams(min_edge=min_edge, max_quote_age_ms=30_000)
    pairs = parse_pairs(_pairs(1)).by_id()
    writer = PartitionScanner(pairs, params, reference=writer_reference)
    for tick in sequence[:cut]:
        writer.apply(tick)
    saved = encode_state(writer.states["p"].to_json()) if "p" in writer.states else None

    def rest(reference: bool) -> list[str]:
        scanner = PartitionScanner(pairs, params, lambda pair_id: saved, reference=reference)
        trace = []
        for tick in sequence[cut:]:
            trace.append(repr(scanner.apply(tick)))
            trace.append(json.dumps(scanner.states["p"].to_json(), sort_keys=True))
        return trace

    assert rest(reference=False) == rest(reference=True)


# A pair state as the scanner wrote it before change detection compared values (commit
# 7713039): the detector holds signature texts. Restored into today's scanner, a tick with
# the same result emits nothing and a tick that moves the result emits it.
_OLD_STATE = (
    b'{"pair_id":"p","quotes":{"kalshi":{"pair_id":"p","venue":"kalshi","outcome":"","yes_asks":[{'
    b'"price_micros":480000,"size_micros":80000000},{"price_micros":500000,"size_micros":200000000'
    b'}],"no_asks":[],"event_ts":1,"recv_ts":1,"fee_rate_micros":70000,"status":"open","in_sync":t'
    b'rue,"real_money":true,"seq":1},"polymarket":{"pair_id":"p","venue":"polymarket","outcome":""'
    b',"yes_asks":[],"no_asks":[{"price_micros":470000,"size_micros":120000000},{"price_micros":49'
    b'0000,"size_micros":500000000}],"event_ts":1,"recv_ts":1,"fee_rate_micros":40000,"status":"op'
    b'en","in_sync":true,"real_money":true,"seq":1}},"detector":{"p|binary|kalshi:yes,polymarket:n'
    b'o":"1.2E+2|114.8|3.2957|1.9043|0.015869|0.05|x|kalshi:yes::0.48:0.486667:1.2E+2;polymarket:n'
    b'o::0.47:0.47:1.2E+2"},"windows":[{"open":{"0":[1,"0.015869","120",0]},"exec_since":1,"closed'
    b'_until":-4611686018427387904},{"open":{"-240000":[1,"0.015869","120",0],"-180000":[1,"0.0158'
    b'69","120",0],"-120000":[1,"0.015869","120",0],"-60000":[1,"0.015869","120",0],"0":[1,"0.0158'
    b'69","120",0]},"exec_since":1,"closed_until":-4611686018427387904}],"executable":["p|binary|k'
    b'alshi:yes,polymarket:no"],"last_event_ts":1,"last_spread":{"key":"p|binary|kalshi:yes,polyma'
    b'rket:no","size":"120","net_profit":"1.9043","net_edge":"0.015869","executable":true,"event_t'
    b's":1},"best":{"key":"p|binary|kalshi:yes,polymarket:no","size":"120","net_profit":"1.9043","'
    b'net_edge":"0.015869","executable":true,"event_ts":1},"recent_windows":[],"applied":{"kalshi"'
    b':[1,0,1],"polymarket":[1,1,1]}}'
)


def test_a_state_written_before_value_comparison_restores() -> None:
    pairs = parse_pairs(_pairs(1)).by_id()
    traces = []
    for reference in (False, True):
        scanner = PartitionScanner(pairs, ScanParams(), lambda pair_id: _OLD_STATE, reference=reference)
        state = scanner.state("p")
        k = state.quotes["kalshi"]
        same = replace(k, seq=2, recv_ts=2, event_ts=2)
        moved = replace(k, seq=3, recv_ts=3, event_ts=3, yes_asks=(replace(k.yes_asks[0], size=D(90)),))
        moved = tick_from_record(tick_to_record(moved))
        emitted = [scanner.apply(same), scanner.apply(moved)]
        traces.append((repr(emitted), json.dumps(state.to_json(), sort_keys=True)))
        assert emitted[0] == []
        assert len(emitted[1]) == 1 and emitted[1][0].size == D(90)
    assert traces[0] == traces[1]


def test_different_fills_with_the_same_signature_have_equal_values() -> None:
    """Notionals that move between the legs by a millionth, with the same cost, best prices
    and rounded averages: the same signature, so the same values (no event)."""
    model = fee_model("polymarket", D(0))
    lv = Level
    books = [
        (
            (lv(D("0.40"), D(1)), lv(D("0.41"), D(1)), lv(D("0.42"), D(1))),
            (lv(D("0.49"), D(2)), lv(D("0.52"), D(1))),
        ),
        (
            (lv(D("0.40"), D(1)), lv(D("0.41"), D(1)), lv(D("0.420001"), D(1))),
            (lv(D("0.49"), D(2)), lv(D("0.519999"), D(1))),
        ),
    ]
    seen = []
    for yes, no in books:
        got = int_walk(yes, model, no, model, D(0))
        assert got is not None and got[0] is not None
        parts = got[0].parts("kalshi", yes[0].price, "polymarket", no[0].price)
        seen.append((got[0].eq, signatures(parts)))
    assert seen[0][1] == seen[1][1]
    assert seen[0][0] == seen[1][0]


def test_results_are_looked_up_again_in_a_new_or_restored_detector() -> None:
    """A direction whose result and executability did not change skips the detector; that
    must not outlive the detector it was recorded in (a new state, or a restore)."""
    k = Tick("p", "kalshi", (Level(D("0.48"), D(80)),), (), 1, 1, D("0.07"))
    p = Tick("p", "polymarket", (), (Level(D("0.47"), D(120)),), 1, 1, D("0.04"))
    inc = IncrementalBinary("p")
    quotes = {"kalshi": k, "polymarket": p}

    def scan(detector: ChangeDetector, executable: set[str]) -> int:
        return len(
            inc.scan(
                quotes, detector, executable, min_edge=D(0), max_quote_age_ms=30_000, fee_policy=FeePolicy()
            ).changed
        )

    detector, executable = ChangeDetector(), set[str]()
    assert scan(detector, executable) == 1
    assert scan(detector, executable) == 0
    assert scan(ChangeDetector(), executable) == 1  # another pair state
    other = set[str]()
    assert scan(detector, other) == 0 and other == {"p|binary|kalshi:yes,polymarket:no"}
    detector.restore({})
    assert scan(detector, other) == 1
