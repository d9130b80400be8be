"""Taking one opportunity: the legs' orders, their timing, and what to do with a one-legged fill.

Accounting (exact decimals). Every order is a buy (``fills``). Per leg ``i`` the trade ends
with ``q[i]`` contracts of the leg's side and ``u[i]`` contracts of the opposite side on the
same market (an unwind). A complete set, one contract of every leg, pays $1 at resolution,
and so does each unwound pair, so::

    sets     = min(q[i] - u[i])
    residual = q[i] - u[i] - sets          (contracts left one-legged, per leg)
    pnl      = sets + sum(u) + mark - outlay

``outlay`` is every order's notional plus fees; ``mark`` values the residual at what a market
unwind would get from the books at the end of the recording (box payout minus its cost;
nothing where no book would take it). With complete fills ``pnl`` is the realised profit.

Timing, on the merge clock (``echoarb.backtest.books``). ``simultaneous`` sends every leg
at the signal: leg ``i`` meets its book at ``signal + latency(i)``. A sequential order sends
the next leg once the previous one's result is known (``previous leg's time +
latency(next)``), sized to the smallest fill so far, and stops as soon as a leg fills
nothing. A repair (hedge or unwind) is sent when the last leg's result is known and meets
its book one latency of its venue later.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

from echoarb.backtest.fills import DEFAULT_FEES, Fees, Order, OrderFill, Purpose, execute
from echoarb.model import VENUES, ZERO, Opportunity, Side, Tick

Policy = Literal["hedge", "unwind", "hold"]
POLICIES: tuple[Policy, ...] = ("hedge", "unwind", "hold")
LEG_ORDERS = ("simultaneous", "listed", "fastest-first", "slowest-first", *(f"{v}-first" for v in VENUES))

OPPOSITE: dict[Side, Side] = {"yes": "no", "no": "yes"}


class Books(Protocol):
    def at(self, pair_id: str, venue: str, outcome: str, ts: int) -> Tick | None: ...


#: (venue, order key) -> latency in ms (``LatencyModel.draw``).
Latency = Callable[[str, str], int]


@dataclass(frozen=True, slots=True)
class Strategy:
    """How an opportunity is taken.

    ``leg_order``: ``simultaneous``, ``listed`` (the engine's leg order, one after the other),
    ``fastest-first``/``slowest-first`` (by the legs' drawn latencies) or ``<venue>-first``.
    ``policy``: when the legs filled unequal sizes, ``hedge`` buys the missing contracts of the
    short legs at market, ``unwind`` closes the excess of the long legs at market, ``hold``
    keeps the one-legged position (marked at the end of the recording).
    """

    leg_order: str = "simultaneous"
    policy: Policy = "unwind"

    def __post_init__(self) -> None:
        if self.leg_order not in LEG_ORDERS:
            raise ValueError(f"unknown leg order {self.leg_order!r} (one of {', '.join(LEG_ORDERS)})")
        if self.policy not in POLICIES:
            raise ValueError(f"unknown policy {self.policy!r} (one of {', '.join(POLICIES)})")


@dataclass(frozen=True, slots=True)
class Signal:
    """An executable opportunity as the scanner emitted it, with each leg's limit price.

    A leg's limit is the worst price level the engine's walk took for it: an order at that
    limit can get the reported fills and nothing worse. ``ts`` is the signal's merge time
    (the ``recv_ts`` of the tick that changed the result; see ``echoarb.backtest.books``).
    """

    id: str
    opportunity: Opportunity
    limits: tuple[Decimal, ...]
    ts: int


@dataclass(frozen=True, slots=True)
class Trade:
    """The simulated outcome of taking one signal (see the module docstring for the figures)."""

    signal: Signal
    latencies: tuple[int, ...]
    orders: tuple[OrderFill, ...]
    marks: tuple[OrderFill, ...]
    sets: Decimal
    unwound: Decimal
    residual: tuple[Decimal, ...]
    mark: Decimal
    outlay: Decimal
    pnl: Decimal
    entry_fills: tuple[Decimal, ...]
    done_ts: int

    @property
    def fully_filled(self) -> bool:
        """Every leg's entry order got the whole reported size."""
        size = self.signal.opportunity.size
        return all(q == size for q in self.entry_fills)

    @property
    def one_legged(self) -> bool:
        """The entry orders filled unequal sizes (something had to be hedged, unwound or held)."""
        return len(set(self.entry_fills)) > 1

    @property
    def filled_any(self) -> bool:
        return any(self.entry_fills)

    @property
    def fees(self) -> Decimal:
        return sum((o.fees for o in self.orders), ZERO)


def _sequence(strategy: Strategy, opp: Opportunity, latencies: Sequence[int]) -> list[int]:
    n = len(opp.legs)
    order = strategy.leg_order
    if order == "fastest-first":
        return sorted(range(n), key=lambda i: (latencies[i], i))
    if order == "slowest-first":
        return sorted(range(n), key=lambda i: (-latencies[i], i))
    if order.endswith("-first") and order != "listed":
        venue = order.removesuffix("-first")
        return sorted(range(n), key=lambda i: (opp.legs[i].venue != venue, i))
    return list(range(n))


def simulate(
    signal: Signal,
    books: Books,
    latency: Latency,
    strategy: Strategy,
    end_ts: int,
    fees: Fees = DEFAULT_FEES,
) -> Trade:
    """Take ``signal`` with ``strategy``; ``end_ts`` is when a residual position is marked.

    ``fees`` must be the scanner's (the pairs' fee exponents, the account's Kalshi rounding).
    """
    opp = signal.opportunity
    legs = opp.legs
    n = len(legs)
    pair = opp.pair_id
    t0 = signal.ts
    latencies = tuple(latency(leg.venue, f"{signal.id}|{i}") for i, leg in enumerate(legs))
    orders: list[OrderFill] = []
    # Liquidity this trade already took, per quote object and side: a later order of the trade
    # meeting the same recorded book must not take it again (a new quote replaces the book).
    consumed: dict[tuple[int, Side], tuple[Tick, dict[Decimal, Decimal]]] = {}

    def send(i: int, side: Side, qty: Decimal, limit: Decimal | None, ts: int, purpose: Purpose) -> OrderFill:
        leg = legs[i]
        order = Order(leg.venue, side, leg.outcome, qty, limit, ts, purpose)
        tick = books.at(pair, leg.venue, leg.outcome, ts)
        taken = None
        if tick is not None:
            entry = consumed.get((id(tick), side))
            if entry is None:
                entry = consumed[(id(tick), side)] = (tick, {})
            taken = entry[1]
        fill = execute(order, tick, taken, fees)
        if purpose != "mark":
            orders.append(fill)
        return fill

    q = [ZERO] * n
    u = [ZERO] * n
    if strategy.leg_order == "simultaneous":
        for i, leg in enumerate(legs):
            q[i] = send(i, leg.side, opp.size, signal.limits[i], t0 + latencies[i], "entry").filled
        t_done = t0 + max(latencies, default=0)
    else:
        t_done = t0
        want = opp.size
        for i in _sequence(strategy, opp, latencies):
            if not want:
                break
            t_done += latencies[i]
            q[i] = send(i, legs[i].side, want, signal.limits[i], t_done, "entry").filled
            want = min(want, q[i])
    entry = tuple(q)

    if len(set(q)) > 1 and strategy.policy != "hold":
        repaired = t_done
        if strategy.policy == "hedge":
            target = max(q)
            for i, leg in enumerate(legs):
                if q[i] < target:
                    ts = t_done + latencies[i]
                    q[i] += send(i, leg.side, target - q[i], None, ts, "hedge").filled
                    repaired = max(repaired, ts)
        else:
            target = min(q)
            for i, leg in enumerate(legs):
                if q[i] > target:
                    ts = t_done + latencies[i]
                    u[i] += send(i, OPPOSITE[leg.side], q[i] - target, None, ts, "unwind").filled
                    repaired = max(repaired, ts)
        t_done = repaired

    sets = min((q[i] - u[i] for i in range(n)), default=ZERO)
    residual = tuple(q[i] - u[i] - sets for i in range(n))
    marks: list[OrderFill] = []
    mark = ZERO
    for i, r in enumerate(residual):
        if r > 0:
            fill = send(i, OPPOSITE[legs[i].side], r, None, max(end_ts, t_done), "mark")
            marks.append(fill)
            mark += fill.filled - fill.outlay
    outlay = sum((o.outlay for o in orders), ZERO)
    unwound = sum(u, ZERO)
    return Trade(
        signal=signal,
        latencies=latencies,
        orders=tuple(orders),
        marks=tuple(marks),
        sets=sets,
        unwound=unwound,
        residual=residual,
        mark=mark,
        outlay=outlay,
        pnl=sets + unwound + mark - outlay,
        entry_fills=entry,
        done_ts=t_done,
    )
